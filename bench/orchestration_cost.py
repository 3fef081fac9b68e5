"""What orchestration costs per combination, and how evenly chunks spread over workers.

1. Dry run (validate, compute cache keys, look them up in Redis; no render) of 1000 combinations
   on 4 local render workers, chunks of 50: wall seconds per combination, the per-combination time
   measured inside the chunk runs, and how many combinations each worker took.
2. A real range of 12, then its fully cached re-run: seconds per combination spent in Prefect
   (task run, cache lookup, lock), Redis and our code, measured inside the chunk run.
Prints the per-combination cost of the cached re-run last (target: under 0.050 s).

    .venv/bin/python bench/orchestration_cost.py
"""

from __future__ import annotations

import statistics
import tempfile
from collections import Counter
from pathlib import Path

from common import SETTINGS, bench_stack

DRY_COUNT = 1000
REAL_COUNT = 12


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="simian-orch-") as tmp, bench_stack(workers=4) as stack:
        out = Path(tmp) / "dataset"
        dry_wall, dry_id = stack.run_range(
            start=0, end=DRY_COUNT, seed=1, chunk_size=50, dry_run="true", output=out, **SETTINGS
        )
        dry = stack.outcomes(dry_id)
        spread = Counter(o["worker_pid"] for o in dry.values())
        inner = statistics.mean(o["seconds"] for o in dry.values())
        big_wall, _ = stack.run_range(
            start=0, end=DRY_COUNT, seed=1, chunk_size=DRY_COUNT // 4, dry_run="true", output=out, **SETTINGS
        )
        stack.run_range(start=0, end=REAL_COUNT, seed=7, chunk_size=REAL_COUNT, output=out, **SETTINGS)
        cached_wall, cached_id = stack.run_range(
            start=0, end=REAL_COUNT, seed=7, chunk_size=REAL_COUNT, output=out, **SETTINGS
        )
        cached = stack.outcomes(cached_id)
    assert len(dry) == DRY_COUNT and all(o["status"] in ("planned", "cached") for o in dry.values())
    assert all(o["status"] == "cached" for o in cached.values())
    cached_inner = statistics.mean(o["seconds"] for o in cached.values())
    print(
        f"dry run, {DRY_COUNT} combinations, 4 workers, chunks of 50: {dry_wall:.1f} s wall, "
        f"{dry_wall / DRY_COUNT * 1000:.1f} ms/combination wall, {inner * 1000:.2f} ms/combination inside chunks"
    )
    print(
        f"dry run again (keys remembered), {DRY_COUNT} combinations, 4 chunks of {DRY_COUNT // 4}: "
        f"{big_wall:.1f} s wall, {big_wall / DRY_COUNT * 1000:.1f} ms/combination wall"
    )
    print("combinations per worker: " + ", ".join(str(n) for n in sorted(spread.values(), reverse=True)))
    print(
        f"cached re-run of {REAL_COUNT}: {cached_wall:.1f} s wall ({cached_wall / REAL_COUNT:.2f} s/combination "
        f"with the fixed cost of two flow runs)"
    )
    print(
        f"cached re-run, per combination inside the chunk (Prefect task run + Redis cache/lock + our code): "
        f"{cached_inner:.3f} s"
    )


if __name__ == "__main__":
    main()
