"""Spread a range over the render pool as chunk runs; wait, re-submit crashed chunks, report progress."""

from __future__ import annotations

import time
from dataclasses import dataclass
from uuid import UUID

from prefect import get_client
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.logging import get_run_logger

from simian.orchestration.job import RangeJob
from simian.orchestration.names import DEPLOYMENT_CHUNK
from simian.orchestration.redis_store import RunLedger

MAX_CHUNK_ATTEMPTS = 3
POLL_S = 1.0
API_PAGE = 200
TERMINAL = {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}


@dataclass
class ChunkRun:
    start: int
    end: int
    attempt: int = 0
    flow_run_id: UUID | None = None
    final: StateType | None = None


def _submit(chunk: ChunkRun, job: RangeJob, range_run_id: str) -> None:
    chunk.attempt += 1
    run: FlowRun = run_deployment(
        DEPLOYMENT_CHUNK,
        parameters={
            "start": chunk.start,
            "end": chunk.end,
            "job": job.model_dump(mode="json"),
            "range_run_id": range_run_id,
        },
        timeout=0,
        as_subflow=True,
        flow_run_name=f"chunk-{chunk.start}-{chunk.end}" + (f"-retry{chunk.attempt - 1}" if chunk.attempt > 1 else ""),
        idempotency_key=f"{range_run_id}:{chunk.start}:{chunk.attempt}",
        tags=["simian", "chunk"],
    )
    chunk.flow_run_id = run.id


def _read_runs(client: SyncPrefectClient, ids: list[UUID]) -> list[FlowRun]:
    """States of many runs in a request per 200 (the API's page size), not one request per run."""
    runs: list[FlowRun] = []
    for start in range(0, len(ids), API_PAGE):
        batch = ids[start : start + API_PAGE]
        runs += client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=batch)), limit=API_PAGE)
    return runs


def fan_out(job: RangeJob, range_run_id: str, ledger: RunLedger) -> list[ChunkRun]:
    """Run every chunk to a terminal state; crashed or failed chunks are re-submitted (cached work is kept)."""
    logger = get_run_logger()
    chunks = [ChunkRun(a, b) for a, b in job.chunks()]
    total = job.end - job.start
    for chunk in chunks:
        _submit(chunk, job, range_run_id)
    logger.info("submitted %d chunk runs of up to %d combinations to %s", len(chunks), job.chunk_size, DEPLOYMENT_CHUNK)
    progress_id = create_progress_artifact(0.0, key=None, description=f"combinations {job.start}..{job.end - 1} done")
    last_done = -1
    with get_client(sync_client=True) as client:
        while any(c.final is None for c in chunks):
            pending = {c.flow_run_id: c for c in chunks if c.final is None and c.flow_run_id is not None}
            for run in _read_runs(client, list(pending)):
                chunk, state = pending[run.id], run.state
                if state is None or state.type not in TERMINAL:
                    continue
                if state.type == StateType.COMPLETED:
                    chunk.final = state.type
                elif chunk.attempt < MAX_CHUNK_ATTEMPTS:
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
                    logger.error(
                        "chunk %d-%d ended %s after %d attempts", chunk.start, chunk.end, state.name, chunk.attempt
                    )
                    chunk.final = state.type
            done = ledger.done_count()
            if done != last_done:
                update_progress_artifact(progress_id, min(100.0, 100.0 * done / total))
                last_done = done
            if any(c.final is None for c in chunks):
                time.sleep(POLL_S)
    update_progress_artifact(progress_id, 100.0 * ledger.done_count() / total)
    return chunks
