"""Faults of a farm run, with the real services: Redis outages and restarts, a killed flow-run process, a lost
render lock. Each asserts exactly-once from the renders Blender itself recorded (one `rendered` line per finished
render in the event log, which no task retry can hide), the dataset's contents and the run's summary."""

from __future__ import annotations

import base64
import json
import os
import pickle
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterParentFlowRunId,
    LogFilter,
    LogFilterTaskRunId,
)
from prefect.client.schemas.objects import FlowRun, TaskRun
from prefect.settings import PREFECT_API_URL, temporary_settings

from simian.combine.variants import VideoKey
from simian.operations.sandbox import PREFECT
from simian.orchestration.redis_store import FarmMismatchError, RunLedger
from simian.settings import Settings

from .conftest import decode_frames
from .services import RedisServer, Stack, descendants, start_stack, wait_for

# Each fault takes a minute or more against the whole stack: `make test-slow` runs them, `make test` does not.
pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.services, pytest.mark.blender]

RENDER = ["width=96", "height=64", "frames=12", "samples=4"]
SLOW_RENDER = ["width=128", "height=80", "frames=36", "samples=6"]  # several seconds: caught mid-render


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    """The local stack with no render worker of its own: each test starts (and stops) the workers it needs."""
    services = start_stack(tmp_path_factory.mktemp("faults"), render_slots=3, workers=0)
    yield services
    services.stop()


@pytest.fixture
def farm(stack: Stack, tmp_path: Path):
    """A render event log for this test (read by every flow run from the stack's settings file) and one worker."""
    events = tmp_path / "render-events.jsonl"
    stack.write_env_file({"SIMIAN_RENDER_EVENTS": str(events), "SIMIAN_LOCK_LEASE_S": "6"})
    worker = stack.start_worker(f"gpu-{tmp_path.name[-12:]}")
    yield events
    worker.terminate()
    worker.wait(timeout=60)
    stack.write_env_file({})


# ---------------------------------------------------------------------------------------------- helpers
def client(stack: Stack) -> SyncPrefectClient:
    with temporary_settings({PREFECT_API_URL: stack.env["PREFECT_API_URL"]}):
        from prefect import get_client

        return get_client(sync_client=True)


def children(stack: Stack, run_id: str) -> list[FlowRun]:
    with client(stack) as api:
        return api.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[UUID(run_id)]))
        )


def task_runs(stack: Stack, flow_run_ids: list[UUID]) -> list[TaskRun]:
    with client(stack) as api:
        return api.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=flow_run_ids)))


def task_logs(stack: Stack, task_run: TaskRun) -> str:
    """The log lines of one task run, to show what happened to it when an assertion fails."""
    with client(stack) as api:
        logs = api.read_logs(log_filter=LogFilter(task_run_id=LogFilterTaskRunId(any_=[task_run.id])))
    return "\n".join(f"{log.level} {log.message[:500]}" for log in logs)


def render_events(events: Path, kind: str) -> list[dict]:
    lines = [json.loads(line) for line in events.read_text().splitlines()] if events.is_file() else []
    return [e for e in lines if e["event"] == kind]


def renders(events: Path) -> Counter[int]:
    """Finished Blender renders per index, as the Blender children recorded them."""
    return Counter(e["index"] for e in render_events(events, "rendered"))


def started(events: Path) -> list[dict]:
    return render_events(events, "started")


def summary(stack: Stack, run_id: str, start: int, end: int) -> dict[str, object]:
    with client(stack) as api:
        artifacts = api.read_artifacts()
    table = next(a for a in artifacts if a.key == f"simian-range-{start}-{end}-{run_id[:8]}")
    return {row["what"]: row["value"] for row in json.loads(table.data)}


def assert_dataset(out: Path, indices: range, frames: int) -> None:
    videos = sorted(out.glob("data/*/*.mp4"))
    assert [v.name for v in videos] == [f"{i:08d}.mp4" for i in indices]
    for video in videos:
        assert len(decode_frames(video)) == frames
    assert len(sorted(out.glob("data/*/*.json"))) == len(indices)
    assert not [p for p in out.rglob(".*")], "partial files left in the dataset"


def start_range(stack: Stack, *params: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*PREFECT, *stack.range_args(*params), "--watch"],
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_id_of(output: str) -> str:
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", output)
    assert match, output[-3000:]
    return match.group(1)


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def flow_run_processes(worker: int) -> list[int]:
    """The flow-run processes below a `simian` worker: forked by its forkserver (they share its command line)."""

    def forked(pid: int) -> bool:
        try:
            return b"multiprocessing.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    return [pid for pid in descendants(worker) if forked(pid) and forked(parent_of(pid))]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------- faults
def test_redis_stopped_for_15_s_mid_range_is_ridden_out(stack, farm, tmp_path):
    """Finding: the range run failed 2 s after `redis-cli shutdown nosave` and chunks started meanwhile failed
    for good. Now: progress pauses, chunks that could not reach Redis are re-submitted, everything renders once."""
    out = tmp_path / "dataset"
    earlier = range_runs(stack)
    watcher = start_range(stack, "start=0", "end=6", "seed=11", "chunk_size=1", *RENDER, f"output={out}")
    (run_id,) = wait_for(lambda: range_runs(stack) - earlier, 60, "the range run to be created")
    wait_for(
        lambda: [c for c in children(stack, run_id) if c.state and c.state.is_completed()],
        240,
        "the first chunk to complete",
    )
    stack.shutdown_redis()  # the worker that finished is about to take the next chunk
    time.sleep(15)
    stack.up()  # restarts Redis, as a user would
    output, _ = watcher.communicate(timeout=600)
    assert watcher.returncode == 0, output[-4000:]
    assert run_id_of(output) == run_id
    assert renders(farm) == {i: 1 for i in range(6)}, "every index rendered exactly once"
    assert_dataset(out, range(6), frames=12)
    table = summary(stack, run_id, 0, 6)
    assert table["rendered"] == 6 and table["failed"] == 0, table
    runs = children(stack, run_id)
    waited = [r for r in runs if "-wait" in r.name]
    assert waited, [(r.name, r.state.name) for r in runs]
    refused = [r for r in runs if r.state.is_failed()]
    assert refused and all("Redis" in (r.state.message or "") for r in refused), [r.state.message for r in refused]


def range_runs(stack: Stack) -> set[str]:
    with client(stack) as api:
        runs = api.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["simian"])))
    return {str(r.id) for r in runs}


def test_a_redis_restart_keeps_the_cache_and_results_are_json(stack, farm, tmp_path):
    out = tmp_path / "dataset"
    params = ["start=0", "end=3", "seed=12", "chunk_size=3", *RENDER, f"output={out}"]
    result, _ = stack.run_range(*params)
    assert result.returncode == 0, result.stdout[-3000:]
    stack.shutdown_redis()
    stack.up()
    result, rerun_id = stack.run_range(*params)
    assert result.returncode == 0, result.stdout[-3000:]
    assert renders(farm) == {0: 1, 1: 1, 2: 1}, "nothing rendered again after the restart"
    table = summary(stack, rerun_id, 0, 3)
    assert table["rendered"] == 0 and table["cached (not rendered again)"] == 3, table
    assert_dataset(out, range(3), frames=12)
    redis = stack.redis()
    video = json.loads((out / "data/0000/00000000.json").read_text())["sha256"]
    key = next(
        k
        for k in redis.scan_iter("simian-render-*")
        if json.loads(json.loads(redis.get(k))["result"]).get("sha256") == video
    )
    record = json.loads(redis.get(key))
    assert record["metadata"]["serializer"]["type"] == "json", record["metadata"]
    assert json.loads(record["result"])["file_name"] == "data/0000/00000000.mp4", "the result itself is plain JSON"

    # Whoever can write Redis must not run code on the workers: a pickled record is ignored, never unpickled.
    marker = tmp_path / "unpickled"
    record["metadata"]["serializer"] = {"type": "pickle", "picklelib": "cloudpickle", "picklelib_version": None}
    record["result"] = base64.encodebytes(pickle.dumps(OpensFile(str(marker)))).decode()
    redis.set(key, json.dumps(record))
    result, tampered_id = stack.run_range("start=0", "end=1", "seed=12", *RENDER, f"output={out}")
    assert result.returncode == 0, result.stdout[-3000:]
    assert not marker.exists(), "a pickled cache entry was unpickled"
    assert [t.state.name for t in task_runs(stack, [c.id for c in children(stack, tampered_id)])] == ["Completed"]
    assert renders(farm)[0] == 1, "the ignored entry is not rendered again: the dataset's video is adopted"
    replaced = json.loads(redis.get(key))
    assert replaced["metadata"]["serializer"]["type"] == "json", "and the entry is replaced with JSON"
    assert json.loads(replaced["result"])["adopted"] is True


class OpensFile:
    """Unpickling this creates a file: proof that a payload ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (self.path, "w"))


def test_a_redis_blip_inside_a_chunk_loses_no_result(stack, farm, tmp_path):
    """Finding: after a blip the first task failed with LockNotOwnedError and the next ones showed Completed while
    their results never reached Redis, so the next run rendered them again."""
    out = tmp_path / "dataset"
    params = ["start=0", "end=4", "seed=13", "chunk_size=4", *SLOW_RENDER, f"output={out}"]
    watcher = start_range(stack, *params)
    wait_for(lambda: [e for e in started(farm) if e["index"] == 1], 300, "combination 1 to start rendering")
    stack.shutdown_redis()
    time.sleep(3)
    stack.up()
    output, _ = watcher.communicate(timeout=600)
    assert watcher.returncode == 0, output[-4000:]
    run_id = run_id_of(output)
    runs = task_runs(stack, [c.id for c in children(stack, run_id)])
    states = [t.state.name for t in runs]
    assert sorted(states) == ["Completed"] * 4, "\n".join(
        f"{t.name} {t.state.name} {t.state.message}\n{task_logs(stack, t)}" for t in runs if t.state.name != "Completed"
    )
    result, rerun_id = stack.run_range(*params)
    assert result.returncode == 0, result.stdout[-3000:]
    rerun = [t.state.name for t in task_runs(stack, [c.id for c in children(stack, rerun_id)])]
    assert rerun == ["Cached"] * 4, f"every result reached Redis: {rerun}"
    assert renders(farm) == {i: 1 for i in range(4)}
    assert_dataset(out, range(4), frames=36)


def test_kill_9_of_a_flow_run_process_takes_blender_with_it(stack, farm, tmp_path):
    out = tmp_path / "dataset"
    watcher = start_range(stack, "start=0", "end=4", "seed=14", "chunk_size=2", *SLOW_RENDER, f"output={out}")
    victim = wait_for(lambda: [e for e in started(farm) if e["index"] == 1], 300, "combination 1 to start")[0]
    blender = victim["pid"]  # the worker's render service's child, rendering for the one chunk run of the worker
    [flow_run_process] = flow_run_processes(stack.extra_workers[-1].pid)
    os.kill(flow_run_process, signal.SIGKILL)
    killed = time.monotonic()
    while alive(blender) and time.monotonic() - killed < 10:
        time.sleep(0.05)
    gone_after = time.monotonic() - killed
    if alive(blender):
        os.kill(blender, signal.SIGKILL)  # do not leave it rendering when the test fails
    assert gone_after < 2.0, f"Blender lived {gone_after:.1f} s after its flow-run process was killed"
    output, _ = watcher.communicate(timeout=600)
    assert watcher.returncode == 0, output[-4000:]
    run_id = run_id_of(output)
    assert renders(farm) == {i: 1 for i in range(4)}, "the interrupted render never finished; all others once"
    assert_dataset(out, range(4), frames=36)
    runs = children(stack, run_id)
    crashed = [r for r in runs if r.state.is_crashed()]
    assert len(crashed) == 1, [(r.name, r.state.name) for r in runs]
    left = [t for t in task_runs(stack, [crashed[0].id]) if t.state.type.value in ("RUNNING", "PENDING")]
    assert not left, f"task runs of the crashed chunk left running: {[(t.name, t.state.name) for t in left]}"
    assert not list(out.rglob(f".*.partial-{flow_run_process}*")), "the killed render's partial was swept"
    assert not (out / ".simian-scratch").exists(), "the killed process's scratch was cleaned"


def test_a_lost_lease_aborts_the_render_and_the_task_is_retried(stack, farm, tmp_path):
    out = tmp_path / "dataset"
    params = ("start=0", "end=3", "seed=15", "chunk_size=3", *SLOW_RENDER, f"output={out}")
    # Two combinations are in flight in a chunk, each under its lock: a dry run names combination 1's.
    planned, plan_id = stack.run_range(*params, "dry_run=true")
    assert planned.returncode == 0, planned.stdout[-3000:]
    victim_key = stack.outcomes(plan_id)[VideoKey(1, 0)]["cache_key"]
    watcher = start_range(stack, *params)
    victim = wait_for(lambda: [e for e in started(farm) if e["index"] == 1], 300, "combination 1 to start")[0]
    redis = stack.redis()
    lock = f"lock:{victim_key}"
    assert redis.exists(lock), list(redis.scan_iter("lock:simian-render-*"))
    redis.set(lock, "another-machine", px=8000)  # the lease is gone: another holder has the key
    taken = time.monotonic()
    wait_for(lambda: not alive(victim["pid"]), 15, "the render under the lost lease to be killed")
    aborted_after = time.monotonic() - taken
    output, _ = watcher.communicate(timeout=600)
    assert watcher.returncode == 0, output[-4000:]
    assert aborted_after < 6 / 3 + 2, f"render aborted {aborted_after:.1f} s after its lease was taken"
    assert renders(farm) == {0: 1, 1: 1, 2: 1}
    assert victim["pid"] not in [e["pid"] for e in render_events(farm, "rendered") if e["index"] == 1]
    run_id = run_id_of(output)
    runs = {t.name: t for t in task_runs(stack, [c.id for c in children(stack, run_id)])}
    assert runs["render-00000001"].run_count == 2 and runs["render-00000001"].state.is_completed()
    assert_dataset(out, range(3), frames=36)


def test_a_machine_reaching_another_redis_is_refused_naming_both(stack, tmp_path):
    other = RedisServer(tmp_path / "other-redis").start()
    try:
        with temporary_settings({PREFECT_API_URL: stack.env["PREFECT_API_URL"]}):
            began = time.monotonic()
            with pytest.raises(FarmMismatchError) as err:
                RunLedger.open(Settings(redis_host="127.0.0.1", redis_port=other.port), "run")
            RunLedger.open(Settings(redis_host="127.0.0.1", redis_port=stack.redis_port), "run")
    finally:
        other.stop()
    assert time.monotonic() - began < 10
    message = str(err.value)
    assert f"redis://127.0.0.1:{other.port}/0" in message and f"redis://127.0.0.1:{stack.redis_port}/0" in message
    assert "no farm id" in message and "REDIS_HOST" in message
