"""`simian-chunk/render-chunk`: render combinations [start, end) on one render machine."""

from __future__ import annotations

from typing import Any

from prefect import flow

from simian.orchestration.chunk import counts, mark_published, plan_chunk, render_chunk_indices
from simian.orchestration.job import RangeJob, claim_dataset
from simian.orchestration.names import FLOW_CHUNK
from simian.orchestration.publish import publish_chunk_to_hub
from simian.orchestration.redis_store import RunLedger
from simian.orchestration.run_logs import forward_library_logs
from simian.orchestration.tasks import configured_render_task
from simian.settings import load_settings


@flow(name=FLOW_CHUNK, persist_result=False)  # run names (chunk-A-B[-retryN]) come from render-range
def render_chunk(start: int, end: int, job: dict[str, Any], range_run_id: str) -> dict[str, float]:
    """Counts of the chunk's outcomes; a render chunk adds `busy_fraction` (Blender seconds / wall seconds)."""
    forward_library_logs()
    settings = load_settings()
    ledger = RunLedger.open(settings, range_run_id)
    parsed = RangeJob(**job)
    claim_dataset(parsed)  # this machine's dataset folder: refuse before rendering if it holds another identity
    if parsed.dry_run:
        return {**plan_chunk(parsed, start, end, ledger)}
    outcomes, busy = render_chunk_indices(configured_render_task(settings, parsed), parsed, start, end, ledger)
    if parsed.hf_repo_id is not None:
        mark_published(ledger, outcomes, publish_chunk_to_hub(parsed, start, end, outcomes))
    return {**counts(outcomes), "busy_fraction": busy}
