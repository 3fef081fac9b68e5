"""A cached re-run of the user's 10-combination range: the `simian` worker type against Prefect's process worker.

One embedded stack (`simian up`: local Redis, Prefect server on SQLite, one control and one render
worker). The range 0..10 is rendered once, then re-run fully cached, ROUNDS times each way:
  A. the product's workers: pools of type `simian`, flow runs forked from a warm forkserver;
  B. the baseline in the same stack: the same pools served by `prefect worker start --type process`
     (a fresh `python -m prefect.engine` per flow run, the deployment folder copied per run).
Reports, from the Prefect API's timestamps, the median seconds from the range run's creation to its
end, the chunk run's start latency and its overhead (start to first task, last task to end), and
the ratio B / A. Targets: A <= 5 s; chunk overhead <= 0.5 s.

    .venv/bin/python bench/warm_farm.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import time
from datetime import datetime
from pathlib import Path

import httpx
from common import BenchStack, bench_stack

from simian.operations.stack import Registry
from simian.orchestration.names import CONTROL_POOL, RENDER_POOL

#: One chunk of 10 both ways, set explicitly: a stopped worker stays ONLINE in Prefect until its heartbeat expires,
#: so an unset chunk size would split the baseline's range over the workers just replaced.
RANGE = {"start": "0", "end": "10", "seed": "7", "chunk_size": "10"}
#: The demo's clip, small: the renders are cached, only the orchestration is measured.
SETTINGS = {"width": "160", "height": "96", "frames": "24", "samples": "4"}


def _at(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def timings(stack: BenchStack, run_id: str) -> dict[str, float]:
    """Seconds of one range run (the stack's timeline) and its chunk runs' overhead around their task runs."""
    api = stack.env["PREFECT_API_URL"]
    marks = stack.timeline(run_id)
    children = {"flow_runs": {"parent_flow_run_id": {"any_": [run_id]}}}
    chunks = httpx.post(f"{api}/flow_runs/filter", json=children).json()
    tasks = httpx.post(f"{api}/task_runs/filter", json={"flow_runs": {"id": {"any_": [c["id"] for c in chunks]}}})
    renders = [t for t in tasks.json() if t["start_time"] and t["end_time"] and t["name"].startswith("render-")]
    overhead = []
    for chunk in chunks:
        own = [t for t in renders if t["flow_run_id"] == chunk["id"]]
        if own:
            first = min(_at(t["start_time"]) for t in own)
            last = max(_at(t["end_time"]) for t in own)
            overhead.append(first - _at(chunk["start_time"]) + _at(chunk["end_time"]) - last)
    return {
        "submission to end": marks["range run ended"],
        "range run start latency": marks["range run started"],
        "chunk run start latency": marks["first chunk run started"] - marks["first chunk run created"],
        "chunk run overhead": statistics.mean(overhead),
        "chunk runs": len(chunks),
    }


def rounds(stack: BenchStack, out: Path, count: int) -> dict[str, float]:
    measured = []
    for _ in range(count):
        _, run_id = stack.run_range(**RANGE, output=out, **SETTINGS)
        measured.append(timings(stack, run_id))
    return {key: statistics.median(m[key] for m in measured) for key in measured[0]}


def _online(api: str, pool: str, name: str) -> bool:
    workers = httpx.post(f"{api}/work_pools/{pool}/workers/filter", json={}).json()
    return any(w["name"] == name and w["status"] == "ONLINE" for w in workers)


def process_workers(stack: BenchStack) -> list[subprocess.Popen[bytes]]:
    """Stop the stack's workers; start Prefect's process workers on the same pools (the baseline)."""
    registry = Registry(stack.root / "state")
    entries = registry.load()
    for name, entry in list(entries.items()):
        if name.startswith("worker"):
            os.killpg(entry.pid, signal.SIGTERM)
            del entries[name]
    registry.save(entries)
    api = stack.env["PREFECT_API_URL"]
    started = []
    for pool, limit in ((CONTROL_POOL, []), (RENDER_POOL, ["--limit", "1"])):
        name = f"baseline-{pool}"
        started.append(stack.start_worker(name, pool, "--type", "process", *limit))
        deadline = time.monotonic() + 120
        while not _online(api, pool, name):
            if time.monotonic() > deadline:
                raise RuntimeError(f"baseline worker {name} did not come online")
            time.sleep(0.5)
    return started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    count = parser.parse_args().rounds
    with bench_stack() as stack:
        out = stack.root / "dataset"
        first, _ = stack.run_range(**RANGE, output=out, **SETTINGS)
        warm = rounds(stack, out, count)
        baseline_workers = process_workers(stack)
        try:
            cold = rounds(stack, out, count)
        finally:
            for process in baseline_workers:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
    print(f"first run of {RANGE['end']} (renders): {first:.1f} s wall, CLI included")
    print(f"median of {count} cached re-runs | simian worker | process worker | ratio")
    for key in warm:
        ratio = cold[key] / warm[key] if warm[key] else float("nan")
        print(f"{key} | {warm[key]:.2f} | {cold[key]:.2f} | {ratio:.2f}")


if __name__ == "__main__":
    main()
