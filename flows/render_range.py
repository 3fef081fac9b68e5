"""`simian/render-range`: render combinations [start, end) across every worker of pool `gpu`.

Runs on the control pool, never on a render slot: it only submits chunk runs, waits for them
(re-submitting crashed ones) and writes the summary.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from simian.errors import SimianError
from simian.orchestration.fanout import fan_out, summarise
from simian.orchestration.job import NESTED, RangeJob, parse_job
from simian.orchestration.names import FLOW_RANGE
from simian.orchestration.publish import finalise_dataset, open_hub
from simian.orchestration.redis_store import RunLedger, check_redis
from simian.orchestration.report import write_summary_artifact
from simian.parameters import flow_parameters
from simian.settings import load_settings


class RangeIncompleteError(SimianError):
    """Some combinations of the range failed for good."""


@flow(name=FLOW_RANGE, flow_run_name="render-{start}-{end}", persist_result=False)
@flow_parameters(RangeJob, NESTED)
def render_range(**parameters: Any) -> dict[str, Any]:
    """Render combinations [start, end) into the dataset, spread over the render pool."""
    job = parse_job(parameters)
    began = time.perf_counter()
    settings = load_settings()
    ledger = RunLedger(check_redis(settings), str(flow_run.get_id()))
    if not job.dry_run:
        open_hub(job, settings)
    fan_out(job, str(flow_run.get_id()), ledger)
    outcomes = ledger.outcomes()
    if not job.dry_run:
        finalise_dataset(job, outcomes)
    summary = summarise(job, outcomes, time.perf_counter() - began)
    write_summary_artifact(summary)
    if summary["failed"]:
        raise RangeIncompleteError(
            f"{summary['failed']} of {job.end - job.start} combinations failed: {summary['failure_reasons']}"
        )
    return summary
