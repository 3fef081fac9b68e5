"""Publishing the Parquet layout: a chunk's shards from the local dataset folder, and the range's finaliser.

A chunk packs its videos into the shards of the grid they fall in; a shard the repo already holds with other
videos (a range that covered it only partly) is merged, rows keyed by file_name. The finaliser reads only the
stats of the shards its range wrote and updates the aggregate by difference: its cost is flat in the dataset's
size. No `metadata.jsonl` is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from huggingface_hub.errors import HfHubHTTPError

from simian.dataset.hub import RETRYABLE_STATUS, HubError, HubFile, HubPublisher
from simian.dataset.identity import config_folder
from simian.dataset.index import in_config
from simian.dataset.layout import row_from_sidecar
from simian.dataset.sharded_card import sharded_card_files
from simian.dataset.shards import (
    AGGREGATE,
    DATA_SCHEMA,
    TRUTH_SCHEMA,
    ShardGrid,
    data_record,
    dump_json,
    empty_aggregate,
    merged,
    parquet_bytes,
    read_records,
    shard_stats,
    truth_record,
    updated_aggregate,
)
from simian.retry import RetriesExhausted, RetryPolicy, TransientError, retry_after_of

logger = logging.getLogger(__name__)
#: Shards per finaliser commit: their counted copies, the aggregate, the card and its charts stay under the Hub's
#: 100 files per commit.
SHARDS_PER_FINALISE = 80
#: A shard two ranges write at once: read, merge and commit on the head read, again when another commit came first.
SHARED_RETRY = RetryPolicy(attempts=8, backoff_s=1.0)

#: One shard's rows: data records and truth records.
ShardRows = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def local_shard_rows(config_dir: Path, grid: ShardGrid, file_names: Iterable[str]) -> dict[int, ShardRows]:
    """The shard rows of videos in a local dataset folder (videofolder layout): each video's sidecar row, its
    bytes, camera file and pass archives, grouped by shard."""
    shards: dict[int, ShardRows] = {}
    for file_name in file_names:
        sidecar = json.loads((config_dir / file_name).with_suffix(".json").read_text(encoding="utf-8"))
        row = row_from_sidecar(sidecar)
        shard = grid.shard_of(int(row["index"]))
        passes = {name: (config_dir / path).read_bytes() for name, path in (row.get("passes") or {}).items() if path}
        camera = config_dir / row["camera_file"] if row.get("camera_file") else None
        data, truth = shards.setdefault(shard, ([], []))
        data.append(data_record(row, (config_dir / file_name).read_bytes(), grid.truth(shard)))
        truth.append(truth_record(row, camera.read_text(encoding="utf-8") if camera else None, passes))
    return shards


def _file(folder: Path, path_in_repo: str, data: bytes) -> HubFile:
    local = folder / path_in_repo
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(data)
    return HubFile(path_in_repo, local, hashlib.sha256(data).hexdigest())


def shard_files(
    publisher: HubPublisher, config: str, grid: ShardGrid, shards: dict[int, ShardRows], folder: Path
) -> list[HubFile]:
    """The files of each shard (data, truth, stats) as they must be in the repo: merged with the shard the repo
    holds when that differs (another range's videos), unchanged content giving unchanged bytes."""
    built = {s: (parquet_bytes(d, DATA_SCHEMA), d, t) for s, (d, t) in sorted(shards.items())}
    in_repo = publisher.existing_sha256([in_config(config, grid.data(s)) for s in built])
    files = []
    for shard, (data_bytes, data, truth) in built.items():
        path = in_config(config, grid.data(shard))
        if path in in_repo and in_repo[path] != hashlib.sha256(data_bytes).hexdigest():
            data = merged(read_records(publisher.read_bytes(path)), data)
            truth_path = in_config(config, grid.truth(shard))
            if publisher.existing_paths([truth_path]):
                truth = merged(read_records(publisher.read_bytes(truth_path)), truth)
            data_bytes = parquet_bytes(data, DATA_SCHEMA)
            logger.info("shard %s: merged with the %s in the repo (%d videos)", shard, path, len(data))
        files.append(_file(folder, path, data_bytes))
        files.append(_file(folder, in_config(config, grid.truth(shard)), parquet_bytes(truth, TRUTH_SCHEMA)))
        stats = dump_json(shard_stats(data)).encode()
        files.append(_file(folder, in_config(config, grid.stats(shard)), stats))
    return files


def finalise_texts(
    publisher: HubPublisher,
    config: str,
    configs: Iterable[str],
    grid: ShardGrid,
    shards: Iterable[int],
    published: dict[str, str],
) -> tuple[dict[str, str], set[str]]:
    """What the finaliser commits (the shards' counted copies, the config's aggregate, the card and its charts)
    and the videos it confirmed in the repo (their file_name and sha256 in the stats of their shard)."""
    shards = list(shards)
    wanted = [in_config(config, p) for s in shards for p in (grid.stats(s), grid.counted(s))]
    aggregates = {name: in_config(name, AGGREGATE) for name in {*configs, config}}
    present = publisher.existing_paths([*wanted, *aggregates.values()])

    def load(path: str) -> dict[str, Any] | None:
        return json.loads(publisher.read_bytes(path)) if path in present else None

    aggregate = load(aggregates[config]) or empty_aggregate(grid.size)
    texts: dict[str, str] = {}
    confirmed: set[str] = set()
    for shard in shards:
        stats = load(in_config(config, grid.stats(shard)))
        if stats is None:
            continue
        confirmed |= {name for name, sha in stats["files"].items() if published.get(name) == sha}
        aggregate = updated_aggregate(aggregate, load(in_config(config, grid.counted(shard))), stats)
        texts[in_config(config, grid.counted(shard))] = dump_json(stats)
    texts[aggregates[config]] = dump_json(aggregate)
    every = {name: (aggregate if name == config else load(path)) for name, path in aggregates.items()}
    card = sharded_card_files({n: a for n, a in every.items() if a}, publisher.repo_id)
    texts.update(card)
    return texts, confirmed


def finalise_batches(shards: Iterable[int]) -> list[list[int]]:
    """A range's shards in groups of one finaliser commit each (each leaves the aggregate consistent)."""
    shards = list(shards)
    return [shards[i : i + SHARDS_PER_FINALISE] for i in range(0, len(shards), SHARDS_PER_FINALISE)] or [[]]


def layout_problem(publisher: HubPublisher, configs: Iterable[str], layout: str, shard_size: int) -> str | None:
    """Why publishing in `layout` into this repo would mix layouts or shard grids, or None."""
    configs = list(configs)
    markers = {name: (in_config(name, "metadata.jsonl"), in_config(name, AGGREGATE)) for name in configs}
    present = publisher.existing_paths([p for pair in markers.values() for p in pair])
    for name, (metadata, aggregate) in markers.items():
        where = f"config '{name}'" + (f" ({config_folder(name)}/)" if config_folder(name) else "")
        if layout == "parquet" and metadata in present:
            return f"{where} of the repo is in the videofolder layout; publish with hf_layout videofolder"
        if layout == "videofolder" and aggregate in present:
            return f"{where} of the repo is in the parquet layout; publish with hf_layout parquet"
        if layout == "parquet" and aggregate in present:
            size = json.loads(publisher.read_bytes(aggregate)).get("shard_size")
            if size != shard_size:
                return f"{where} of the repo has shards of {size} scenes; publish with hf_shard_size {size}"
    return None


def publish_shards(
    publisher: HubPublisher,
    config: str,
    grid: ShardGrid,
    shards: dict[int, ShardRows],
    folder: Path,
    message: str,
    batch_size: int,
    before_commit: Callable[[], None] | None = None,
    covered: tuple[int, int] | None = None,
) -> int:
    """Commit the shards' files that differ from the repo's; return how many were committed.

    Shards the chunk covers whole (`covered`: its scenes [start, end)) go in commits of whole shards, at most
    `batch_size` files each. A shard it covers only partly is shared with another range, which may be merging into
    it at the same moment: it is merged with what the repo holds at a head just read and committed on top of that
    head; a concurrent commit makes it read and merge again."""
    lo, hi = covered if covered is not None else (0, -1)
    whole = {s: rows for s, rows in shards.items() if lo <= s * grid.size and (s + 1) * grid.size <= hi}
    per_commit = max(1, batch_size // 3)
    committed = 0
    ordered = sorted(whole)
    for start in range(0, len(ordered), per_commit):
        group = {s: whole[s] for s in ordered[start : start + per_commit]}
        files = shard_files(publisher, config, grid, group, folder)
        committed += publisher.publish(files, message=message, batch_size=len(files), before_commit=before_commit)
    for shard in sorted(set(shards) - set(whole)):
        committed += _publish_shared(publisher, config, grid, shard, shards[shard], folder, message, before_commit)
    return committed


def _publish_shared(
    publisher: HubPublisher,
    config: str,
    grid: ShardGrid,
    shard: int,
    rows: ShardRows,
    folder: Path,
    message: str,
    before_commit: Callable[[], None] | None,
) -> int:
    def attempt() -> int:
        head = publisher.head()
        files = shard_files(publisher, config, grid, {shard: rows}, folder)
        try:
            return publisher.publish_on(files, f"{message} (shard {shard}, merged)", head, before_commit)
        except HfHubHTTPError as exc:
            status = getattr(exc.response, "status_code", None)
            if status not in RETRYABLE_STATUS:
                raise HubError(f"committing shard {shard} to {publisher.repo_id} failed ({status})") from None
            raise TransientError(f"HTTP {status}", retry_after_of(exc.response.headers)) from exc

    try:
        return SHARED_RETRY.call(attempt, what=f"merging shard {shard} into {publisher.repo_id}", logger=logger)
    except RetriesExhausted as exc:
        raise HubError(f"{exc}: the shard kept changing or the repo kept refusing the commit") from None
