"""The render child: one long-lived process that imports bpy once and renders job after job.

Runs in its own process so a Blender crash or hang costs one combination, never the caller.
Its stdout/stderr (Blender's own messages) go to the log file of the job in hand, which the parent
reads on failure. Ctrl-C is the parent's to handle: it stops (kills) this process itself. It dies
with its parent: on Linux the kernel sends it SIGKILL when the parent goes (even by kill -9), so no
Blender keeps rendering for a flow run that no longer exists.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any


def _redirect_output(log_path: str) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent(parent_pid: int) -> None:
    """Ask the kernel for SIGKILL when the parent dies; exit now if it already has.

    The signal follows the parent *thread* that started this process, so the renderer must be
    used from a thread that lives as long as the process (the flow's main thread does).
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            print(f"simian: prctl(PR_SET_PDEATHSIG) failed: errno {ctypes.get_errno()}", flush=True)
    if os.getppid() != parent_pid:
        os._exit(1)


def _record_event(events_path: str | None, event: str, index: int) -> None:
    """One line per render event, appended atomically (O_APPEND, one write): an audit no retry can hide."""
    if events_path is None:
        return
    line = json.dumps({"event": event, "index": index, "pid": os.getpid(), "time": time.time()}) + "\n"
    fd = os.open(events_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _render_job(
    job: dict[str, Any], backends: list[str] | None, events_path: str | None = None
) -> tuple[dict[str, Any], list[str] | None]:
    from simian.recipe.combination import Combination
    from simian.render.blender import passes as blender_passes
    from simian.render.blender import scene as blender_scene
    from simian.render.blender.device import available_gpu_backends
    from simian.render.render_settings import RenderSettings

    combination = Combination.model_validate(job["combination"])
    settings = RenderSettings.model_validate(job["settings"])
    if settings.engine == "cycles" and settings.device != "cpu" and backends is None:
        backends = available_gpu_backends()
    target = Path(job["target"])
    if settings.images:
        target.mkdir(parents=True, exist_ok=True)
    work = Path(job["passes_work"]) if settings.passes else None
    started = time.perf_counter()
    device = blender_scene.build_scene(combination, settings, job["asset_paths"], target, backends or [], work)
    built = time.perf_counter()
    print(f"simian: rendering combination {combination.index} on {device}", flush=True)
    _record_event(events_path, "started", combination.index)
    blender_scene.render_animation()
    _record_event(events_path, "rendered", combination.index)
    done = time.perf_counter()
    visible: list[Any] = []
    if work is not None:
        targets = {name: Path(path) for name, path in job["passes"].items()}
        visible = blender_passes.write(combination, settings, work, targets)
    import bpy

    return (
        {
            "ok": True,
            "device": device,
            "blender_version": bpy.app.version_string,
            "pid": os.getpid(),
            "build_seconds": built - started,
            "render_seconds": done - built,
            "passes_seconds": time.perf_counter() - done,
            "visible": visible,
        },
        backends,
    )


def _is_blender_scripts(entry: str) -> bool:
    parts = Path(entry).parts
    return "scripts" in parts and ("bpy" in parts or "blender" in parts)


def _drop_blender_script_paths() -> None:
    """A parent that imported bpy itself hands Blender's script folders on in sys.path (spawn copies it), where
    `scripts/modules/bpy` would shadow the bpy module; importing bpy adds them again."""
    sys.path[:] = [entry for entry in sys.path if not _is_blender_scripts(entry)]


def child_main(
    conn: Connection, log_path: str, blender_dir: str, parent_pid: int, events_path: str | None = None
) -> None:
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _redirect_output(log_path)
    # Blender's user folder (config, extension cache) and its thumbnail cache, kept out of $HOME; read at import.
    os.environ["BLENDER_USER_RESOURCES"] = blender_dir
    os.environ["XDG_CACHE_HOME"] = os.path.join(blender_dir, "cache")
    _drop_blender_script_paths()
    import bpy  # noqa: F401  (imported once: the point of a warm process)

    backends: list[str] | None = None
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        _redirect_output(job["log"])
        try:
            reply, backends = _render_job(job, backends, events_path)
        except Exception as exc:  # report, stay warm for the next combination
            traceback.print_exc()
            reply = {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
            }
        conn.send(reply)
