"""What a chunk run does with its indices: plan them (dry run) or render them, recording each outcome."""

from __future__ import annotations

import os
import time
from collections import Counter
from itertools import islice
from typing import Any

from prefect import Task
from prefect.concurrency.sync import concurrency

from simian.combine.variants import VideoKey
from simian.dataset import FolderSink
from simian.orchestration.contact_sheet import SHEET_TILES, thumbnail_of
from simian.orchestration.job import RangeJob
from simian.orchestration.names import RENDER_LIMIT
from simian.orchestration.redis_store import RunLedger
from simian.orchestration.tasks import close_renderer, plan_videos, render_outcome, result_storage

Outcomes = dict[VideoKey, dict[str, Any]]
STATUSES = ("planned", "rendered", "cached", "failed")
#: Videos a dry run plans per cache request and ledger write.
PLAN_BATCH = 256


def _record(ledger: RunLedger, outcomes: Outcomes, key: VideoKey, outcome: dict[str, Any], began: float) -> None:
    outcomes[key] = {**outcome, "seconds": round(time.perf_counter() - began, 4), "worker_pid": os.getppid()}
    ledger.record(key, outcomes[key])


def plan_chunk(job: RangeJob, start: int, end: int, ledger: RunLedger) -> dict[str, int]:
    """Plan [start, end) in batches of `PLAN_BATCH`: one cache request and one ledger write per batch, not per video
    (a dry run of a million combinations is bound by deriving recipes, not by round trips). Returns the counts."""
    storage = result_storage()
    videos = job.video_keys(start, end)
    tally: Counter[str] = Counter()
    while batch := list(islice(videos, PLAN_BATCH)):
        began = time.perf_counter()
        planned = plan_videos(job, batch, storage)
        each = round((time.perf_counter() - began) / len(batch), 6)
        ledger.record_many({k: {**o, "seconds": each, "worker_pid": os.getppid()} for k, o in planned.items()})
        tally.update(o["status"] for o in planned.values())
    return {s: tally[s] for s in STATUSES}


def render_chunk_indices(
    render: Task[..., dict[str, Any]], job: RangeJob, start: int, end: int, ledger: RunLedger
) -> Outcomes:
    """Render in one warm process while holding one farm-wide render slot (a GPU) for the whole chunk: every
    scene of [start, end), each under its camera variants.

    Taking the slot per combination instead cost about 1.2 s per video: a slot released through its lease
    is often not free yet for the next request, which then backs off for seconds.
    """
    outcomes: Outcomes = {}
    on_sheet = set(islice(job.video_keys(), SHEET_TILES))
    FolderSink(job.config_dir()).clean_stale_scratch()
    try:
        with concurrency(RENDER_LIMIT, occupy=1):
            for key in job.video_keys(start, end):
                began = time.perf_counter()
                outcome = render_outcome(render, key, job, ledger.range_run_id)
                if key in on_sheet:
                    outcome = with_thumbnail(job, key, outcome)
                _record(ledger, outcomes, key, outcome, began)
    finally:
        close_renderer()
    return outcomes


def with_thumbnail(job: RangeJob, key: VideoKey, outcome: dict[str, Any]) -> dict[str, Any]:
    """The outcome of a video in the dataset (rendered, cached or adopted) with a small JPEG of its first frame,
    base64, for the range's contact sheet; unchanged when the frame cannot be read (never a failed video)."""
    if outcome.get("status") not in ("rendered", "cached") or "file_name" not in outcome:
        return outcome
    encoded = thumbnail_of(job.config_dir() / outcome["file_name"], f"combination {key.label()}")
    return outcome if encoded is None else {**outcome, "thumbnail": encoded}


def mark_published(ledger: RunLedger, outcomes: Outcomes, published: list[VideoKey]) -> None:
    """Record which videos of the chunk are in the Hub repo: the range's summary counts on it."""
    for key in published:
        outcomes[key] = {**outcomes[key], "published": True}
        ledger.record(key, outcomes[key])


def counts(outcomes: Outcomes) -> dict[str, int]:
    return {s: sum(o["status"] == s for o in outcomes.values()) for s in STATUSES}
