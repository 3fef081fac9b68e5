"""The Parquet layout's publishing at 10k, 100k and 1M clips, against the Hub double (in-process, with the Hub's
limits): what one range costs as the dataset grows.

At each step the repo is brought to the step's size less one range, then one range of 2,560 scenes (10 shards)
is published through the real code: a commit per chunk (`publish_shards`), then the finaliser's commit
(`finalise_texts`). The 10k step reaches its size through the real code, range by range. Larger steps are seeded
in one commit made inside the double: every shard file of a real shard built from real rows (with 24 frames of
ground truth), the same bytes under every shard's paths, and an aggregate counting them all; publishing does not
read them, so their content does not change what is measured (files, folders and the aggregate do).

For comparison, the videofolder finaliser's merge of `metadata.jsonl` (parse, merge 64 rows, dump) at the same
row size, at 1k and 10k rows.

    PYTHONPATH=$PWD .venv/bin/python bench/scale_sim.py [--steps 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from simian.dataset.hub import HubPublisher
from simian.dataset.index import dump_metadata, merge_metadata
from simian.dataset.shard_hub import finalise_batches, finalise_texts, publish_shards
from simian.dataset.shards import (
    AGGREGATE,
    DATA_SCHEMA,
    TRUTH_SCHEMA,
    ShardGrid,
    dump_json,
    empty_aggregate,
    parquet_bytes,
    shard_stats,
    updated_aggregate,
)
from simian.settings import Settings
from tests.doubles.hub import HubLimits, HubTestDouble, client_xet_disabled
from tests.synthetic import SHA, clip_row, publish_range, shard_rows

TOKEN = "hf_bench_scale_sim_token"
REPO = "simian-bench/million"
RANGE = 2560  # scenes per measured range: 10 shards of 256


def _publisher(hub: HubTestDouble) -> HubPublisher:
    publisher = HubPublisher(Settings(hf_endpoint=hub.url, hf_token=TOKEN), REPO, backoff_s=0.05)
    publisher.ensure_repo()
    return publisher


def _seed(hub: HubTestDouble, grid: ShardGrid, shards: int) -> None:
    """`shards` shards in one commit inside the double: one real shard's files under every shard's paths."""
    data, truth = shard_rows(grid, 0, grid.size, jitter=True)[0]
    stats = shard_stats(data)
    files = {
        "data": parquet_bytes(data, DATA_SCHEMA),
        "truth": parquet_bytes(truth, TRUTH_SCHEMA),
        "stats": dump_json(stats).encode(),
    }
    stored = {kind: hub._store(kind, blob, lfs=kind != "stats") for kind, blob in files.items()}
    aggregate = empty_aggregate(grid.size)
    for _ in range(shards):
        aggregate = updated_aggregate(aggregate, None, stats)
    aggregate["index_max"] = shards * grid.size - 1
    stored_aggregate = hub._store(AGGREGATE, dump_json(aggregate).encode(), lfs=False)
    with hub._lock:
        repo = hub._repos[("dataset", REPO)]
        tree = dict(repo.commits[repo.refs["main"]])
        for shard in range(shards):
            tree[grid.data(shard)] = stored["data"]
            tree[grid.truth(shard)] = stored["truth"]
            tree[grid.stats(shard)] = stored["stats"]
            tree[grid.counted(shard)] = stored["stats"]
        repo.lfs_objects |= {stored["data"].sha256, stored["truth"].sha256}
        tree[AGGREGATE] = stored_aggregate
        hub._land_commit(repo, "main", tree, f"seed {shards} shards")


def _folders(paths: list[str]) -> tuple[int, int]:
    """Folders in the tree and the most entries any one holds."""
    children: dict[str, set[str]] = {}
    for path in paths:
        parts = path.split("/")
        for depth in range(len(parts)):
            children.setdefault("/".join(parts[:depth]), set()).add(parts[depth])
    return len(children), max(len(v) for v in children.values())


def _measured_range(publisher: HubPublisher, hub: HubTestDouble, grid: ShardGrid, start: int, tmp: Path) -> dict:
    commits_before = len(hub.commits)
    end = start + RANGE
    began = time.perf_counter()
    committed_bytes = 0
    for a in range(start, end, grid.size):
        rows = shard_rows(grid, a, a + grid.size, jitter=True)
        publish_shards(publisher, "default", grid, rows, tmp, f"{a}", 100, covered=(a, a + grid.size))
    chunks_s = time.perf_counter() - began
    committed_bytes = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
    published = {f"{i:08d}.mp4": SHA for i in range(start, end)}
    requests_before = len(hub.requests)
    tracemalloc.start()
    began = time.perf_counter()
    texts_bytes = 0
    for batch in finalise_batches(grid.shards(start, end)):
        texts, confirmed = finalise_texts(publisher, "default", ["default"], grid, batch, published)
        assert len(confirmed) == len(batch) * grid.size
        publisher.commit_texts(texts, "counts and card", parent_commit=publisher.head())
        texts_bytes += sum(len(t.encode()) for t in texts.values())
    finalise_s = time.perf_counter() - began
    _, finalise_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    finaliser_requests = len(hub.requests) - requests_before
    paths = list(hub.repo_files(REPO))
    folders, widest = _folders(paths)
    aggregate = json.loads(hub.repo_files(REPO)[AGGREGATE])
    return {
        "clips": aggregate["videos"],
        "chunks_s_per_shard": round(chunks_s / (RANGE // grid.size), 2),
        "finalise_s": round(finalise_s, 2),
        "shard_bytes": committed_bytes,
        "finaliser_bytes": texts_bytes,
        "finaliser_requests": finaliser_requests,
        "finaliser_peak_mb": round(finalise_peak / 2**20, 1),
        "files": len(paths),
        "folders": folders,
        "widest_folder": widest,
        "range_commits": len(hub.commits) - commits_before,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def step(size: int, grid: ShardGrid) -> dict[str, Any]:
    limits = HubLimits(commits_per_hour=100_000)
    with (
        tempfile.TemporaryDirectory(prefix="simian-scale-") as tmp,
        client_xet_disabled(),
        HubTestDouble(Path(tmp) / "hub", token=TOKEN, limits=limits) as hub,
    ):
        publisher = _publisher(hub)
        start = (size - RANGE) // grid.size * grid.size
        if size <= 10_000:
            for a in range(0, start, RANGE):
                publish_range(publisher, grid, a, min(start, a + RANGE), Path(tmp) / "before", jitter=True)
        else:
            _seed(hub, grid, start // grid.size)
        return _measured_range(publisher, hub, grid, start, Path(tmp) / "range")


def videofolder_merge(rows: int) -> float:
    """The videofolder finaliser's work on metadata.jsonl: parse `rows` rows, merge 64 new ones, dump."""
    existing = dump_metadata([clip_row(i, jitter=True) for i in range(rows)])
    new = [clip_row(rows + i, jitter=True) for i in range(64)]
    began = time.perf_counter()
    dump_metadata(merge_metadata(existing, new))
    return round(time.perf_counter() - began, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="10000,100000,1000000")
    parser.add_argument("--videofolder", default="1000,10000")
    args = parser.parse_args()
    grid = ShardGrid()
    from matplotlib import pyplot  # noqa: F401  (imported once by a long-lived worker: not a range's cost)

    row_bytes = len(json.dumps(clip_row(0, jitter=True)))
    print(json.dumps({"row_bytes": row_bytes}), flush=True)
    for rows in [int(n) for n in args.videofolder.split(",") if n]:
        print(json.dumps({"videofolder_rows": rows, "merge_s": videofolder_merge(rows)}), flush=True)
    for size in [int(n) for n in args.steps.split(",") if n]:
        began = time.perf_counter()
        result = step(size, grid)
        print(json.dumps({"step": size, **result, "step_s": round(time.perf_counter() - began)}), flush=True)


if __name__ == "__main__":
    main()
