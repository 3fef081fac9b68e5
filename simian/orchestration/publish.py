"""Publishing steps of a range: per-chunk Hub commits (rate limited) and the one finaliser."""

from __future__ import annotations

import logging
from typing import Any

from huggingface_hub.errors import HfHubHTTPError
from prefect import task
from prefect.concurrency.sync import rate_limit
from prefect.logging import get_run_logger

from simian.dataset import CARD, METADATA, build_row, dataset_card, dump_metadata, finalise_local, merge_metadata
from simian.hub import RETRYABLE_STATUS, HubError, HubFile, HubPublisher
from simian.net import redact_credentials
from simian.orchestration.job import RangeJob
from simian.orchestration.names import COMMIT_LIMIT
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
    """The publisher, after creating the repo and so proving the token can write: once, before any render."""
    publisher = hub_publisher(job, settings)
    if publisher is not None:
        publisher.ensure_repo()
    return publisher


@task(name="publish-to-hub", task_run_name="publish-{start}-{end}")
def publish_chunk_to_hub(job: RangeJob, start: int, end: int, outcomes: dict[int, dict[str, Any]]) -> int:
    """Commit the chunk's videos (skipping those already there), a batch per commit, at the farm's commit rate."""
    logger = get_run_logger()
    publisher = hub_publisher(job, load_settings())  # the range run created the repo already
    assert publisher is not None
    files = [
        HubFile(o["file_name"], job.output_dir() / o["file_name"], o["sha256"])
        for o in outcomes.values()
        if o["status"] in ("rendered", "cached")
    ]
    committed = publisher.publish(
        files,
        message=f"Add videos {start}..{end - 1}",
        batch_size=job.hf_batch_size,
        before_commit=lambda: rate_limit(COMMIT_LIMIT),
    )
    logger.info(
        "chunk %d-%d: %d new files committed to %s in %d commits",
        start,
        end,
        committed,
        job.hf_repo_id,
        publisher.commits_made,
    )
    return committed


def rows_from_outcomes(job: RangeJob, outcomes: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Metadata rows from the recipe source and the outcomes: the control host needs none of the video files."""
    source = job.source()
    return [
        build_row(source.get(index), job.render, file_name=outcome["file_name"], sha256=outcome["sha256"])
        for index, outcome in sorted(outcomes.items())
        if outcome.get("status") in ("rendered", "cached")
    ]


def _finalise_hub(publisher: HubPublisher, rows: list[dict[str, Any]]) -> None:
    """Merge into the repo's metadata and card in one commit; a concurrent finaliser makes us re-read."""

    def attempt() -> None:
        head = publisher.head()
        merged = merge_metadata(publisher.read_text(METADATA), rows)
        texts = {METADATA: dump_metadata(merged), CARD: dataset_card(merged, publisher.repo_id)}
        rate_limit(COMMIT_LIMIT)
        try:
            publisher.commit_texts(texts, f"Update metadata and card ({len(merged)} videos)", parent_commit=head)
        except HfHubHTTPError as exc:
            status = getattr(exc.response, "status_code", None)
            if status not in RETRYABLE_STATUS:
                detail = redact_credentials(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                raise HubError(f"writing {METADATA} to {publisher.repo_id} failed ({status}): {detail}") from None
            raise TransientError(f"HTTP {status}", retry_after_of(exc.response.headers)) from exc

    try:
        FINALISE_RETRY.call(attempt, what=f"writing {METADATA} to {publisher.repo_id}", logger=logger)
    except RetriesExhausted as exc:
        raise HubError(f"{exc}: the repo kept changing or refusing the commit") from None


@task(name="finalise-dataset")
def finalise_dataset(job: RangeJob, outcomes: dict[int, dict[str, Any]]) -> dict[str, Any]:
    logger = get_run_logger()
    result: dict[str, Any] = {}
    root = job.output_dir()
    if (root / "data").is_dir():
        result["local_rows"] = finalise_local(root)
        logger.info("wrote %s and %s in %s (%d videos)", METADATA, CARD, root, result["local_rows"])
    publisher = hub_publisher(job, load_settings())
    if publisher is not None:
        rows = rows_from_outcomes(job, outcomes)
        _finalise_hub(publisher, rows)
        result["hub_repo"] = job.hf_repo_id
        logger.info("updated %s and %s in %s", METADATA, CARD, job.hf_repo_id)
    return result
