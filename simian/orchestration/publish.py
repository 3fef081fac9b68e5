"""Publishing steps of a range: per-chunk Hub commits (rate limited) and the one finaliser."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huggingface_hub.errors import HfHubHTTPError
from prefect import task
from prefect.concurrency.sync import rate_limit
from prefect.logging import get_run_logger

from simian.combine.variants import VideoKey
from simian.dataset import (
    CARD,
    METADATA,
    build_row,
    card_files,
    dump_metadata,
    finalise_local,
    merge_metadata,
)
from simian.dataset import truth_columns as ground_truth
from simian.dataset.hub import RETRYABLE_STATUS, HubError, HubFile, HubPublisher
from simian.dataset.identity import IDENTITY_FILE, dump_identities, merged, read_identities
from simian.dataset.index import in_config, parse_metadata
from simian.dataset.shard_hub import finalise_batches, finalise_texts, layout_problem, local_shard_rows, publish_shards
from simian.dataset.shards import video_name
from simian.errors import InvalidInputError
from simian.net import redact_credentials
from simian.orchestration.job import RangeJob
from simian.orchestration.names import COMMIT_LIMIT
from simian.recipe.assets import AssetResolver
from simian.render.outputs import sha256_of
from simian.retry import RetriesExhausted, RetryPolicy, TransientError, retry_after_of
from simian.settings import Settings, load_settings

logger = logging.getLogger(__name__)
FINALISE_RETRY = RetryPolicy(attempts=8, backoff_s=2.0)


def hub_publisher(job: RangeJob, settings: Settings) -> HubPublisher | None:
    """The run's publisher, or None when it publishes locally only."""
    if job.hf_repo_id is None:
        return None
    return HubPublisher(settings, job.hf_repo_id, private=job.hf_private)


def open_hub(job: RangeJob, settings: Settings) -> HubPublisher | None:
    """Before any render: create the repo (proving the token can write) and claim the job's identity for its
    config in the repo's record, refusing a mismatch. Once per range run."""
    publisher = hub_publisher(job, settings)
    if publisher is None:
        return None
    publisher.ensure_repo()
    configs = set(read_identities(publisher.read_text(IDENTITY_FILE))) | {job.config}
    problem = layout_problem(publisher, sorted(configs), job.hf_layout, job.hf_shard_size)
    if problem is not None:
        raise InvalidInputError(f"Hub dataset {publisher.repo_id}: {problem}")

    def record() -> dict[str, str] | None:
        recorded = read_identities(publisher.read_text(IDENTITY_FILE))
        updated = merged(f"Hub dataset {publisher.repo_id}", recorded, job.config, job.identity())
        return None if updated is None else {IDENTITY_FILE: dump_identities(updated)}

    _commit_on_head(publisher, IDENTITY_FILE, record, f"Record config {job.config}")
    return publisher


def hub_path(job: RangeJob, file_name: str) -> str:
    """Where a video of the job's config goes in the repo."""
    return in_config(job.config, file_name)


@task(name="publish-to-hub", task_run_name="publish-{start}-{end}")
def publish_chunk_to_hub(
    job: RangeJob, start: int, end: int, outcomes: dict[VideoKey, dict[str, Any]]
) -> list[VideoKey]:
    """Commit the chunk's videos with their ground-truth files (skipping those already there), a batch per commit,
    at the farm's commit rate; in the Parquet layout, the chunk's shards built from the local folder. Returns the
    videos that are now in the repo."""
    run_logger = get_run_logger()
    publisher = hub_publisher(job, load_settings())  # the range run created the repo already
    assert publisher is not None
    done = {i: o for i, o in outcomes.items() if o["status"] in ("rendered", "cached")}
    if job.hf_layout == "parquet":
        grid = job.shard_grid()
        with tempfile.TemporaryDirectory(prefix="simian-shards-") as folder:
            shards = local_shard_rows(job.config_dir(), grid, [o["file_name"] for o in done.values()])
            committed = publish_shards(
                publisher,
                job.config,
                grid,
                shards,
                Path(folder),
                message=f"Add shards {sorted(shards)} (videos {start}..{end - 1})",
                batch_size=job.hf_batch_size,
                before_commit=lambda: rate_limit(COMMIT_LIMIT),
                covered=(start, end),
            )
        run_logger.info(
            "chunk %d-%d: %d shard files committed to %s (%d shards)",
            start,
            end,
            committed,
            job.hf_repo_id,
            len(shards),
        )
        return sorted(done)
    files = [
        HubFile(hub_path(job, o["file_name"]), job.config_dir() / o["file_name"], o["sha256"]) for o in done.values()
    ]
    for o in done.values():
        for path in ground_truth.files(job.render, o["file_name"]).values():
            local = job.config_dir() / path
            files.append(HubFile(hub_path(job, path), local, sha256_of(local)))
    committed = publisher.publish(
        files,
        message=f"Add videos {start}..{end - 1}",
        batch_size=job.hf_batch_size,
        before_commit=lambda: rate_limit(COMMIT_LIMIT),
    )
    run_logger.info(
        "chunk %d-%d: %d new files committed to %s in %d commits",
        start,
        end,
        committed,
        job.hf_repo_id,
        publisher.commits_made,
    )
    return sorted(done)


def rows_from_outcomes(job: RangeJob, outcomes: dict[VideoKey, dict[str, Any]]) -> dict[VideoKey, dict[str, Any]]:
    """Metadata rows from the recipe source and the outcomes: the control host needs none of the video files (the
    licences of Objaverse objects come from the dataset's annotations, through the guarded client)."""
    resolver = AssetResolver(load_settings())
    rows = {}
    for key, outcome in sorted(outcomes.items()):
        if outcome.get("status") in ("rendered", "cached"):
            combination = job.combination(key)
            rows[key] = build_row(
                combination,
                job.render,
                file_name=outcome["file_name"],
                sha256=outcome["sha256"],
                licenses=resolver.licenses(combination),
            )
    return rows


def _commit_on_head(
    publisher: HubPublisher, what: str, texts_on: Callable[[], dict[str, str] | None], message: str
) -> None:
    """Read the repo, build text files from what it holds and commit them on top of the head that was read;
    a concurrent writer (412/409) or a transient error makes it read again and retry."""

    def attempt() -> None:
        head = publisher.head()
        texts = texts_on()
        if texts is None:
            return
        rate_limit(COMMIT_LIMIT)
        try:
            publisher.commit_texts(texts, message, parent_commit=head)
        except HfHubHTTPError as exc:
            status = getattr(exc.response, "status_code", None)
            if status not in RETRYABLE_STATUS:
                detail = redact_credentials(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                raise HubError(f"writing {what} to {publisher.repo_id} failed ({status}): {detail}") from None
            raise TransientError(f"HTTP {status}", retry_after_of(exc.response.headers)) from exc

    try:
        FINALISE_RETRY.call(attempt, what=f"writing {what} to {publisher.repo_id}", logger=logger)
    except RetriesExhausted as exc:
        raise HubError(f"{exc}: the repo kept changing or refusing the commit") from None


def _finalise_hub(publisher: HubPublisher, job: RangeJob, rows: list[dict[str, Any]]) -> None:
    """Merge into the config's metadata and the card in one commit."""
    metadata_path = in_config(job.config, METADATA)

    def texts() -> dict[str, str]:
        configs = {
            name: list(parse_metadata(publisher.read_text(in_config(name, METADATA))).values())
            for name in read_identities(publisher.read_text(IDENTITY_FILE))
            if name != job.config
        }
        configs[job.config] = merge_metadata(publisher.read_text(metadata_path), rows)
        return {metadata_path: dump_metadata(configs[job.config]), **card_files(configs, publisher.repo_id)}

    _commit_on_head(publisher, metadata_path, texts, f"Update metadata and card ({len(rows)} videos of this run)")


def _finalise_shards(publisher: HubPublisher, job: RangeJob, outcomes: dict[VideoKey, dict[str, Any]]) -> list[Any]:
    """The Parquet layout's finaliser: the range's shards' counts into the aggregate, and the card, in a commit per
    80 shards on the head it read (each leaves the counts consistent); returns the videos not confirmed."""
    done = {k: o for k, o in outcomes.items() if o.get("status") in ("rendered", "cached")}
    published = {video_name(o["file_name"]): o["sha256"] for o in done.values()}
    confirmed: set[str] = set()
    grid = job.shard_grid()
    for batch in finalise_batches(grid.shards(job.start, job.end)):

        def texts(batch: list[int] = batch) -> dict[str, str]:
            configs = read_identities(publisher.read_text(IDENTITY_FILE))
            built, found = finalise_texts(publisher, job.config, configs, grid, batch, published)
            confirmed.update(found)
            return built

        _commit_on_head(
            publisher, "the shard counts and card", texts, "Update the counts and card of this run's shards"
        )
    return sorted(k for k, o in done.items() if video_name(o["file_name"]) not in confirmed)


@task(name="finalise-dataset")
def finalise_dataset(job: RangeJob, outcomes: dict[VideoKey, dict[str, Any]]) -> dict[str, Any]:
    """Write the index files of the local folder and of the Hub repo. Hub rows are written only for videos
    confirmed in the repo (path and sha256); the indices of the others are returned as not published."""
    run_logger = get_run_logger()
    result: dict[str, Any] = {}
    root = job.output_dir()
    if (job.config_dir() / "data").is_dir():
        result["local_rows"] = finalise_local(root)
        run_logger.info("wrote %s and %s in %s (%d videos)", METADATA, CARD, root, result["local_rows"])
    publisher = hub_publisher(job, load_settings())
    if publisher is not None and job.hf_layout == "parquet":
        result["hub_missing"] = _finalise_shards(publisher, job, outcomes)
        if result["hub_missing"]:
            run_logger.error(
                "%d videos are not in the shards of %s with their checksum: %s",
                len(result["hub_missing"]),
                job.hf_repo_id,
                [key.label() for key in result["hub_missing"][:20]],
            )
        result["hub_repo"] = job.hf_repo_id
        result["hub_rows"] = sum(o.get("status") in ("rendered", "cached") for o in outcomes.values()) - len(
            result["hub_missing"]
        )
        run_logger.info("updated the shard counts and %s in %s", CARD, job.hf_repo_id)
    elif publisher is not None:
        rows = rows_from_outcomes(job, outcomes)
        in_repo = publisher.existing_sha256([hub_path(job, row["file_name"]) for row in rows.values()])
        beside = {
            i: [hub_path(job, p) for p in ground_truth.files(job.render, row["file_name"]).values()]
            for i, row in rows.items()
        }
        present = publisher.existing_paths([p for paths in beside.values() for p in paths])
        confirmed = {
            i: row
            for i, row in rows.items()
            if in_repo.get(hub_path(job, row["file_name"])) == row["sha256"] and set(beside[i]) <= present
        }
        result["hub_missing"] = sorted(set(rows) - set(confirmed))
        if result["hub_missing"]:
            run_logger.error(
                "%d videos are not in %s with their checksum and ground-truth files; their rows are left out: %s",
                len(result["hub_missing"]),
                job.hf_repo_id,
                [key.label() for key in result["hub_missing"][:20]],
            )
        _finalise_hub(publisher, job, list(confirmed.values()))
        result["hub_repo"] = job.hf_repo_id
        result["hub_rows"] = len(confirmed)
        run_logger.info("updated %s and %s in %s", METADATA, CARD, job.hf_repo_id)
    return result
