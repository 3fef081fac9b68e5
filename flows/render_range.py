"""`simian/render-range`: render combinations [start, end) across every worker of pool `gpu`.

Runs on the control pool, never on a render slot: it only submits chunk runs, waits for them
(re-submitting crashed ones) and writes the summary.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from prefect import flow
from prefect.runtime import flow_run

from simian.errors import SimianError
from simian.orchestration.fanout import fan_out, summarise
from simian.orchestration.job import parse_job
from simian.orchestration.names import FLOW_RANGE
from simian.orchestration.publish import finalise_dataset, open_hub
from simian.orchestration.redis_store import RunLedger
from simian.orchestration.report import write_summary_artifact
from simian.settings import load_settings


class RangeIncompleteError(SimianError):
    """Some combinations of the range failed for good."""


@flow(name=FLOW_RANGE, flow_run_name="render-{start}-{end}", persist_result=False)
def render_range(
    start: int,
    end: int,
    width: int = 320,
    height: int = 180,
    frames: int = 24,
    fps: int = 24,
    engine: Literal["cycles", "eevee", "workbench"] = "cycles",
    samples: int = 8,
    device: Literal["auto", "cpu", "cuda", "optix", "hip"] = "auto",
    seed: int | None = 0,
    combinations: str | None = None,
    max_objects: int = 3,
    movement: bool = False,
    ontop: bool = False,
    camera_follow: bool = False,
    random: bool = False,
    chunk_size: int = 4,
    output: str = "dataset",
    timeout_s: float = 900.0,
    hf_repo_id: str | None = None,
    hf_private: bool = True,
    hf_batch_size: int = 100,
    dry_run: bool = False,
) -> dict[str, Any]:
    job = parse_job(dict(locals()))
    began = time.perf_counter()
    settings = load_settings()
    ledger = RunLedger.open(settings, str(flow_run.get_id()))
    if not job.dry_run:
        open_hub(job, settings)
    fan_out(job, str(flow_run.get_id()), ledger, settings.simian_redis_outage_s)
    outcomes = ledger.outcomes()
    if not job.dry_run:
        finalise_dataset(job, outcomes)
    summary = summarise(job, outcomes, time.perf_counter() - began)
    write_summary_artifact(summary)
    if summary["failed"]:
        raise RangeIncompleteError(
            f"{summary['failed']} of {end - start} combinations failed: {summary['failure_reasons']}"
        )
    return summary
