"""`simian-chunk/render-chunk`: render combinations [start, end) on one render machine."""

from __future__ import annotations

from typing import Any

from prefect import flow

from simian.orchestration.job import RangeJob
from simian.orchestration.names import FLOW_CHUNK
from simian.orchestration.redis_store import RunLedger, check_redis
from simian.orchestration.tasks import close_renderer, configured_render_task, outcome_of
from simian.settings import load_settings


@flow(name=FLOW_CHUNK, persist_result=False)  # run names (chunk-A-B[-retryN]) come from render-range
def render_chunk(start: int, end: int, job: dict[str, Any], range_run_id: str) -> dict[str, int]:
    settings = load_settings()
    ledger = RunLedger(check_redis(settings), range_run_id)
    parsed = RangeJob(**job)
    render = configured_render_task(settings, parsed)
    counts = {"rendered": 0, "cached": 0, "failed": 0}
    try:
        for index in range(start, end):
            outcome = outcome_of(index, render(index=index, job=parsed, return_state=True))
            ledger.record(index, outcome)
            counts[outcome["status"]] += 1
    finally:
        close_renderer()
    return counts
