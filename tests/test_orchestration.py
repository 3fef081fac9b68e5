"""The Prefect orchestration against real services: redis-server, Prefect server, process workers, bpy."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.settings import PREFECT_API_URL, temporary_settings

from simian.combine.combiner import combination_for
from simian.errors import SimianError
from simian.operations.sandbox import PREFECT
from simian.orchestration.redis_store import RunLedger, check_redis
from simian.render.render_settings import RenderSettings
from simian.settings import Settings

from .conftest import decode_frames
from .services import Stack, descendants, start_stack, wait_for

pytestmark = [pytest.mark.services, pytest.mark.blender]

TINY = ["width=64", "height=48", "frames=6", "samples=2"]
#: The clip TINY renders: recipes drawn from a seed are framed and captioned for the clip they render.
TINY_CLIP = RenderSettings(width=64, height=48, frames=6, samples=2).clip()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    services = start_stack(tmp_path_factory.mktemp("stack"), render_slots=3)
    yield services
    services.stop()


def _client(stack: Stack) -> SyncPrefectClient:
    with temporary_settings({PREFECT_API_URL: stack.env["PREFECT_API_URL"]}):
        from prefect import get_client

        return get_client(sync_client=True)


def _children(stack: Stack, run_id: str):  # type: ignore[no-untyped-def]
    with _client(stack) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[UUID(run_id)]))
        )


def _task_states(stack: Stack, run_id: str) -> dict[str, list[str]]:
    """Task run name -> state names, over every chunk run of a range run."""
    children = _children(stack, run_id)
    states: dict[str, list[str]] = {}
    with _client(stack) as client:
        for child in children:
            for task_run in client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [child.id]})):
                states.setdefault(task_run.name, []).append(task_run.state.name if task_run.state else "?")
    return states


def _dataset_files(root: Path) -> tuple[list[Path], list[Path]]:
    return sorted(root.glob("data/*/*.mp4")), sorted(root.glob("data/*/*.json"))


def test_range_renders_is_cached_on_rerun_and_rerenders_on_new_width(stack, tmp_path):
    out = tmp_path / "dataset"
    result, run_id = stack.run_range("start=0", "end=4", "seed=3", "chunk_size=2", *TINY, f"output={out}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    videos, sidecars = _dataset_files(out)
    assert [v.name for v in videos] == [f"{i:08d}.mp4" for i in range(4)]
    for index, sidecar in enumerate(sidecars):
        meta = json.loads(sidecar.read_text())
        assert meta["caption"] == combination_for(3, index, clip=TINY_CLIP).caption
        assert len(decode_frames(videos[index])) == 6
    states = _task_states(stack, run_id)
    assert sorted(states) == [f"render-{i:08d}" for i in range(4)]
    assert all(s == ["Completed"] for s in states.values()), states
    assert len(_children(stack, run_id)) == 2, "two chunks of two"
    card = (out / "README.md").read_text()
    names = {o.name for i in range(4) for o in combination_for(3, i, clip=TINY_CLIP).objects}
    assert "![Objects](charts/objects.svg)" in card and "![Camera moves](charts/camera_moves.svg)" in card
    chart = (out / "charts" / "objects.svg").read_text()
    assert chart.startswith("<?xml") and all(f">{name}<" in chart for name in names), (names, chart[:300])

    result, rerun_id = stack.run_range("start=0", "end=4", "seed=3", "chunk_size=2", *TINY, f"output={out}")
    assert result.returncode == 0, result.stdout[-3000:]
    rerun = _task_states(stack, rerun_id)
    assert all(s == ["Cached"] for s in rerun.values()) and len(rerun) == 4, rerun

    result, wider_id = stack.run_range(
        "start=0", "end=2", "seed=3", "width=80", "height=48", "frames=6", "samples=2", f"output={tmp_path / 'wider'}"
    )
    assert result.returncode == 0
    assert all(s == ["Completed"] for s in _task_states(stack, wider_id).values())
    assert decode_frames(tmp_path / "wider/data/0000/00000001.mp4")[0].shape == (48, 80, 3)

    with _client(stack) as client:
        artifacts = client.read_artifacts()
    keys = {a.key for a in artifacts if a.key}
    assert f"simian-range-0-4-{run_id[:8]}" in keys and f"simian-range-0-4-{rerun_id[:8]}" in keys
    progress = [a for a in artifacts if a.type == "progress" and a.flow_run_id == UUID(run_id)]
    assert progress and progress[0].data == 100.0
    assert re.fullmatch(
        r"combinations 0\.\.3: 4 of 4 videos done, [\d.]+ a minute, in \d+ (s|min \d\d s)",
        progress[0].description or "",
    ), progress[0].description
    table = next(a for a in artifacts if a.key == f"simian-range-0-4-{rerun_id[:8]}")
    rows = {row["what"]: row["value"] for row in json.loads(table.data)}
    assert rows["rendered"] == 0 and rows["cached (not rendered again)"] == 4 and rows["failed"] == 0


def test_camera_variants_of_a_range_render_once_each_and_are_cached_by_video(stack, tmp_path):
    out = tmp_path / "dataset"
    params = ("start=0", "end=2", "seed=5", "chunk_size=1", "camera_variants=2", *TINY, f"output={out}")
    result, run_id = stack.run_range(*params)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    videos, _ = _dataset_files(out)
    names = sorted(f"{i:08d}{s}.mp4" for i in range(2) for s in ("", "-v1"))
    assert sorted(v.name for v in videos) == names
    states = _task_states(stack, run_id)
    assert sorted(states) == sorted(f"render-{n.removesuffix('.mp4')}" for n in names)
    assert all(s == ["Completed"] for s in states.values()), states
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and len({r["scene_id"] for r in rows}) == 2
    assert sorted(r["variant"] for r in rows) == [0, 0, 1, 1]
    for row in rows:
        expected = combination_for(5, row["index"], variant=row["variant"], clip=TINY_CLIP)
        assert row["caption_camera"] == expected.caption_camera and row["caption_short"] == expected.caption_short
    identity = json.loads((out / "simian-dataset.json").read_text())
    assert identity["configs"]["default"]["recipes"]["camera_variants"] == 2

    result, rerun_id = stack.run_range(*params)
    assert result.returncode == 0
    assert all(s == ["Cached"] for s in _task_states(stack, rerun_id).values())
    fewer, _ = stack.run_range("start=0", "end=2", "seed=5", *TINY, f"output={out}", timeout=120)
    assert fewer.returncode != 0, "one camera per scene is another recipe source: refused, not mixed in"


def test_bad_parameters_fail_before_any_render(stack, tmp_path):
    out = tmp_path / "dataset"
    cases = (
        (["start=5", "end=2"], "must be greater than start"),
        (["start=0", "end=2", "width=65"], "width"),
        (["start=0", "end=2", "combinations=/no/such/file.json"], "does not exist"),
    )
    # Independent runs on the control pool (no limit there): submitted together.
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        runs = list(pool.map(lambda case: stack.run_range(*case[0], f"output={out}", timeout=180), cases))
    for (_, needle), (result, run_id) in zip(cases, runs, strict=True):
        assert result.returncode != 0
        with _client(stack) as client:
            run = client.read_flow_run(UUID(run_id))
        assert run.state.is_failed(), run.state
        assert needle in (run.state.message or "") + result.stdout, (run.state.message, result.stdout[-2000:])
        assert _children(stack, run_id) == []
    # A value outside the parameter schema is refused by the server: no run is even created.
    refused = stack.prefect(*stack.range_args("start=0", "end=2", "engine=blender_internal"), timeout=120)
    assert refused.returncode != 0
    assert "engine" in refused.stdout + refused.stderr and "cycles" in refused.stdout + refused.stderr
    for wrong in ('frames="12"', "frames=true"):  # strict types: a string is not a number, nor a bool an int
        refused = stack.prefect(*stack.range_args("start=0", "end=2", wrong), timeout=120)
        assert refused.returncode != 0 and "'frames'" in refused.stdout + refused.stderr, refused.stdout
    assert not out.exists()


def _forkservers(stack: Stack, worker: str) -> list[int]:
    """Pids of the flow-run forkservers below one of the stack's workers."""
    pid = json.loads((stack.root / "state" / "stack.json").read_text())[worker]["pid"]
    found = []
    for child in descendants(pid):
        with contextlib.suppress(OSError):
            if b"multiprocessing.forkserver" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
    return found


def test_flow_runs_are_forked_warm_one_chunk_per_worker_and_survive_a_killed_forkserver(stack, tmp_path):
    with _client(stack) as client:
        assert {client.read_work_pool(pool).type for pool in ("gpu", "simian-control")} == {"simian"}
    [server] = wait_for(lambda: _forkservers(stack, "worker-gpu-0"), 60, "the render worker's forkserver")
    os.kill(server, signal.SIGKILL)  # the worker starts another on its next flow run
    out = tmp_path / "dataset"
    result, run_id = stack.run_range("start=0", "end=3", "seed=11", *TINY, f"output={out}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert len(_dataset_files(out)[0]) == 3
    children = _children(stack, run_id)
    assert [c.name for c in children] == ["chunk-0-3"], "an unset chunk size gives the one render worker one chunk"
    restarted = _forkservers(stack, "worker-gpu-0")
    assert len(restarted) == 1 and restarted != [server]
    with _client(stack) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[children[0].id])))
    messages = [log.message for log in logs]
    assert any("Beginning subflow run" in m for m in messages), messages
    assert not any("Downloading flow code" in m for m in messages), "installed flows are imported, not copied"


def test_three_workers_share_one_range(stack, tmp_path):
    extra = [stack.start_worker("gpu-second"), stack.start_worker("gpu-third")]
    try:
        out = tmp_path / "dataset"
        result, run_id = stack.run_range(
            "start=0",
            "end=12",
            "seed=5",
            "chunk_size=2",
            "width=96",
            "height=64",
            "frames=12",
            "samples=4",
            f"output={out}",
        )
        assert result.returncode == 0, result.stdout[-2000:] + stack.run_report(run_id)
        outcomes = stack.outcomes(run_id)
        assert sorted(key.index for key in outcomes) == list(range(12))
        assert len({o["worker_pid"] for o in outcomes.values()}) == 3, outcomes
        assert len(_dataset_files(out)[0]) == 12
    finally:
        for worker in extra:
            worker.terminate()
            worker.wait(timeout=60)


def test_a_range_keeps_only_a_window_of_chunk_runs_in_flight(stack, tmp_path):
    """Eight chunks: at most the window (two per render worker online, as the range run logs it) exist unfinished
    at any moment, the rest are created as those end, so a long range neither floods the API nor polls it all."""
    result, run_id = stack.run_range(
        "start=0", "end=8", "seed=6", "chunk_size=1", "dry_run=true", *TINY, f"output={tmp_path / 'dataset'}"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with _client(stack) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run_id)])))
    said = [m for log in logs if (m := re.search(r"at most (\d+) in flight \((\d+) render workers", log.message))]
    assert said, [log.message for log in logs]
    window, workers = int(said[0].group(1)), int(said[0].group(2))
    assert window == max(2, 2 * workers) < 8, (window, workers)
    children = _children(stack, run_id)
    assert len(children) == 8 and all(c.end_time is not None for c in children)
    for child in children:
        unfinished = [c for c in children if c.created <= child.created < c.end_time]
        assert len(unfinished) <= window, [(c.name, c.created, c.end_time) for c in unfinished]


def test_a_dry_run_finds_cached_and_adopted_videos_by_the_render_tasks_own_keys(stack, tmp_path):
    """The dry run's cache keys are the render task's (a farm's cache and datasets keep hitting): those of rendered
    videos are in their sidecars, those it plans are the keys the renders then record. Its counts come from the
    ledger's counts, read without the outcomes. A second dry run takes the keys from the memo the first one left."""
    out = tmp_path / "dataset"
    params = ["start=0", "end=4", "seed=4", *TINY, f"output={out}"]
    result, run_id = stack.run_range(*params)
    assert result.returncode == 0, stack.run_report(run_id)
    rendered = {s["index"]: s["cache_key"] for s in map(json.loads, map(Path.read_text, _dataset_files(out)[1]))}
    assert sorted(rendered) == [0, 1, 2, 3]
    for path in (out / "data" / "0000").glob("0000000[23]*"):
        path.unlink()  # videos 2 and 3 as if never rendered: not in the dataset, not in the cache
    assert stack.redis().delete(rendered[2], rendered[3]) == 2
    assert stack.redis().delete(rendered[1]) == 1, "the cache forgot video 1; the dataset still holds it"

    result, dry_id = stack.run_range(*params, "dry_run=true")
    assert result.returncode == 0, stack.run_report(dry_id)
    dry = {k.index: o for k, o in stack.outcomes(dry_id).items()}
    assert [dry[i]["status"] for i in range(4)] == ["cached", "cached", "planned", "planned"]
    assert [bool(dry[i].get("adopted")) for i in range(4)] == [False, True, False, False]
    assert {i: o["cache_key"] for i, o in dry.items()} == rendered, "the dry run's keys are the render task's"
    assert RunLedger(stack.redis(), dry_id).counts() == {"cached": 2, "adopted": 1, "planned": 2}
    with _client(stack) as client:
        table = next(a for a in client.read_artifacts() if a.type == "table" and (a.key or "").endswith(dry_id[:8]))
    rows = {row["what"]: row["value"] for row in json.loads(table.data)}
    assert rows["would render (dry run)"] == 2 and rows["cached (not rendered again)"] == 2
    assert rows["of which adopted from the dataset"] == 1 and rows["result"] == "complete"

    memo = [m for m in stack.redis().keys("simian:recipe-keys:*") if stack.redis().hget(m, "0") == rendered[0]]
    assert len(memo) == 1 and stack.redis().hgetall(memo[0]) == {str(i): k for i, k in rendered.items()}
    marked = "simian-render-" + "0" * 64  # a key no recipe gives: only a dry run that reads the memo reports it
    stack.redis().hset(memo[0], "3", marked)
    result, again_id = stack.run_range(*params, "dry_run=true")
    assert result.returncode == 0, stack.run_report(again_id)
    again = {k.index: o for k, o in stack.outcomes(again_id).items()}
    assert {i: (o["status"], o["cache_key"], o.get("adopted")) for i, o in again.items()} == {
        i: (o["status"], o["cache_key"] if i != 3 else marked, o.get("adopted")) for i, o in dry.items()
    }, "the second dry run took the keys the first one derived from the memo"


@pytest.mark.slow  # two minutes: the crash is detected by missed heartbeats
def test_killed_worker_mid_range_loses_nothing(stack, tmp_path):
    victim = stack.start_worker("gpu-victim")
    out = tmp_path / "dataset"
    args = stack.range_args(
        "start=0", "end=8", "seed=9", "chunk_size=4", "width=96", "height=64", "frames=24", "samples=8", f"output={out}"
    )
    watcher = subprocess.Popen(
        [*PREFECT, *args, "--watch"], env=stack.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )

    def victim_is_rendering() -> bool:
        """The victim has a flow-run process (forked by its forkserver, whose command line it shares): a chunk
        run, since the victim serves the render pool (its render service's Blender is there from the start)."""

        def forked(pid: int) -> bool:
            try:
                return b"multiprocessing.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                return False

        def parent(pid: int) -> int:
            try:
                return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                return 0

        return any(forked(pid) and forked(parent(pid)) for pid in descendants(victim.pid))

    wait_for(victim_is_rendering, 180, "the victim worker to start rendering a chunk")
    time.sleep(3)
    stack.kill_worker(victim)
    output, _ = watcher.communicate(timeout=600)
    assert watcher.returncode == 0, output[-4000:]
    videos, sidecars = _dataset_files(out)
    assert [v.name for v in videos] == [f"{i:08d}.mp4" for i in range(8)]
    assert len(sidecars) == 8
    for video in videos:
        assert len(decode_frames(video)) == 24
    assert not [p for p in out.rglob(".*")], "partial files left in the dataset"
    run_id = re.search(r"UUID:\s*([0-9a-f-]{36})", output).group(1)
    children = sorted((child.name, child.state.name) for child in _children(stack, run_id))
    crashed = [name for name, state in children if state == "Crashed"]
    assert len(crashed) == 1, children
    assert (f"{crashed[0]}-retry1", "Completed") in children, children
    with _client(stack) as client:
        table = next(a for a in client.read_artifacts() if a.key == f"simian-range-0-8-{run_id[:8]}")
    rows = {row["what"]: row["value"] for row in json.loads(table.data)}
    assert rows["rendered"] == 8 and rows["cached (not rendered again)"] == 0, (
        "videos rendered by the crashed attempt count as rendered in this run, not as cached",
        rows,
    )


def test_unreachable_redis_fails_fast_with_a_clear_error():
    began = time.monotonic()
    with pytest.raises(SimianError) as err:
        check_redis(Settings(redis_host="127.0.0.1", redis_port=1))
    assert time.monotonic() - began < 10
    assert "cannot reach Redis at redis://127.0.0.1:1/0" in str(err.value)
    assert "REDIS_HOST" in str(err.value)
