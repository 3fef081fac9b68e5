"""`simian-chunk/render-chunk`: render combinations [start, end) on one render machine."""

from __future__ import annotations

from typing import Any

from prefect import flow

from simian.orchestration.job import RangeJob
from simian.orchestration.names import FLOW_CHUNK
from simian.orchestration.publish import publish_chunk_to_hub
from simian.orchestration.redis_store import RunLedger, check_redis
from simian.orchestration.tasks import (
    close_renderer,
    configured_render_task,
    outcome_of,
    plan_index,
    render_index,
    result_store,
)
from simian.settings import load_settings


@flow(name=FLOW_CHUNK, persist_result=False)  # run names (chunk-A-B[-retryN]) come from render-range
def render_chunk(start: int, end: int, job: dict[str, Any], range_run_id: str) -> dict[str, int]:
    settings = load_settings()
    ledger = RunLedger(check_redis(settings), range_run_id)
    parsed = RangeJob(**job)
    render = configured_render_task(settings, parsed)
    outcomes = {}
    if parsed.dry_run:
        store = result_store()
        for index in range(start, end):
            outcomes[index] = plan_index(parsed, index, store)
            ledger.record(index, outcomes[index])
        return {s: sum(o["status"] == s for o in outcomes.values()) for s in ("planned", "cached")}
    try:
        for index in range(start, end):
            outcomes[index] = outcome_of(index, render_index(render, index, parsed))
            ledger.record(index, outcomes[index])
    finally:
        close_renderer()
    if parsed.hf_repo_id is not None:
        publish_chunk_to_hub(parsed, start, end, outcomes)
    return {s: sum(o["status"] == s for o in outcomes.values()) for s in ("rendered", "cached", "failed")}
