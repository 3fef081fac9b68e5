"""`simian/render-range`: render combinations [start, end) across every worker of pool `gpu`.

Runs on the control pool, never on a render slot: it only submits chunk runs, waits for them
(re-submitting crashed ones), writes the dataset index and the summary. Its final state is the
summary's verdict: anything not rendered or not published makes it fail.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from simian.errors import SimianError, shorten
from simian.orchestration.fanout import fan_out
from simian.orchestration.job import NESTED, RangeJob, claim_dataset, parse_job, refuse_unlicensed_range
from simian.orchestration.names import FLOW_RANGE
from simian.orchestration.publish import finalise_dataset, open_hub
from simian.orchestration.redis_store import RunLedger
from simian.orchestration.run_logs import forward_library_logs
from simian.orchestration.summary import (
    summarise,
    summarise_plan,
    write_contact_sheet_artifact,
    write_summary_artifact,
)
from simian.settings import load_settings
from simian.settings.parameters import flow_parameters


class RangeIncompleteError(SimianError):
    """Some combinations of the range were not rendered or not published."""


# Prefect's own parameter check coerces ("12" -> 12, true -> 1); parse_job checks strictly and names the parameter.
@flow(name=FLOW_RANGE, flow_run_name="render-{start}-{end}", persist_result=False, validate_parameters=False)
@flow_parameters(RangeJob, NESTED)
def render_range(**parameters: Any) -> dict[str, Any]:
    """Render combinations [start, end) into the dataset, spread over the render pool."""
    forward_library_logs()
    job = parse_job(parameters)
    run_id = str(flow_run.get_id())
    began = time.perf_counter()
    settings = load_settings()
    ledger = RunLedger.open(settings, run_id)
    refuse_unlicensed_range(job)
    claim_dataset(job)
    if not job.dry_run:
        open_hub(job, settings)
    fanned = fan_out(job, run_id, ledger, settings.simian_redis_outage_s)
    if job.dry_run:  # counts only: a dry run of a million combinations reads no million outcomes
        summary = summarise_plan(fanned.job, ledger, fanned.incomplete, time.perf_counter() - began)
        write_summary_artifact(summary, run_id)
    else:
        outcomes = ledger.outcomes()
        try:
            finalised = finalise_dataset(job, outcomes)
        except Exception as exc:  # the summary below still tells what was done, and the run fails
            finalised = {"error": shorten(f"{type(exc).__name__}: {exc}", 500)}
        summary = summarise(fanned.job, outcomes, fanned.incomplete, finalised, time.perf_counter() - began)
        write_summary_artifact(summary, run_id)
        write_contact_sheet_artifact(job, outcomes, run_id)
    if not summary.ok:
        raise RangeIncompleteError(summary.problems())
    return summary.as_dict()
