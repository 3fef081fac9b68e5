"""The Parquet layout's test helpers: shards of many clips without rendering them (real rows of a few recipes, with
the per-frame ground truth of 24 frames, cloned onto every index with a tiny placeholder video) and the card's
loader lines run in a fresh process against the Hub double."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from simian.dataset.shard_hub import ShardRows
from simian.dataset.shards import ShardGrid, data_record, truth_record

#: What a user runs (the card's loader lines), in a fresh process pointed at the double by HF_ENDPOINT.
STREAM = """
import hashlib, json, os, sys
from datasets import Video, load_dataset
repo, count = sys.argv[1], int(sys.argv[2])
ds = load_dataset(repo, streaming=True, split="train").cast_column("video", Video(decode=False))
rows = []
for row in ds.take(count):
    video = row.pop("video")
    rows.append({**row, "video_sha256": hashlib.sha256(video["bytes"]).hexdigest(), "video_path": video["path"]})
captions = load_dataset(repo, streaming=True, split="train", columns=["file_name", "caption"])
print(json.dumps({"rows": rows, "projected": list(next(iter(captions)))}), flush=True)
os._exit(0)  # streaming readers' threads may still be open: leave without tearing them down
"""


ROOT = Path(__file__).resolve().parents[1]
#: Placeholder bytes per video: the layout's cost is in files, rows and ground truth, not in the video bytes.
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(48)
SHA = hashlib.sha256(VIDEO).hexdigest()


@lru_cache(maxsize=1)
def template_rows(count: int = 8, frames: int = 24) -> tuple[dict[str, Any], ...]:
    """Real metadata rows of `count` recipes at `frames` frames (about 13 KB each with their ground truth)."""
    from simian.combine.combiner import combination_for
    from simian.dataset.layout import DATASET, build_row
    from simian.render import RenderSettings

    settings = RenderSettings(width=320, height=192, frames=frames, samples=2)
    rows = []
    for index in range(count):
        combination = combination_for(1, index, clip=settings.clip())
        rows.append(build_row(combination, settings, file_name=DATASET.media(index, ".mp4"), sha256=SHA))
    return tuple(rows)


def _jitter(value: Any, shift: float) -> Any:
    """Every float moved by `shift`: clips' ground truth differs, so shards compress no better than real ones."""
    if isinstance(value, float):
        return value + shift
    if isinstance(value, list):
        return [_jitter(v, shift) for v in value]
    if isinstance(value, dict):
        return {k: _jitter(v, shift) for k, v in value.items()}
    return value


def clip_row(index: int, jitter: bool = False) -> dict[str, Any]:
    """A template row moved onto `index`, its per-frame ground truth jittered when asked (for real byte counts)."""
    template = template_rows()[index % len(template_rows())]
    shift = (index * 7919 % 100_003) * 1e-9 if jitter else 0.0
    file_name = f"data/{index // 1000:04d}/{index:08d}.mp4"
    stem = file_name.removesuffix(".mp4")
    return {
        **template,
        "index": index,
        "file_name": file_name,
        "scene_id": f"{index:012x}",
        "camera_file": stem + ".camera.txt",
        "passes": dict.fromkeys(template["passes"]),
        "camera": _jitter(template["camera"], shift) if jitter else template["camera"],
        "objects": _jitter(template["objects"], shift) if jitter else template["objects"],
    }


def shard_rows(grid: ShardGrid, start: int, end: int, jitter: bool = False) -> dict[int, ShardRows]:
    """Scenes [start, end) as the chunk publisher groups them."""
    shards: dict[int, ShardRows] = {}
    for index in range(start, end):
        row, shard = clip_row(index, jitter), grid.shard_of(index)
        data, truth = shards.setdefault(shard, ([], []))
        data.append(data_record(row, VIDEO, grid.truth(shard)))
        truth.append(truth_record(row, "placeholder camera file\n", {}))
    return shards


def publish_range(
    publisher: Any, grid: ShardGrid, start: int, end: int, folder: Path, chunk: int = 0, jitter: bool = False
) -> int:
    """What a range run does in the Parquet layout: a commit per chunk of whole shards (the chunk publisher), then
    the finaliser's commit; returns the files committed."""
    from simian.dataset.shard_hub import finalise_batches, finalise_texts, publish_shards

    chunk = chunk or grid.size
    bounds = [start, *range((start // chunk + 1) * chunk, end, chunk), end]
    committed = 0
    for a, b in zip(bounds, bounds[1:], strict=False):
        rows = shard_rows(grid, a, b, jitter)
        committed += publish_shards(publisher, "default", grid, rows, folder, f"{a}..{b}", 100, covered=(a, b))
    published = {f"{i:08d}.mp4": SHA for i in range(start, end)}
    confirmed: set[str] = set()
    for batch in finalise_batches(grid.shards(start, end)):
        texts, found = finalise_texts(publisher, "default", ["default"], grid, batch, published)
        publisher.commit_texts(texts, f"counts and card {start}..{end}", parent_commit=publisher.head())
        confirmed |= found
    assert confirmed == set(published), "every clip of the range is confirmed in its shard"
    return committed


def stream(hub: Any, repo: str, tmp_path: Path, count: int = 100) -> dict[str, Any]:
    """The first `count` rows of the double's repo as `datasets` streams them (video as sha256 and path) and the
    columns of a caption-only projection."""
    env = {**os.environ, **hub.client_env(), "HF_HOME": str(tmp_path / "hf-home"), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", STREAM, repo, str(count)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.splitlines()[-1]))
