"""The range run's final table artifact: what was rendered, cached, failed, where and how fast."""

from __future__ import annotations

from typing import Any

from prefect.artifacts import create_table_artifact


def write_summary_artifact(summary: dict[str, Any]) -> None:
    rows = [
        {"what": "rendered", "value": summary["rendered"]},
        {"what": "cached (not rendered again)", "value": summary["cached"]},
        {"what": "failed", "value": summary["failed"]},
        {"what": "would render (dry run)", "value": summary["planned"] if summary["dry_run"] else "-"},
        {"what": "failed indices", "value": ", ".join(map(str, summary["failed_indices"])) or "-"},
        {"what": "output", "value": summary["output"]},
        {"what": "seconds per rendered video", "value": summary["seconds_per_video"] or "-"},
        {"what": "wall seconds", "value": summary["wall_seconds"]},
        {"what": "render hosts", "value": ", ".join(summary["hosts"]) or "-"},
    ]
    create_table_artifact(
        rows,
        key=f"simian-range-{summary['start']}-{summary['end']}",
        description=f"Range [{summary['start']}, {summary['end']})",
    )
