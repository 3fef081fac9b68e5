"""What a chunk run does with its indices: plan them (dry run) or render them, recording each outcome."""

from __future__ import annotations

import contextvars
import logging
import os
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
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
from simian.orchestration.tasks import close_renderer, plan_videos, render_outcome, result_storage, warm_renderer
from simian.settings import load_settings

Outcomes = dict[VideoKey, dict[str, Any]]
STATUSES = ("planned", "rendered", "cached", "failed")
#: Videos a dry run plans per cache request and ledger write.
PLAN_BATCH = 256

logger = logging.getLogger(__name__)

#: Combinations in flight in a chunk: Blender renders one while the one before is verified, checksummed and
#: published (the render slot, in the renderer, lets one at a time into Blender).
IN_FLIGHT = 2


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
) -> tuple[Outcomes, float]:
    """Render in one warm process while holding one farm-wide render slot (a GPU) for the whole chunk: every
    scene of [start, end), each under its camera variants, two combinations in flight (`IN_FLIGHT`).

    Taking the slot per combination instead cost about 1.2 s per video: a slot released through its lease
    is often not free yet for the next request, which then backs off for seconds.

    Returns the outcomes and the render slot's busy fraction: Blender's render seconds over the chunk's wall
    seconds (how close the chunk came to keeping the GPU busy).
    """
    outcomes: Outcomes = {}
    on_sheet = set(islice(job.video_keys(), SHEET_TILES))
    FolderSink(job.config_dir()).clean_stale_scratch()
    settings = load_settings()
    began_chunk = time.perf_counter()

    def one(key: VideoKey) -> dict[str, Any]:
        began = time.perf_counter()
        outcome = render_outcome(render, key, job, ledger.range_run_id)
        if key in on_sheet:
            outcome = with_thumbnail(job, key, outcome)
        done: Outcomes = {}
        _record(ledger, done, key, outcome, began)
        return done[key]

    try:
        with concurrency(RENDER_LIMIT, occupy=1):
            # Connected to the worker's render service once, before two task runs ask at once.
            warm_renderer(settings, job.timeout_s if job.timeout_s is not None else settings.simian_render_timeout_s)
            with ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="combination") as pool:
                # Each task run in its own copy of this flow run's context, as Prefect's thread pool runner does.
                futures: dict[VideoKey, Future[dict[str, Any]]] = {
                    key: pool.submit(contextvars.copy_context().run, one, key) for key in job.video_keys(start, end)
                }
                try:
                    for key, future in futures.items():
                        outcomes[key] = future.result()
                except BaseException:
                    for future in futures.values():
                        future.cancel()  # what has not started does not start
                    raise
    finally:
        close_renderer()
    wall = time.perf_counter() - began_chunk
    blender = sum(float(o.get("render_seconds", 0.0)) for o in outcomes.values() if o.get("status") == "rendered")
    busy = blender / wall if wall > 0 else 0.0
    logger.info(
        "chunk %d-%d: Blender busy %.0f%% of the chunk (%.2f s of %.2f s)", start, end, 100 * busy, blender, wall
    )
    return outcomes, round(busy, 4)


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
