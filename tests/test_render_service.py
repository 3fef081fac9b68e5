"""The render service with real bpy and a real stack: its Blender child stays warm across clients (chunk runs), a
client killed mid-render stops its render at once, it dies with its worker, and `simian down` leaves no process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId, LogFilter, LogFilterFlowRunId
from prefect.settings import PREFECT_API_URL, temporary_settings

from simian.combine.combiner import combination_for
from simian.operations.stack import worker_online
from simian.orchestration.names import CONTROL_POOL, RENDER_POOL
from simian.render import RenderCrashError, parse_render_settings
from simian.render.service import RenderClient

from .conftest import REPO, decode_frames
from .services import descendants, start_stack, wait_for
from .test_render_lifetime import alive, events

pytestmark = pytest.mark.blender

TINY = parse_render_settings(width=64, height=48, frames=6, samples=2, device="cpu")
SLOW = parse_render_settings(width=160, height=96, frames=48, samples=16, device="cpu")

#: A chunk run's stand-in: renders one slow combination through the service (killed mid-render by the test).
CLIENT = """
import sys
from pathlib import Path
from simian.combine.combiner import combination_for
from simian.operations.stack import worker_online
from simian.orchestration.names import CONTROL_POOL, RENDER_POOL
from simian.render import RenderCrashError, parse_render_settings
from simian.render.service import RenderClient

settings = parse_render_settings(width=160, height=96, frames=48, samples=16, device="cpu")
client = RenderClient(Path(sys.argv[1]), timeout_s=300, cache_dir=Path(sys.argv[2]), resolve_assets=lambda c: {},
                      events_path=Path(sys.argv[3]))
client.render(combination_for(2, 0), settings, Path(sys.argv[4]), tag="slow")
"""

#: The worker's stand-in: starts the service as the worker does, then waits to be killed.
LAUNCHER = """
import os, subprocess, sys, time
argv = ["-m", "simian.render.service", "--socket", sys.argv[1], "--parent", str(os.getpid())]
subprocess.Popen([sys.executable, *argv, "--die-with-parent-thread"])
time.sleep(600)
"""


def _client(socket: Path, cache: Path, log: Path) -> RenderClient:
    return RenderClient(socket, timeout_s=120, cache_dir=cache, resolve_assets=lambda c: {}, events_path=log)


def test_the_service_keeps_blender_warm_stops_a_killed_clients_render_survives_a_crash_and_dies_with_its_parent(
    tmp_path,
):
    socket, cache, log, scratch = tmp_path / "render.sock", tmp_path / "cache", tmp_path / "events.jsonl", tmp_path
    env = {**os.environ, "SIMIAN_CACHE_DIR": str(cache), "SIMIAN_RENDER_EVENTS": str(log), "SIMIAN_ENV_FILE": ""}
    (tmp_path / "launcher.py").write_text(LAUNCHER)
    (tmp_path / "client.py").write_text(CLIENT)
    launcher = subprocess.Popen([sys.executable, str(tmp_path / "launcher.py"), str(socket)], cwd=REPO, env=env)
    killed_client = None
    try:
        wait_for(socket.exists, 60, "the render service's socket")
        [service] = subprocess.run(["pgrep", "-P", str(launcher.pid)], capture_output=True, text=True).stdout.split()
        service = int(service)
        killed_client = subprocess.Popen(
            [sys.executable, str(tmp_path / "client.py"), str(socket), str(cache), str(log), str(scratch)],
            cwd=REPO,
            env=env,
        )
        victim = wait_for(lambda: [e for e in events(log) if e["event"] == "started"], 120, "the slow render")[0]
        os.kill(killed_client.pid, signal.SIGKILL)
        killed = time.monotonic()
        killed_client.wait(timeout=10)
        while alive(victim["pid"]) and time.monotonic() - killed < 10:
            time.sleep(0.05)
        stopped_after = time.monotonic() - killed
        assert stopped_after < 2.0, f"the killed client's render went on for {stopped_after:.1f} s"
        assert alive(service), "the service outlives its clients"

        first = _client(socket, cache, log)
        one = first.render(combination_for(2, 1), TINY, scratch, tag="one")
        first.close()
        second = _client(socket, cache, log)
        two = second.render(combination_for(2, 2), TINY, scratch, tag="two")
        second.close()
        assert len(decode_frames(one.media)) == 6 and len(decode_frames(two.media)) == 6
        assert one.facts.render_pid == two.facts.render_pid != victim["pid"], "one warm Blender for both clients"
        assert (first.children_started, second.children_started) == (1, 0), "a fresh child after the kill, then none"
        rendered = [e for e in events(log) if e["event"] == "rendered"]
        assert [e["index"] for e in rendered] == [1, 2], "the killed client's render never finished"
        assert not list(scratch.glob(".00000000.*partial*")), "the killed render's partial files are removed"

        crashing = _client(socket, cache, log)

        def crash_when_rendering() -> None:
            started = wait_for(lambda: [e for e in events(log) if e["index"] == 3], 120, "combination 3 to start")
            os.kill(started[0]["pid"], signal.SIGKILL)  # a Blender crash (segfault, OOM killer)

        crasher = threading.Thread(target=crash_when_rendering)
        crasher.start()
        with pytest.raises(RenderCrashError, match="combination 3: the Blender process died") as crashed:
            crashing.render(combination_for(2, 3), SLOW, scratch, tag="three")
        crasher.join()
        assert crashed.value.transient, "a crash is retried"
        after = crashing.render(combination_for(2, 4), TINY, scratch, tag="four")
        crashing.close()
        assert len(decode_frames(after.media)) == 6, "the crash cost one combination"
        assert after.facts.render_pid != one.facts.render_pid and alive(service)

        blender = after.facts.render_pid
        os.kill(launcher.pid, signal.SIGKILL)  # the worker dies: the service and its Blender go with it
        launcher.wait(timeout=10)
        gone = time.monotonic()
        while (alive(service) or alive(blender)) and time.monotonic() - gone < 10:
            time.sleep(0.05)
        assert not alive(service) and not alive(blender), "the service or its Blender outlived the worker"
        assert time.monotonic() - gone < 2.0
    finally:
        for process in (killed_client, launcher):
            if process is not None and process.poll() is None:
                process.kill()
        for pid in descendants(launcher.pid) if launcher.poll() is None else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""  # gone meanwhile


def _at(stamp: datetime | None) -> float:
    assert stamp is not None
    return stamp.timestamp()


@pytest.mark.services
@pytest.mark.slow  # over a minute on 2 cores, and it kills the render service: the fault suite (`make test-slow`)
def test_chunk_runs_share_the_workers_warm_blender_render_in_flight_and_simian_down_leaves_no_process(tmp_path):
    """Two chunk runs, one Blender; two task runs in flight per chunk; a killed service is started again by the
    worker's next flow run; `simian down` leaves none of the worker's processes."""
    stack = start_stack(tmp_path / "stack", render_slots=1, workers=1)
    below: list[int] = []
    try:
        host = os.uname().nodename
        for pool, name in ((CONTROL_POOL, f"control-{host}"), (RENDER_POOL, f"gpu-{host}-0")):
            assert worker_online(stack.env["PREFECT_API_URL"], pool, name), f"`simian up` returned before {name} polled"
        out = tmp_path / "dataset"
        result, run_id = stack.run_range(
            "start=0", "end=4", "seed=12", "chunk_size=2", "width=64", "height=48", "frames=6", "samples=2",
            f"output={out}",
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + stack.run_report(run_id)
        worker = json.loads((stack.root / "state" / "stack.json").read_text())["worker-gpu-0"]["pid"]
        below = descendants(worker)
        sidecars = [json.loads(p.read_text()) for p in sorted(out.glob("data/*/*.json"))]
        assert len(sidecars) == 4
        for video in sorted(out.glob("data/*/*.mp4")):
            assert len(decode_frames(video)) == 6
        blender = {s["render_pid"] for s in sidecars}
        assert len(blender) == 1, f"one Blender child for both chunk runs: {blender}"
        assert blender <= set(below), "the worker's render service owns it and keeps it after the chunk runs"

        with temporary_settings({PREFECT_API_URL: stack.env["PREFECT_API_URL"]}):
            from prefect import get_client

            with get_client(sync_client=True) as api:
                chunks = api.read_flow_runs(
                    flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[UUID(run_id)]))
                )
                assert len(chunks) == 2
                for chunk in chunks:
                    tasks = sorted(
                        api.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [chunk.id]})),
                        key=lambda t: _at(t.start_time),
                    )
                    assert len(tasks) == 2
                    assert _at(tasks[1].start_time) < _at(tasks[0].end_time), "the second combination in flight"
                    logs = api.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[chunk.id])))
                    assert any("Blender busy" in log.message for log in logs), [log.message for log in logs]

        [service] = [pid for pid in below if b"simian.render.service" in _cmdline(pid)]
        os.kill(service, signal.SIGKILL)  # the worker starts it again at its next flow run
        wait_for(lambda: not alive(service) and not [pid for pid in blender if alive(pid)], 10, "the service to die")
        again = tmp_path / "again"
        result, run_id = stack.run_range(
            "start=0", "end=1", "seed=13", "width=64", "height=48", "frames=6", "samples=2", f"output={again}"
        )
        assert result.returncode == 0, result.stdout[-3000:] + stack.run_report(run_id)
        [sidecar] = [json.loads(p.read_text()) for p in again.glob("data/*/*.json")]
        below = descendants(worker)
        assert sidecar["render_pid"] in below and sidecar["render_pid"] not in blender, "a new service's Blender"
        assert [pid for pid in below if b"simian.render.service" in _cmdline(pid)]
    finally:
        stack.down()
    deadline = time.monotonic() + 10
    while [pid for pid in below if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [(pid, _cmdline(pid)[:120]) for pid in below if alive(pid)]
    assert not left, f"`simian down` left processes: {left}"
