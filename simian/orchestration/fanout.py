"""Spread a range over the render pool as chunk runs; wait, re-submit crashed chunks, report progress.

Only a window of chunk runs is in flight at once (`IN_FLIGHT_PER_WORKER` per live render worker, at least
`MIN_IN_FLIGHT`): more are submitted as those finish, and only those are polled, so a range of a million
combinations neither creates 15,625 chunk runs up front nor reads 79 API pages a second.

A chunk that failed because Redis was unreachable is re-submitted after a pause without using
one of its attempts, for as long as the configured outage window; a chunk that crashed has its
task runs that were still running marked Crashed, so no task run shows Running forever.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast
from uuid import UUID

from prefect import get_client
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
    TaskRunFilterState,
    TaskRunFilterStateType,
    WorkerFilter,
    WorkerFilterStatus,
)
from prefect.client.schemas.objects import FlowRun, State, StateType, WorkerStatus
from prefect.deployments import run_deployment
from prefect.logging import get_run_logger
from prefect.states import Crashed

from simian.orchestration.job import RangeJob
from simian.orchestration.names import DEPLOYMENT_CHUNK, RENDER_POOL
from simian.orchestration.progress import progress_text
from simian.orchestration.redis_store import RunLedger

MAX_CHUNK_ATTEMPTS = 3
POLL_S = 0.5
#: Chunk runs kept in flight per live render worker: one rendering, one queued so the worker never waits.
IN_FLIGHT_PER_WORKER = 2
MIN_IN_FLIGHT = 2
#: How often the live worker count (the window's size) is read again.
WORKERS_EVERY_S = 10.0
API_PAGE = 200
TERMINAL = {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}
UNFINISHED_TASK = [StateType.RUNNING, StateType.PENDING, StateType.SCHEDULED]
# How a chunk run's failure message reads when it could not reach Redis (Prefect writes "Type: message").
REDIS_UNREACHABLE = (
    "RedisUnavailableError",
    "redis.exceptions.ConnectionError",
    "redis.exceptions.TimeoutError",
    "LockRedisUnavailableError",
)


@dataclass
class ChunkRun:
    start: int
    end: int
    attempt: int = 0
    flow_run_id: UUID | None = None
    final: StateType | None = None
    redis_waits: int = 0  # re-submissions after Redis was unreachable (not counted as attempts)
    redis_down_since: float | None = None
    resubmit_at: float | None = None


def redis_was_unreachable(state: State) -> bool:
    return state.type == StateType.FAILED and any(marker in (state.message or "") for marker in REDIS_UNREACHABLE)


def crash_unfinished_task_runs(client: SyncPrefectClient, flow_run_id: UUID, why: str) -> int:
    """A chunk run that died cannot finish its task runs: mark those still Running/Pending as Crashed."""
    task_runs = client.read_task_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
        task_run_filter=TaskRunFilter(state=TaskRunFilterState(type=TaskRunFilterStateType(any_=UNFINISHED_TASK))),
    )
    for task_run in task_runs:
        client.set_task_run_state(task_run.id, Crashed(message=why), force=True)
    return len(task_runs)


def render_workers_online(client: SyncPrefectClient) -> int:
    """How many render workers are polling the render pool now (what an unset chunk size is split over)."""
    online = WorkerFilter(status=WorkerFilterStatus(any_=[WorkerStatus.ONLINE.value]))
    return len(client.read_workers_for_work_pool(RENDER_POOL, worker_filter=online))


def _submit(chunk: ChunkRun, job: RangeJob, range_run_id: str, counted: bool = True) -> None:
    chunk.attempt += counted
    chunk.resubmit_at = None
    run = cast(
        FlowRun,
        run_deployment(
            DEPLOYMENT_CHUNK,
            parameters={
                "start": chunk.start,
                "end": chunk.end,
                "job": job.model_dump(mode="json"),
                "range_run_id": range_run_id,
            },
            timeout=0,
            as_subflow=True,
            flow_run_name=f"chunk-{chunk.start}-{chunk.end}"
            + (f"-retry{chunk.attempt - 1}" if chunk.attempt > 1 else "")
            + (f"-wait{chunk.redis_waits}" if chunk.redis_waits else ""),
            idempotency_key=f"{range_run_id}:{chunk.start}:{chunk.attempt}:{chunk.redis_waits}",
            tags=["simian", "chunk"],
        ),
    )
    chunk.flow_run_id = run.id


def _read_runs(client: SyncPrefectClient, ids: list[UUID]) -> list[FlowRun]:
    """States of many runs in a request per 200 (the API's page size), not one request per run."""
    runs: list[FlowRun] = []
    for start in range(0, len(ids), API_PAGE):
        batch = ids[start : start + API_PAGE]
        runs += client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=batch)), limit=API_PAGE)
    return runs


def _settle(
    client: SyncPrefectClient, chunk: ChunkRun, state: State, job: RangeJob, range_run_id: str, outage_s: float
) -> None:
    """Decide what a chunk run's terminal state means: done, re-submit now, re-submit later, or give up."""
    logger = get_run_logger()
    if state.type == StateType.COMPLETED:
        chunk.final = state.type
        return
    if state.type == StateType.CRASHED and chunk.flow_run_id is not None:
        crashed = crash_unfinished_task_runs(client, chunk.flow_run_id, f"chunk run {state.name}: {state.message}")
        if crashed:
            logger.warning("chunk %d-%d: marked %d unfinished task runs Crashed", chunk.start, chunk.end, crashed)
    now = time.monotonic()
    if redis_was_unreachable(state):
        chunk.redis_down_since = chunk.redis_down_since or now
        if now - chunk.redis_down_since < outage_s:
            chunk.redis_waits += 1
            pause = min(30.0, 2.0**chunk.redis_waits)
            chunk.resubmit_at = now + pause
            logger.warning(
                "chunk %d-%d could not reach Redis (%s); re-submitting in %.0f s (outage window %g s)",
                chunk.start,
                chunk.end,
                state.message,
                pause,
                outage_s,
            )
            return
    else:
        chunk.redis_down_since = None
    if chunk.attempt < MAX_CHUNK_ATTEMPTS:
        logger.warning(
            "chunk %d-%d ended %s (%s); re-submitting (attempt %d of %d)",
            chunk.start,
            chunk.end,
            state.name,
            state.message or "no message",
            chunk.attempt + 1,
            MAX_CHUNK_ATTEMPTS,
        )
        _submit(chunk, job, range_run_id)
    else:
        logger.error("chunk %d-%d ended %s after %d attempts", chunk.start, chunk.end, state.name, chunk.attempt)
        chunk.final = state.type


def in_flight_window(render_workers: int) -> int:
    """How many chunk runs a range keeps submitted and unfinished at once."""
    return max(MIN_IN_FLIGHT, IN_FLIGHT_PER_WORKER * render_workers)


@dataclass
class FanOut:
    """What a fan-out leaves for the summary: the job as it was sized and the chunks that did not complete (a
    chunk not named here completed), so nothing in it grows with the range's length."""

    job: RangeJob
    chunk_runs: int
    incomplete: list[ChunkRun]


def fan_out(job: RangeJob, range_run_id: str, ledger: RunLedger, outage_s: float = 300.0) -> FanOut:
    """Run every chunk to a terminal state; crashed or failed chunks are re-submitted (cached work is kept).

    Chunks are made as the window has room for them and forgotten once completed, so the range run's memory and
    its requests per poll do not depend on the range's length. Redis may be away for up to `outage_s`: progress
    pauses and chunks that failed for it are re-submitted.
    """
    logger = get_run_logger()
    with get_client(sync_client=True) as client:
        workers = render_workers_online(client)
        job = job.sized_for(workers)
        waiting = (ChunkRun(a, b) for a, b in job.chunks())
        upcoming = next(waiting, None)
        total = job.video_count()
        active: list[ChunkRun] = []
        incomplete: list[ChunkRun] = []
        window = in_flight_window(workers)
        logger.info(
            "%d chunk runs of up to %d combinations for %s, at most %d in flight (%d render workers online)",
            job.chunk_count(),
            job.chunk_size,
            DEPLOYMENT_CHUNK,
            window,
            workers,
        )
        span = f"combinations {job.start}..{job.end - 1}"
        progress_id = cast(UUID, create_progress_artifact(0.0, key=None, description=f"{span}: 0 of {total} done"))
        last_done = -1
        began = workers_read = time.monotonic()
        while upcoming is not None or active:
            if time.monotonic() - workers_read >= WORKERS_EVERY_S:
                window, workers_read = in_flight_window(render_workers_online(client)), time.monotonic()
            while upcoming is not None and len(active) < window:
                _submit(upcoming, job, range_run_id)
                active.append(upcoming)
                upcoming = next(waiting, None)
            for chunk in active:
                if chunk.resubmit_at is not None and time.monotonic() >= chunk.resubmit_at:
                    _submit(chunk, job, range_run_id, counted=False)
            pending = {c.flow_run_id: c for c in active if c.flow_run_id is not None and c.resubmit_at is None}
            for run in _read_runs(client, list(pending)):
                if run.state is not None and run.state.type in TERMINAL:
                    _settle(client, pending[run.id], run.state, job, range_run_id, outage_s)
            incomplete += [c for c in active if c.final not in (None, StateType.COMPLETED)]
            active = [c for c in active if c.final is None]
            done = ledger.done_count()
            if done is not None and done != last_done:
                text = f"{span}: {progress_text(done, total, time.monotonic() - began)}"
                update_progress_artifact(progress_id, min(100.0, 100.0 * done / total), description=text)
                last_done = done
            if upcoming is not None or active:
                time.sleep(POLL_S)
    done = sum(ledger.counts().get(s, 0) for s in ("planned", "rendered", "cached", "failed"))
    text = f"{span}: {progress_text(done, total, time.monotonic() - began)}"
    update_progress_artifact(progress_id, 100.0 * done / total, description=text)
    return FanOut(job, job.chunk_count(), incomplete)
