"""The caller's side of rendering: a warm child process, per-combination timeouts, restarts.

`Renderer.render` turns one combination into a verified video plus sidecar. A crash or a
hang of Blender kills only the child; the next call starts a fresh one.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from simian.combination import Combination
from simian.errors import SimianError
from simian.render.child import child_main
from simian.render.outputs import (
    OutputPaths,
    OutputVerificationError,
    publish,
    remove_path,
    sha256_of,
    verify_frames,
    verify_video,
)
from simian.render.settings import RENDERER_VERSION, RenderSettings

logger = logging.getLogger(__name__)

LOG_TAIL_CHARS = 4000
AssetResolver = Callable[[Combination], dict[str, str]]


class RenderError(SimianError):
    """A combination failed to render; `transient` says whether a retry may succeed."""

    transient = False

    def __init__(self, index: int, message: str, log_tail: str = "") -> None:
        detail = f"\n--- Blender log (last lines) ---\n{log_tail}" if log_tail.strip() else ""
        super().__init__(f"combination {index}: {message}{detail}")
        self.index = index
        self.log_tail = log_tail


class RenderFailedError(RenderError):
    """Blender raised an error for this scene (a broken asset, an impossible setting)."""


class RenderCrashError(RenderError):
    """The Blender process died (segfault, out of memory)."""

    transient = True


class RenderTimeoutError(RenderError):
    """The render did not finish within the per-combination timeout."""

    transient = True


class RenderAbortedError(RenderError):
    """The render was stopped from outside (its render lock was lost); a retry may succeed."""

    transient = True


@dataclass(frozen=True)
class RenderResult:
    index: int
    media: Path
    sidecar: Path
    sha256: str
    caption: str
    device: str
    build_seconds: float
    render_seconds: float
    total_seconds: float


_PARTIAL_PID = re.compile(r"\.partial-(\d+)(?:\.mp4)?$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _no_external_assets(combination: Combination) -> dict[str, str]:
    return {}


class Renderer:
    """Renders combinations one after another in one warm Blender child process."""

    def __init__(
        self,
        *,
        timeout_s: float = 900.0,
        log_dir: Path | None = None,
        resolve_assets: AssetResolver | None = None,
        events_path: Path | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.log_dir = Path(log_dir or tempfile.gettempdir())
        self.resolve_assets = resolve_assets or _no_external_assets
        self.events_path = events_path
        self._ctx = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.log_path = self.log_dir / f"simian-render-{os.getpid()}-{id(self):x}.log"
        self.children_started = 0
        self._abort_lock = threading.Lock()
        self._busy = False
        self._abort_reason: str | None = None
        self._swept: set[Path] = set()

    @property
    def child_pid(self) -> int | None:
        """Pid of the warm Blender child, if one is running (for monitoring)."""
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_child(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self._stop_child()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        parent, child = self._ctx.Pipe()
        events = str(self.events_path) if self.events_path is not None else None
        process = self._ctx.Process(
            target=child_main, args=(child, str(self.log_path), os.getpid(), events), daemon=True
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self.children_started += 1
        logger.debug("started render child pid %s (log %s)", process.pid, self.log_path)
        return parent

    def _stop_child(self, kill: bool = False) -> None:
        if self._process is None:
            return
        if kill:
            self._process.kill()
        elif self._conn is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self._conn.send(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=10)
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn = None, None

    def close(self) -> None:
        self._stop_child()

    def abort(self, reason: str) -> None:
        """Stop the render in progress (from any thread): its Blender child is killed and `render` raises
        RenderAbortedError. Called before a render starts, the next render is refused the same way."""
        with self._abort_lock:
            self._abort_reason = reason
            process = self._process if self._busy else None
        if process is not None:
            logger.warning("aborting the render in progress (Blender pid %s): %s", process.pid, reason)
            process.kill()

    def _take_abort(self) -> str | None:
        with self._abort_lock:
            reason, self._abort_reason = self._abort_reason, None
            return reason

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(offset)
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        lines = [ln for ln in text.splitlines() if not ln.startswith(("Fra:", "Video append"))]
        return "\n".join(lines)[-LOG_TAIL_CHARS:]

    def _log_offset(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def _run_in_child(self, job: dict[str, Any], index: int) -> dict[str, Any]:
        conn = self._ensure_child()
        offset = self._log_offset()
        with self._abort_lock:
            refused, self._abort_reason = self._abort_reason, None
            self._busy = refused is None
        if refused is not None:
            raise RenderAbortedError(index, f"not started: {refused}")
        try:
            return self._exchange(conn, job, index, offset)
        finally:
            with self._abort_lock:
                self._busy = False

    def _exchange(self, conn: Connection, job: dict[str, Any], index: int, offset: int) -> dict[str, Any]:
        conn.send(job)
        if not conn.poll(self.timeout_s):
            self._stop_child(kill=True)
            raise RenderTimeoutError(
                index,
                f"no result after {self.timeout_s:g} s; the Blender process was killed",
                self._log_since(offset),
            )
        try:
            reply: dict[str, Any] = conn.recv()
        except (EOFError, OSError):
            exitcode = self._process.exitcode if self._process else None
            self._stop_child(kill=True)
            aborted = self._take_abort()
            if aborted is not None:
                raise RenderAbortedError(index, f"the Blender process was killed: {aborted}") from None
            raise RenderCrashError(
                index, f"the Blender process died (exit code {exitcode})", self._log_since(offset)
            ) from None
        if not reply["ok"]:
            raise RenderFailedError(index, reply["error"], self._log_since(offset))
        return reply

    def _sweep_partials(self, out_dir: Path) -> None:
        """Once per folder: remove partial renders whose writing process is gone (killed with its parent)."""
        if out_dir in self._swept:
            return
        self._swept.add(out_dir)
        for path in out_dir.glob(".*.partial-*"):
            match = _PARTIAL_PID.search(path.name)
            if match and not _alive(int(match.group(1))):
                logger.info("removing %s, left by a killed render", path)
                remove_path(path)

    def render(self, combination: Combination, settings: RenderSettings, out_dir: Path) -> RenderResult:
        """Render, verify and publish one combination into `out_dir`."""
        started = time.perf_counter()
        self._sweep_partials(out_dir)
        paths = OutputPaths.for_index(out_dir, combination.index, settings.images)
        temporary = paths.temporary_media()
        asset_paths = self.resolve_assets(combination)
        job = {
            "combination": combination.model_dump(mode="json"),
            "settings": settings.model_dump(mode="json"),
            "asset_paths": asset_paths,
            # The writer's pid in the name tells a partial of a live render from one left by a killed process.
            "target": f"{temporary}-{os.getpid()}" + ("" if settings.images else ".mp4"),
        }
        target = Path(job["target"])
        try:
            reply = self._run_in_child(job, combination.index)
            try:
                if settings.images:
                    verify_frames(target, settings.frames, settings.width, settings.height)
                else:
                    verify_video(target, settings.frames, settings.width, settings.height)
            except OutputVerificationError as exc:
                raise RenderFailedError(combination.index, str(exc)) from None
            digest = sha256_of(target)
            sidecar = {
                "index": combination.index,
                "file_name": paths.media.name,
                "caption": combination.caption,
                "captions": combination.captions.model_dump(mode="json") if combination.captions else None,
                "combination": combination.model_dump(mode="json"),
                "settings": settings.model_dump(mode="json"),
                "renderer_version": RENDERER_VERSION,
                "sha256": digest,
                "device": reply["device"],
                "render_pid": reply["pid"],
                "build_seconds": round(reply["build_seconds"], 4),
                "render_seconds": round(reply["render_seconds"], 4),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            publish(target, paths, sidecar)
        finally:
            remove_path(target)
        return RenderResult(
            index=combination.index,
            media=paths.media,
            sidecar=paths.sidecar,
            sha256=digest,
            caption=combination.caption or "",
            device=reply["device"],
            build_seconds=reply["build_seconds"],
            render_seconds=reply["render_seconds"],
            total_seconds=time.perf_counter() - started,
        )
