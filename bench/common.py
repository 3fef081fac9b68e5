"""Shared bench plumbing: a private local stack (`simian up` on free ports) and timing helpers."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from simian.orchestration.names import DEPLOYMENT_RANGE

REPO = Path(__file__).resolve().parents[1]
PREFECT = [sys.executable, "-m", "prefect"]
SIMIAN = [sys.executable, "-m", "simian.cli"]
SETTINGS = {"width": "160", "height": "96", "frames": "24", "samples": "4"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BenchStack:
    """A throw-away local stack: real redis-server, Prefect server and workers, nothing shared with the user's."""

    def __init__(self, root: Path, workers: int = 1) -> None:
        self.root = root
        self.workers = workers
        (root / "simian.env").write_text("")
        self.env = {
            **os.environ,
            "PREFECT_HOME": str(root / "prefect-home"),
            "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(free_port()),
            "SIMIAN_STATE_DIR": str(root / "state"),
            "SIMIAN_ENV_FILE": str(root / "simian.env"),
            "SIMIAN_CACHE_DIR": str(root / "cache"),
            "SIMIAN_OUTPUT_ROOT": tempfile.gettempdir(),  # the benches write their datasets into temporary folders
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        self.env["SIMIAN_PREFECT_PORT"] = self.env["PREFECT_API_URL"].split(":")[2].split("/")[0]

    def up(self) -> None:
        subprocess.run(
            [*SIMIAN, "up", "--workers", str(self.workers)],
            env=self.env,
            cwd=REPO,
            check=True,
            capture_output=True,
            timeout=300,
        )

    def down(self) -> None:
        subprocess.run([*SIMIAN, "down"], env=self.env, cwd=REPO, capture_output=True, timeout=120)

    def run_range(self, **params: Any) -> tuple[float, str]:
        """`prefect deployment run simian/render-range --watch`: wall seconds from submission to the end."""
        argv = [*PREFECT, "deployment", "run", DEPLOYMENT_RANGE]
        for key, value in params.items():
            argv += ["-p", f"{key}={value}"]
        started = time.perf_counter()
        result = subprocess.run(
            [*argv, "--watch"], env=self.env, cwd=REPO, capture_output=True, text=True, timeout=1800
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(result.stdout[-3000:] + result.stderr[-3000:])
        run_id = re.search(r"UUID:\s*([0-9a-f-]{36})", result.stdout).group(1)
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

    def outcomes(self, run_id: str) -> dict[int, dict[str, Any]]:
        import redis

        client = redis.Redis(port=int(self.env["REDIS_PORT"]), decode_responses=True)
        return {int(k): json.loads(v) for k, v in client.hgetall(f"simian:run:{run_id}:outcomes").items()}


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
