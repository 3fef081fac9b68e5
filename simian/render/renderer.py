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
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from simian import atomic
from simian.errors import SimianError, shorten
from simian.recipe.combination import Combination
from simian.render.blender.child import child_main
from simian.render.outputs import OutputVerificationError, sha256_of, verify_media
from simian.render.pass_arrays import PassVerificationError, pass_suffix, verify_pass
from simian.render.render_settings import RenderSettings

logger = logging.getLogger(__name__)

LOG_TAIL_CHARS = 4000
AssetResolver = Callable[[Combination], dict[str, str]]


def blender_said(log_tail: str) -> str:
    """The last error line Blender logged, shortened, never a traceback's: what a user needs on screen."""
    for line in reversed(log_tail.splitlines()):
        text = line.strip()
        if not text or text.startswith(("Traceback", "File ", "^", "~")) or text.endswith(":"):
            continue
        if "error" in text.lower() or "cannot" in text.lower() or "failed" in text.lower():
            return shorten(text, 200)
    return ""


class RenderError(SimianError):
    """A combination failed to render; `transient` says whether a retry may succeed."""

    transient = False

    def __init__(self, index: int, message: str, log_tail: str = "", log_path: Path | None = None) -> None:
        # One or two lines on the user's screen; the log file keeps everything (tracebacks included).
        where = f" (Blender log: {log_path})" if log_path is not None else ""
        said = blender_said(log_tail)
        detail = f"\n  Blender said: {said}" if said and said not in message else ""
        super().__init__(f"combination {index}: {message}{where}{detail}")
        self.index = index
        self.log_tail = log_tail
        self.log_path = log_path

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as built (the render service sends it to its client), not re-formatted from its text."""
        return (_rebuilt, (type(self), str(self), self.index, self.log_tail, self.log_path))


def _rebuilt(cls: type[RenderError], text: str, index: int, log_tail: str, log_path: Path | None) -> RenderError:
    error = cls.__new__(cls)
    Exception.__init__(error, text)
    error.index, error.log_tail, error.log_path = index, log_tail, log_path
    return error


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
class RenderFacts:
    """How a video was made: recorded in its sidecar, never part of the dataset row."""

    device: str
    blender_version: str
    render_pid: int
    build_seconds: float
    render_seconds: float
    total_seconds: float
    created_at: str
    passes_seconds: float = 0.0  # turning the rendered pass buffers into the stored pass files

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "blender_version": self.blender_version,
            "render_pid": self.render_pid,
            "build_seconds": round(self.build_seconds, 4),
            "render_seconds": round(self.render_seconds, 4),
            "total_seconds": round(self.total_seconds, 4),
            "passes_seconds": round(self.passes_seconds, 4),
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class RenderResult:
    """A verified render, still at its temporary path (a file, or a folder of PNG frames), with its verified
    ground-truth pass files (per pass name) and, when segmentation was rendered, each object's visible box and
    pixel count per frame (`{"id", "box": [...], "pixels": [...]}` per object)."""

    index: int
    media: Path
    sha256: str
    facts: RenderFacts
    passes: dict[str, Path] = field(default_factory=dict)
    visible: list[dict[str, Any]] = field(default_factory=list)

    def discard(self) -> None:
        for path in (self.media, *self.passes.values()):
            atomic.remove(path)


@dataclass(frozen=True)
class Rendered:
    """Blender's part of a render, done: where it wrote (not yet verified) and what it replied.

    `finish` verifies and checksums outside the render slot, so that Blender renders the next combination
    meanwhile; it runs wherever the files are readable (the render service's client, or the renderer itself).
    """

    index: int
    target: Path
    passes: dict[str, Path]
    work: Path
    log_path: Path
    started: float
    reply: dict[str, Any]

    def discard(self) -> None:
        for path in (self.target, *self.passes.values(), self.work):
            atomic.remove(path)

    def finish(self, settings: RenderSettings) -> RenderResult:
        """Verify the media and pass files and checksum the media; on failure nothing is left behind."""
        try:
            try:
                verify_media(self.target, settings)
                for name, path in self.passes.items():
                    verify_pass(path, name, settings)
            except (OutputVerificationError, PassVerificationError) as exc:
                raise RenderFailedError(self.index, str(exc), log_path=self.log_path) from None
            digest = sha256_of(self.target)
        except RenderError:
            self.discard()
            raise  # the log stays for the user to read; the error names it
        except BaseException:  # interrupted (Ctrl-C)
            self.discard()
            self.log_path.unlink(missing_ok=True)
            raise
        atomic.remove(self.work)
        self.log_path.unlink(missing_ok=True)
        reply = self.reply
        facts = RenderFacts(
            device=reply["device"],
            blender_version=reply["blender_version"],
            render_pid=reply["pid"],
            build_seconds=reply["build_seconds"],
            render_seconds=reply["render_seconds"],
            total_seconds=time.monotonic() - self.started,  # monotonic: one clock for every process
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            passes_seconds=reply["passes_seconds"],
        )
        return RenderResult(
            index=self.index,
            media=self.target,
            sha256=digest,
            facts=facts,
            passes=self.passes,
            visible=reply["visible"],
        )


#: A partial render's name ends with its writer's pid (and then its kind): one left by a killed process can be
#: told apart.
_PARTIAL_PID = re.compile(r"\.partial-(\d+)(?:\.[a-z0-9.-]+)?$")


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


def _default_cache_dir() -> Path:
    from simian.settings import load_settings

    return load_settings().simian_cache_dir


class Renderer:
    """Renders combinations one after another in one warm Blender child process.

    Everything Blender writes besides the render stays in `cache_dir` (by default SIMIAN_CACHE_DIR): each
    render's log in `logs/` (removed when the render succeeds, kept and named in the error when it fails),
    and Blender's own user folder (configuration, extension and thumbnail caches) in `blender/`.
    """

    def __init__(
        self,
        *,
        timeout_s: float = 900.0,
        cache_dir: Path | None = None,
        resolve_assets: AssetResolver | None = None,
        events_path: Path | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        cache = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
        self.log_dir = cache / "logs"
        self.blender_dir = cache / "blender"
        self.resolve_assets = resolve_assets or _no_external_assets
        self._ctx = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.children_started = 0
        self.events_path = events_path  # when set, the child appends one line per render: an audit of renders
        self._abort_lock = threading.Lock()
        self._busy = False
        self._busy_tag: str | None = None
        self._aborts: dict[str | None, str] = {}  # tag (None: whichever render comes next) -> reason
        self._slot = threading.Lock()  # one Blender render at a time; verification runs outside it
        self._swept: set[Path] = set()
        self._start_log = self.log_dir / f"blender-start-{os.getpid()}.log"  # Blender's output before a first render

    @property
    def child_pid(self) -> int | None:
        """Pid of the warm Blender child, if one is running (for monitoring)."""
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        # Leaving on an exception (Ctrl-C included) must not wait for the render in progress.
        self._stop_child(kill=exc_type is not None)

    def _job_log(self, index: int) -> Path:
        """A log of this render's own (the log folder appears when the first render starts)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self.log_dir / f"render-{index:08d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.log"

    def _ensure_child(self, log_path: Path) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self._stop_child()
        parent, child = self._ctx.Pipe()
        events = str(self.events_path) if self.events_path is not None else None
        process = self._ctx.Process(
            target=child_main, args=(child, str(log_path), str(self.blender_dir), os.getpid(), events), daemon=True
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self.children_started += 1
        logger.debug("started render child pid %s (log %s)", process.pid, log_path)
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
        self._start_log.unlink(missing_ok=True)

    def abort(self, reason: str, tag: str | None = None) -> None:
        """Stop the render in progress (from any thread): its Blender child is killed and `render` raises
        RenderAbortedError. Called before a render starts, the next render is refused the same way.

        With a `tag` (the render's cache key) only the render of that tag is stopped or refused: with two
        combinations in flight, a lost lock must not stop the other one's render.
        """
        with self._abort_lock:
            self._aborts[tag] = reason
            hit = self._busy and (tag is None or tag == self._busy_tag)
            process = self._process if hit else None
        if process is not None:
            logger.warning("aborting the render in progress (Blender pid %s): %s", process.pid, reason)
            process.kill()

    def between_callers(self) -> None:
        """Forget what belonged to the last caller (the render service between two chunk runs): aborts that
        found no render, and the scratch folders swept (each chunk run's are its own)."""
        with self._abort_lock:
            self._aborts.clear()
        self._swept.clear()

    def start_child(self) -> int:
        """Start the Blender child now, before the first render asks for it; its pid."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._ensure_child(self._start_log)
        assert self._process is not None and self._process.pid is not None
        return self._process.pid

    def _take_abort(self, tag: str | None) -> str | None:
        with self._abort_lock:
            reason = self._aborts.pop(None, None)
            if tag is not None:
                reason = self._aborts.pop(tag, None) or reason
            return reason

    @staticmethod
    def _log_tail(log_path: Path) -> str:
        try:
            with log_path.open("rb") as handle:
                handle.seek(max(0, log_path.stat().st_size - 16 * LOG_TAIL_CHARS))
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        lines = [ln for ln in text.splitlines() if not ln.startswith(("Fra:", "Video append"))]
        return "\n".join(lines)[-LOG_TAIL_CHARS:]

    def _run_in_child(self, job: dict[str, Any], index: int, log_path: Path, tag: str | None) -> dict[str, Any]:
        conn = self._ensure_child(log_path)
        with self._abort_lock:
            refused = self._aborts.pop(None, None) or (self._aborts.pop(tag, None) if tag is not None else None)
            self._busy = refused is None
            self._busy_tag = tag
        if refused is not None:
            raise RenderAbortedError(index, f"not started: {refused}")
        try:
            return self._exchange(conn, job, index, log_path, tag)
        finally:
            with self._abort_lock:
                self._busy = False
                self._busy_tag = None

    def _exchange(
        self, conn: Connection, job: dict[str, Any], index: int, log_path: Path, tag: str | None
    ) -> dict[str, Any]:
        conn.send(job)
        if not conn.poll(self.timeout_s):
            self._stop_child(kill=True)
            raise RenderTimeoutError(
                index,
                f"no result after {self.timeout_s:g} s; the Blender process was killed",
                self._log_tail(log_path),
                log_path,
            )
        try:
            reply: dict[str, Any] = conn.recv()
        except (EOFError, OSError):
            exitcode = self._process.exitcode if self._process else None
            self._stop_child(kill=True)
            aborted = self._take_abort(tag)
            if aborted is not None:
                raise RenderAbortedError(index, f"the Blender process was killed: {aborted}") from None
            raise RenderCrashError(
                index, f"the Blender process died (exit code {exitcode})", self._log_tail(log_path), log_path
            ) from None
        if not reply["ok"]:
            raise RenderFailedError(index, reply["error"], self._log_tail(log_path), log_path)
        return reply

    def _sweep_partials(self, scratch: Path) -> None:
        """Once per folder: remove partial renders whose writing process is gone (killed with its parent)."""
        if scratch in self._swept:
            return
        self._swept.add(scratch)
        for path in scratch.glob(".*.partial-*"):
            match = _PARTIAL_PID.search(path.name)
            if match and not _alive(int(match.group(1))):
                logger.info("removing %s, left by a killed render", path)
                atomic.remove(path)

    def render(
        self, combination: Combination, settings: RenderSettings, scratch: Path, *, tag: str | None = None
    ) -> RenderResult:
        """Render and verify one combination into a hidden temporary path in `scratch`.

        The caller publishes (moves) or discards the result; on failure nothing is left behind.
        """
        return self.render_blender(combination, settings, scratch, tag=tag).finish(settings)

    def render_blender(
        self,
        combination: Combination,
        settings: RenderSettings,
        scratch: Path,
        *,
        asset_paths: dict[str, str] | None = None,
        tag: str | None = None,
    ) -> Rendered:
        """Blender's part of `render`, one caller at a time (the render slot); `Rendered.finish` does the rest.

        `asset_paths` are the combination's external files when the caller resolved them itself; `tag` names
        the render for `abort`.
        """
        started = time.monotonic()
        # The writer's pid in the name tells a partial of a live render from one left by a killed process.
        stem = atomic.temporary_name(scratch / f"{combination.index:08d}")
        stem = stem.with_name(f"{stem.name}-{os.getpid()}")
        target = stem if settings.images else stem.with_name(stem.name + ".mp4")
        passes: dict[str, Path] = {name: stem.with_name(stem.name + pass_suffix(name)) for name in settings.passes}
        work = stem.with_name(stem.name + ".pass-frames")  # the compositor's float frames, read back and removed
        job = {
            "combination": combination.model_dump(mode="json"),
            "settings": settings.model_dump(mode="json"),
            "asset_paths": asset_paths if asset_paths is not None else self.resolve_assets(combination),
            "target": str(target),
            "passes": {name: str(path) for name, path in passes.items()},
            "passes_work": str(work),
        }
        log_path = self._job_log(combination.index)
        job["log"] = str(log_path)
        rendered = Rendered(combination.index, target, passes, work, log_path, started, {})
        with self._slot:
            self._sweep_partials(scratch)
            try:
                reply = self._run_in_child(job, combination.index, log_path, tag)
            except RenderError:
                rendered.discard()
                raise  # the log stays for the user to read; the error names it
            except BaseException:  # interrupted (Ctrl-C): stop Blender before removing what it is writing
                self._stop_child(kill=True)
                rendered.discard()
                log_path.unlink(missing_ok=True)
                raise
        return Rendered(combination.index, target, passes, work, log_path, started, reply)
