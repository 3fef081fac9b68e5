"""The caller's side of rendering: a warm child process, per-combination timeouts, restarts.

`Renderer.render` turns one combination into a verified media file plus the facts of its render
(device, Blender version, timings, checksum); where it goes and what is written beside it is the
dataset sink's business. A crash or a hang of Blender kills only the child; the next call starts
a fresh one.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from simian import atomic
from simian.combination import Combination
from simian.errors import SimianError
from simian.render.child import child_main
from simian.render.outputs import OutputVerificationError, sha256_of, verify_media
from simian.render.settings import RenderSettings

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


@dataclass(frozen=True)
class RenderFacts:
    """How a video was made: recorded in its sidecar, never part of the dataset row."""

    device: str
    blender_version: str
    render_pid: int
    build_seconds: float
    render_seconds: float
    total_seconds: float
    created_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "blender_version": self.blender_version,
            "render_pid": self.render_pid,
            "build_seconds": round(self.build_seconds, 4),
            "render_seconds": round(self.render_seconds, 4),
            "total_seconds": round(self.total_seconds, 4),
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class RenderResult:
    """A verified render, still at its temporary path (a file, or a folder of PNG frames)."""

    index: int
    media: Path
    sha256: str
    facts: RenderFacts

    def discard(self) -> None:
        atomic.remove(self.media)


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
    ) -> None:
        self.timeout_s = timeout_s
        self.log_dir = Path(log_dir or tempfile.gettempdir())
        self.resolve_assets = resolve_assets or _no_external_assets
        self._ctx = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.log_path = self.log_dir / f"simian-render-{os.getpid()}-{id(self):x}.log"
        self.children_started = 0

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
        process = self._ctx.Process(target=child_main, args=(child, str(self.log_path)), daemon=True)
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
            raise RenderCrashError(
                index, f"the Blender process died (exit code {exitcode})", self._log_since(offset)
            ) from None
        if not reply["ok"]:
            raise RenderFailedError(index, reply["error"], self._log_since(offset))
        return reply

    def render(self, combination: Combination, settings: RenderSettings, scratch: Path) -> RenderResult:
        """Render and verify one combination into a hidden temporary path in `scratch`.

        The caller publishes (moves) or discards the result; on failure nothing is left behind.
        """
        started = time.perf_counter()
        stem = atomic.temporary_name(scratch / f"{combination.index:08d}")
        target = stem if settings.images else stem.with_name(stem.name + ".mp4")
        job = {
            "combination": combination.model_dump(mode="json"),
            "settings": settings.model_dump(mode="json"),
            "asset_paths": self.resolve_assets(combination),
            "target": str(target),
        }
        try:
            reply = self._run_in_child(job, combination.index)
            try:
                verify_media(target, settings)
            except OutputVerificationError as exc:
                raise RenderFailedError(combination.index, str(exc)) from None
            digest = sha256_of(target)
        except BaseException:
            atomic.remove(target)
            raise
        facts = RenderFacts(
            device=reply["device"],
            blender_version=reply["blender_version"],
            render_pid=reply["pid"],
            build_seconds=reply["build_seconds"],
            render_seconds=reply["render_seconds"],
            total_seconds=time.perf_counter() - started,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        return RenderResult(index=combination.index, media=target, sha256=digest, facts=facts)
