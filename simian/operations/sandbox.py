"""A throw-away local farm on free ports: real redis-server, Prefect server and workers, nothing shared with the
user's stack. The test suite and the benchmarks drive it as a user would (`simian up`, `prefect deployment run`).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from simian.combine.variants import VideoKey
from simian.orchestration.names import DEPLOYMENT_RANGE, RENDER_POOL
from simian.orchestration.redis_store import RunLedger

PREFECT = [sys.executable, "-m", "prefect"]
SIMIAN = [sys.executable, "-m", "simian.cli"]
#: The project folder: flows and prefect.yaml are found from here.
PROJECT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SandboxStack:
    """The environment of a private stack below `root`, and the user's commands run against it."""

    root: Path
    redis_port: int = field(default_factory=free_port)
    prefect_port: int = field(default_factory=free_port)
    #: Flags of `simian up` (workers, render slots, commit budget).
    up_args: list[str] = field(default_factory=list)
    #: Where datasets may be written (SIMIAN_OUTPUT_ROOT); default the folder holding `root`.
    output_root: Path | None = None
    #: Further environment of every command (e.g. heartbeat or poll settings of a test).
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PREFECT_HOME": str(self.root / "prefect-home"),
            "PREFECT_API_URL": f"http://127.0.0.1:{self.prefect_port}/api",
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(self.redis_port),
            "SIMIAN_STATE_DIR": str(self.root / "state"),
            "SIMIAN_PREFECT_PORT": str(self.prefect_port),
            "SIMIAN_CACHE_DIR": str(self.root / "cache"),
            "SIMIAN_OUTPUT_ROOT": str(self.output_root or self.root.parent),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            # Settings file read by every flow run (tests write HF_* into it); starts empty.
            "SIMIAN_ENV_FILE": str(self.root / "simian.env"),
            **self.extra_env,
        }

    def write_env_file(self, values: dict[str, str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "simian.env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))

    def simian(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SIMIAN, *args], env=self.env, cwd=PROJECT, capture_output=True, text=True, timeout=timeout
        )

    def prefect(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*PREFECT, *args], env=self.env, cwd=PROJECT, capture_output=True, text=True, timeout=timeout
        )

    def start_worker(self, name: str, pool: str = RENDER_POOL, *flags: str) -> subprocess.Popen[bytes]:
        """`prefect worker start --pool POOL --name NAME FLAGS...` in its own session, logging to `root/NAME.log`."""
        log = (self.root / f"{name}.log").open("ab")
        return subprocess.Popen(
            [*PREFECT, "worker", "start", "--pool", pool, *flags, "--name", name],
            env=self.env,
            cwd=PROJECT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def up(self) -> None:
        """`simian up`: starts whatever of the stack is not running (after a crash, a stopped Redis...)."""
        if not (self.root / "simian.env").exists():
            self.write_env_file({})
        result = self.simian("up", *self.up_args, timeout=300)
        if result.returncode != 0:
            self.down()
            raise RuntimeError(f"simian up failed:\n{result.stdout}\n{result.stderr}")

    def down(self) -> None:
        self.simian("down", timeout=120)

    @staticmethod
    def range_args(*params: str) -> list[str]:
        """`deployment run simian/render-range -p KEY=VALUE ...`, as a user types it after `prefect`."""
        args = ["deployment", "run", DEPLOYMENT_RANGE]
        for param in params:
            args += ["-p", param]
        return args

    def run_range(self, *params: str, timeout: float = 1800) -> tuple[subprocess.CompletedProcess[str], str]:
        """`prefect deployment run simian/render-range -p ... --watch`, verbatim; returns the run id too."""
        result = self.prefect(*self.range_args(*params), "--watch", timeout=timeout)
        match = re.search(r"UUID:\s*([0-9a-f-]{36})", result.stdout)
        if match is None:
            raise RuntimeError(f"no flow run id in the output of deployment run:\n{result.stdout}\n{result.stderr}")
        return result, match.group(1)

    def redis(self) -> redis.Redis:
        return redis.Redis(port=self.redis_port, decode_responses=True)

    def outcomes(self, run_id: str) -> dict[VideoKey, dict[str, Any]]:
        """What the range run recorded per video, read through the run ledger itself."""
        return RunLedger(self.redis(), run_id, outage_s=10).outcomes()
