"""A dry run's fan-out at scale: does the range run stay flat as the range grows, and what does planning cost?

On a private embedded stack (`simian up`, SQLite, 4 render workers) it runs dry runs of seed 1 and reports, per
range: wall seconds, combinations planned, chunk runs created and the most in flight at once, the range run's
requests to the Prefect API per second and its peak RSS (counted inside the range run's own process by
`bench/probe/sitecustomize.py`, which this bench puts on the stack's PYTHONPATH).

1. cold: a dry run of `--cold` combinations that derives every recipe (nothing remembered): what planning costs.
2. remembered: the memo of cache keys is filled for [0, max(--sizes)) (the cold run's real keys, then synthetic
   keys for the rest, which no cache holds: the bench's own device to take recipe derivation out of the
   measurement, so the fan-out alone is measured at full length), then a dry run over each of `--sizes`.

A range that has not finished after `--budget-s` is cancelled there and its full time projected from its rate,
which the output says.

    .venv/bin/python bench/fanout_scale.py       # cold 10k, then remembered 10k, 100k, 1M
    .venv/bin/python bench/fanout_scale.py --cold 2000 --sizes 10000,100000 --budget-s 120
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import REPO, SETTINGS, BenchStack

TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _children(api: str, run_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:  # every chunk run so far, a page of 200 at a time
        page = httpx.post(
            f"{api}/flow_runs/filter",
            json={"flow_runs": {"parent_flow_run_id": {"any_": [run_id]}}, "limit": 200, "offset": len(found)},
        ).json()
        found += page
        if len(page) < 200:
            return found


def _cancel(api: str, run_ids: list[str]) -> None:
    for run_id in run_ids:
        httpx.post(f"{api}/flow_runs/{run_id}/set_state", json={"state": {"type": "CANCELLING"}, "force": True})


def measure(stack: BenchStack, probe: Path, count: int, budget_s: float, out: Path) -> dict[str, Any]:
    """Submit one dry run of [0, count), sample it every 2 s until it ends or the budget is spent."""
    api = stack.env["PREFECT_API_URL"]
    params = ["start=0", f"end={count}", "seed=1", "dry_run=true", f"output={out}"]
    submitted = stack.prefect(*stack.range_args(*params, *(f"{k}={v}" for k, v in SETTINGS.items())))
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", submitted.stdout)
    if match is None:
        raise RuntimeError(submitted.stdout + submitted.stderr)
    run_id, began, in_flight, state = match.group(1), time.monotonic(), 0, "SCHEDULED"
    redis = stack.redis()
    while time.monotonic() - began < budget_s:
        state = httpx.get(f"{api}/flow_runs/{run_id}").json()["state"]["type"]
        if state in TERMINAL:
            break
        children = _children(api, run_id)
        in_flight = max(in_flight, sum(c["state"]["type"] not in TERMINAL for c in children))
        time.sleep(2.0)
    wall = time.monotonic() - began
    done = int(redis.hlen(f"simian:run:{run_id}:outcomes"))
    children = _children(api, run_id)
    finished = state in TERMINAL
    if not finished:
        _cancel(api, [run_id, *(c["id"] for c in children if c["state"]["type"] not in TERMINAL)])
        time.sleep(10)  # the workers stop the cancelled runs before the next range starts
    seen = json.loads((probe / f"{run_id}.json").read_text())
    busy = max(1e-9, seen["last"] - seen["first"])
    rate = done / wall
    return {
        "combinations": count,
        "state": state if finished else f"cancelled after {budget_s:g} s",
        "planned": done,
        "wall_s": round(wall, 1),
        "per_s": round(rate, 1),
        "projected_s": round(wall if finished else count / max(rate, 1e-9), 0),
        "chunk_runs_created": len(children),
        "most_in_flight": in_flight,
        "range_run_api_requests": seen["requests"],
        "range_run_api_per_s": round(seen["requests"] / busy, 2),
        "range_run_peak_rss_mb": round(seen["peak_rss_mb"], 1),
    }


def fill_memo(stack: BenchStack, end: int) -> int:
    """Fill the one memo of cache keys the cold run left with synthetic keys up to `end`; returns how many."""
    client = stack.redis()
    (memo,) = client.keys("simian:recipe-keys:*")
    have = client.hlen(memo)
    for first in range(have, end, 20_000):
        batch = {str(i): "simian-render-" + hashlib.sha256(f"bench:{i}".encode()).hexdigest() for i in
                 range(first, min(end, first + 20_000))}  # fmt: skip
        client.hset(memo, mapping=batch)
    return max(0, end - have)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=10_000, help="combinations of the dry run that derives recipes")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="range lengths of the remembered dry runs")
    parser.add_argument("--budget-s", type=float, default=600.0, help="seconds a range may run before it is cut")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="simian-fanout-") as tmp:
        probe = Path(tmp) / "probe"
        probe.mkdir()
        stack = BenchStack(Path(tmp) / "stack", workers=4)
        stack.extra_env = {
            "PYTHONPATH": f"{REPO / 'bench' / 'probe'}:{REPO}",
            "SIMIAN_BENCH_PROBE_DIR": str(probe),
        }
        try:
            stack.up()
            out = Path(tmp) / "dataset"  # one folder: the memo's name holds the dataset folder
            rows = [{"run": "cold", **measure(stack, probe, args.cold, args.budget_s, out)}]
            print(json.dumps(rows[0]), flush=True)
            if rows[0]["state"] != "COMPLETED":
                raise RuntimeError(f"the cold dry run ended {rows[0]['state']}: see {stack.root}/state/logs")
            print(json.dumps({"synthetic_keys_added": fill_memo(stack, max(sizes))}), flush=True)
            for size in sizes:
                rows.append({"run": "remembered", **measure(stack, probe, size, args.budget_s, out)})
                print(json.dumps(rows[-1]), flush=True)
        finally:
            stack.down()
    columns = ["run", "combinations", "state", "planned", "wall_s", "per_s", "projected_s", "chunk_runs_created",
               "most_in_flight", "range_run_api_requests", "range_run_api_per_s", "range_run_peak_rss_mb"]  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    for row in rows:
        print("| " + " | ".join(f"{row[c]:,}" if isinstance(row[c], int) else str(row[c]) for c in columns) + " |")


if __name__ == "__main__":
    main()
