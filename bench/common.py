"""Shared bench plumbing: a private local stack (`simian up` on free ports) and timing helpers."""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from simian.operations.sandbox import SandboxStack

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {"width": "160", "height": "96", "frames": "24", "samples": "4"}


class BenchStack(SandboxStack):
    """A sandbox stack (`simian up` on free ports) with a quick worker poll, writing into temporary folders, and
    what the benches read back: where a run's time went."""

    def __init__(self, root: Path, workers: int = 1) -> None:
        super().__init__(
            root,
            up_args=["--workers", str(workers)],
            output_root=Path(tempfile.gettempdir()),  # the benches write their datasets into temporary folders
        )

    def run_range(self, *args: str, timeout: float = 1800, **params: Any) -> tuple[float, str]:  # type: ignore[override]
        """`prefect deployment run simian/render-range --watch`: wall seconds from submission to the end."""
        started = time.perf_counter()
        result, run_id = super().run_range(*args, *(f"{k}={v}" for k, v in params.items()), timeout=timeout)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(result.stdout[-3000:] + result.stderr[-3000:])
        return elapsed, run_id

    def timeline(self, run_id: str) -> dict[str, float]:
        """Seconds from the range run's creation to each milestone: where a run's fixed cost goes."""
        import httpx

        api = self.env["PREFECT_API_URL"]
        parent = httpx.get(f"{api}/flow_runs/{run_id}").json()
        children = httpx.post(
            f"{api}/flow_runs/filter", json={"flow_runs": {"parent_flow_run_id": {"any_": [run_id]}}}
        ).json()

        def at(stamp: str) -> float:
            from datetime import datetime

            return datetime.fromisoformat(stamp).timestamp()

        t0 = at(parent["created"])
        marks = {"range run started": at(parent["start_time"]) - t0}
        if children:
            marks["first chunk run created"] = min(at(c["created"]) for c in children) - t0
            marks["first chunk run started"] = min(at(c["start_time"]) for c in children) - t0
            marks["last chunk run ended"] = max(at(c["end_time"]) for c in children) - t0
        marks["range run ended"] = at(parent["end_time"]) - t0
        logs = httpx.post(f"{api}/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}, "sort":
                          "TIMESTAMP_ASC", "limit": 12}).json()  # fmt: skip
        for log in logs:  # what the range run did before its chunks ran, each at its time
            marks[f"log: {log['message'][:70]}"] = at(log["timestamp"]) - t0
        return marks


@contextmanager
def bench_stack(workers: int = 1):
    with tempfile.TemporaryDirectory(prefix="simian-bench-") as tmp:
        stack = BenchStack(Path(tmp), workers)
        try:
            stack.up()
            yield stack
        finally:
            stack.down()


def blender_seconds(sidecars: list[Path]) -> float:
    return sum(json.loads(p.read_text())["render_seconds"] for p in sidecars)
