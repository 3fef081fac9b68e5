"""The render child: one long-lived process that imports bpy once and renders job after job.

Runs in its own process so a Blender crash or hang costs one combination, never the caller.
Its stdout/stderr (Blender's own messages) go to the log file of the job in hand, which the parent
reads on failure. Ctrl-C is the parent's to handle: it stops (kills) this process itself.
"""

from __future__ import annotations

import os
import signal
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


def _render_job(job: dict[str, Any], backends: list[str] | None) -> tuple[dict[str, Any], list[str] | None]:
    from simian.combination import Combination
    from simian.render.blender import scene as blender_scene
    from simian.render.blender.device import available_gpu_backends
    from simian.render.settings import RenderSettings

    combination = Combination.model_validate(job["combination"])
    settings = RenderSettings.model_validate(job["settings"])
    if settings.engine == "cycles" and settings.device != "cpu" and backends is None:
        backends = available_gpu_backends()
    target = Path(job["target"])
    if settings.images:
        target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    device = blender_scene.build_scene(combination, settings, job["asset_paths"], target, backends or [])
    built = time.perf_counter()
    print(f"simian: rendering combination {combination.index} on {device}", flush=True)
    blender_scene.render_animation()
    done = time.perf_counter()
    import bpy

    return (
        {
            "ok": True,
            "device": device,
            "blender_version": bpy.app.version_string,
            "pid": os.getpid(),
            "build_seconds": built - started,
            "render_seconds": done - built,
        },
        backends,
    )


def child_main(conn: Connection, log_path: str, blender_dir: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _redirect_output(log_path)
    # Blender's user folder (config, extension cache) and its thumbnail cache, kept out of $HOME; read at import.
    os.environ["BLENDER_USER_RESOURCES"] = blender_dir
    os.environ["XDG_CACHE_HOME"] = os.path.join(blender_dir, "cache")
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
            reply, backends = _render_job(job, backends)
        except Exception as exc:  # report, stay warm for the next combination
            traceback.print_exc()
            reply = {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
            }
        conn.send(reply)
