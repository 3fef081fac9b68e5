"""A render service per render worker: the warm Blender child outlives the chunk runs that use it.

A chunk run is a process of its own (forked by the worker); a Blender child owned by it paid `import bpy`
and a first scene again in every chunk run. The `simian` worker starts this service once (`python -m
simian.render.service`), as its child: it holds one `Renderer` (its crash restart and timeouts as they are)
and serves the worker's flow runs over a Unix socket in a private folder, named to them in
SIMIAN_RENDER_SERVICE. It renders for one client (one chunk run) at a time: one GPU, one render.

What the fault suite guards stays true across the process boundary:
- a chunk run killed mid-render (kill -9) closes its connection: the service kills the render at once;
- a lost render lock reaches the service as an abort for that render's tag (its cache key);
- a crashed Blender costs one combination: the next request starts a fresh child;
- it dies with its worker (PR_SET_PDEATHSIG, and the parent checked every second), and is in the worker's
  process group, so `simian down` leaves no process.

Blender's part runs here; verification, checksum and publication run in the client, so that the next
combination renders meanwhile (`Rendered.finish`).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from simian.recipe.combination import Combination
from simian.render.blender.child import _die_with_parent as die_with_parent  # the render child's own rule
from simian.render.render_settings import RenderSettings
from simian.render.renderer import (
    AssetResolver,
    RenderCrashError,
    Renderer,
    RenderError,
    RenderFailedError,
    RenderResult,
)

logger = logging.getLogger(__name__)

#: The flow run's environment variable naming the service's socket.
SOCKET_ENV = "SIMIAN_RENDER_SERVICE"


class RenderService:
    """The server side: one Renderer, one client at a time, a reader thread per client that turns the client's
    aborts and its disappearance into `Renderer.abort` while the main thread renders."""

    def __init__(self, socket_path: Path, *, cache_dir: Path, events_path: Path | None, timeout_s: float) -> None:
        self.socket_path = socket_path
        self.renderer = Renderer(timeout_s=timeout_s, cache_dir=cache_dir, events_path=events_path)
        self._config = (cache_dir, events_path)
        self.clients = 0

    def warm(self) -> None:
        """Start Blender now (it imports bpy while the first chunk run starts)."""
        self.renderer.start_child()

    def _renderer_for(self, cache_dir: Path, events_path: Path | None) -> Renderer:
        """The warm renderer, or a fresh one when the client's settings name other folders."""
        if (cache_dir, events_path) != self._config:
            logger.info("render settings changed (cache %s, events %s): new Blender child", cache_dir, events_path)
            timeout_s = self.renderer.timeout_s
            self.renderer.close()
            self.renderer = Renderer(timeout_s=timeout_s, cache_dir=cache_dir, events_path=events_path)
            self._config = (cache_dir, events_path)
        return self.renderer

    def serve_forever(self) -> None:
        with Listener(str(self.socket_path), family="AF_UNIX") as listener:
            while True:
                conn = listener.accept()
                with conn:
                    self.serve(conn)

    def serve(self, conn: Connection) -> None:
        """Answer one client's requests until it closes (or dies: then its render in progress is killed)."""
        self.clients += 1
        requests: queue.Queue[dict[str, Any] | None] = queue.Queue()

        def read() -> None:
            while True:
                try:
                    message: dict[str, Any] = conn.recv()
                except (EOFError, OSError):
                    # Only this client's renders run now: whatever is busy is its own.
                    self.renderer.abort("the chunk run that asked for it is gone")
                    requests.put(None)
                    return
                if message["op"] == "abort":
                    self.renderer.abort(message["reason"], message.get("tag"))
                else:
                    requests.put(message)

        threading.Thread(target=read, name="render-client", daemon=True).start()
        try:
            while (request := requests.get()) is not None:
                reply = self._render(request)
                with contextlib.suppress(OSError):
                    conn.send(reply)
        finally:
            self.renderer.between_callers()

    def _render(self, request: dict[str, Any]) -> dict[str, Any]:
        combination: Combination = request["combination"]
        renderer = self._renderer_for(Path(request["cache_dir"]), request["events_path"])
        renderer.timeout_s = request["timeout_s"]
        started = renderer.children_started
        try:
            rendered = renderer.render_blender(
                combination,
                request["settings"],
                Path(request["scratch"]),
                asset_paths=request["asset_paths"],
                tag=request["tag"],
            )
            reply: dict[str, Any] = {"ok": True, "rendered": rendered}
        except RenderError as exc:
            reply = {"ok": False, "error": exc}
        except Exception as exc:  # noqa: BLE001 - a request this service cannot serve fails its combination only
            logger.exception("render request for combination %s failed", combination.index)
            reply = {"ok": False, "error": RenderFailedError(combination.index, f"{type(exc).__name__}: {exc}")}
        reply["child_started"] = renderer.children_started > started
        reply["client"] = self.clients
        return reply


class RenderClient:
    """The flow run's side: `Renderer`'s interface (render, abort, close), the rendering done by the service.

    Thread-safe: two combinations in flight share the connection; their Blender parts run one after the other
    (the render slot) and their verification, in the caller's thread, overlaps the next render.
    """

    def __init__(
        self,
        socket_path: Path,
        *,
        timeout_s: float,
        cache_dir: Path,
        resolve_assets: AssetResolver,
        events_path: Path | None,
    ) -> None:
        self.socket_path = socket_path
        self.timeout_s = timeout_s
        self.cache_dir = cache_dir
        self.events_path = events_path
        self.resolve_assets = resolve_assets
        self._conn: Connection | None = Client(str(socket_path), family="AF_UNIX")
        self._send_lock = threading.Lock()
        self._slot = threading.Lock()
        self.children_started = 0  # Blender children the service started for this client

    @property
    def broken(self) -> bool:
        """The service went away: the caller connects again or renders in process."""
        return self._conn is None

    def _send(self, message: dict[str, Any]) -> None:
        with self._send_lock:
            if self._conn is None:
                raise OSError("not connected to the render service")
            self._conn.send(message)

    def render(
        self, combination: Combination, settings: RenderSettings, scratch: Path, *, tag: str | None = None
    ) -> RenderResult:
        """Blender's part in the service (one at a time), then verification and checksum here."""
        asset_paths = self.resolve_assets(combination)
        request = {
            "op": "render",
            "combination": combination,
            "settings": settings,
            "scratch": str(scratch),
            "asset_paths": asset_paths,
            "tag": tag,
            "timeout_s": self.timeout_s,
            "cache_dir": str(self.cache_dir),
            "events_path": self.events_path,
        }
        with self._slot:
            try:
                self._send(request)
                assert self._conn is not None
                reply: dict[str, Any] = self._conn.recv()
            except (EOFError, OSError):
                self.close()
                raise RenderCrashError(combination.index, f"the render service ({self.socket_path}) is gone") from None
            except BaseException:  # interrupted mid-render: closing the connection makes the service kill it
                self.close()
                raise
        self.children_started += bool(reply.get("child_started"))
        if not reply["ok"]:
            raise reply["error"]
        result: RenderResult = reply["rendered"].finish(settings)
        return result

    def abort(self, reason: str, tag: str | None = None) -> None:
        """Stop (or refuse) the render of `tag` in the service, as `Renderer.abort` does."""
        with contextlib.suppress(OSError):
            self._send({"op": "abort", "reason": reason, "tag": tag})

    def close(self) -> None:
        with self._send_lock:
            if self._conn is not None:
                with contextlib.suppress(OSError):
                    self._conn.close()
                self._conn = None


def connect(
    *, timeout_s: float, cache_dir: Path, resolve_assets: AssetResolver, events_path: Path | None
) -> RenderClient | None:
    """A client of the worker's render service when the flow run has one (SIMIAN_RENDER_SERVICE), else None."""
    path = os.environ.get(SOCKET_ENV)
    if not path:
        return None
    try:
        return RenderClient(
            Path(path), timeout_s=timeout_s, cache_dir=cache_dir, resolve_assets=resolve_assets, events_path=events_path
        )
    except OSError as exc:
        logger.warning("render service at %s unreachable (%s); rendering in this process", path, exc)
        return None


def _watch_parent(parent_pid: int, exit_now: Callable[[int], object] = os._exit) -> None:
    """Belt and braces to PR_SET_PDEATHSIG: exit when the parent is gone, whatever thread started us."""
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    exit_now(1)


def main(argv: list[str] | None = None) -> None:
    from simian.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m simian.render.service", description=__doc__)
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--no-warm", action="store_true", help="start Blender on the first request, not now")
    parser.add_argument("--die-with-parent-thread", action="store_true", help="PR_SET_PDEATHSIG (Linux)")
    args = parser.parse_args(argv)
    if args.die_with_parent_thread:
        die_with_parent(args.parent)
    threading.Thread(target=_watch_parent, args=(args.parent,), name="parent-watch", daemon=True).start()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s render service: %(message)s", stream=sys.stderr)
    settings = load_settings()
    service = RenderService(
        args.socket,
        cache_dir=settings.simian_cache_dir,
        events_path=settings.simian_render_events,
        timeout_s=settings.simian_render_timeout_s,
    )
    if not args.no_warm:
        service.warm()
    logger.info("listening on %s (pid %d)", args.socket, os.getpid())
    # `simian down` and the worker's teardown send SIGTERM: leave by the `finally` below, socket and folder removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        service.serve_forever()
    finally:
        service.renderer.close()
        with contextlib.suppress(OSError):
            args.socket.parent.rmdir()  # the worker's private folder for the socket, once empty


if __name__ == "__main__":
    main()
