"""Real services for tests: the local stack (`simian up`) on free ports, plus extra workers.

Nothing here is mocked: redis-server, the Prefect server and the workers are the real
programs, started the same way a user starts them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from simian.orchestration.names import DEPLOYMENT_RANGE

from .conftest import REPO

PREFECT = [sys.executable, "-m", "prefect"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    root: Path
    redis_port: int
    prefect_port: int
    extra_workers: list[subprocess.Popen] = field(default_factory=list)
    up_args: list[str] = field(default_factory=list)

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
            # Datasets of the tests live in pytest's temporary folders: the stack's root is one of them.
            "SIMIAN_OUTPUT_ROOT": str(self.root.parent),
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            # Settings file read by every flow run (tests write HF_* into it); starts empty.
            "SIMIAN_ENV_FILE": str(self.root / "simian.env"),
            # The Hub test double speaks LFS, not Xet; huggingface_hub would otherwise upload with Xet.
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }

    def write_env_file(self, values: dict[str, str]) -> None:
        (self.root / "simian.env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))

    def simian(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "simian.cli", *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def up(self) -> None:
        """`simian up`: starts whatever of the stack is not running (after a crash, a stopped Redis...)."""
        result = self.simian("up", *self.up_args, timeout=300)
        if result.returncode != 0:
            self.stop()
            raise RuntimeError(f"simian up failed:\n{result.stdout}\n{result.stderr}")

    def shutdown_redis(self) -> None:
        """What an operator (or a crash) does: `redis-cli shutdown nosave`."""
        subprocess.run(["redis-cli", "-p", str(self.redis_port), "shutdown", "nosave"], capture_output=True, timeout=30)
        wait_for(lambda: not self._redis_answers(), 30, "Redis to stop", interval_s=0.1)

    def _redis_answers(self) -> bool:
        try:
            return bool(self.redis().ping())
        except redis.RedisError:
            return False

    def prefect(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*PREFECT, *args], env=self.env, cwd=REPO, capture_output=True, text=True, timeout=timeout
        )

    @staticmethod
    def range_args(*params: str) -> list[str]:
        """`deployment run simian/render-range -p KEY=VALUE ...`, as a user types it after `prefect`."""
        args = ["deployment", "run", DEPLOYMENT_RANGE]
        for param in params:
            args += ["-p", param]
        return args

    def run_range(self, *params: str, timeout: float = 600) -> tuple[subprocess.CompletedProcess[str], str]:
        """`prefect deployment run simian/render-range -p ... --watch`, verbatim; returns the run id too."""
        result = self.prefect(*self.range_args(*params), "--watch", timeout=timeout)
        match = re.search(r"UUID:\s*([0-9a-f-]{36})", result.stdout)
        assert match, result.stdout + result.stderr
        return result, match.group(1)

    def start_worker(self, name: str) -> subprocess.Popen:
        log = (self.root / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [*PREFECT, "worker", "start", "--pool", "gpu", "--limit", "1", "--name", name],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.extra_workers.append(process)
        return process

    def kill_worker(self, process: subprocess.Popen) -> None:
        """kill -9 of the worker and every process below it (flow runs, Blender), as a dying machine would."""
        for pid in [process.pid, *descendants(process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)

    def redis(self) -> redis.Redis:
        return redis.Redis(port=self.redis_port, decode_responses=True)

    def outcomes(self, run_id: str) -> dict[int, dict]:
        raw = self.redis().hgetall(f"simian:run:{run_id}:outcomes")
        return {int(k): json.loads(v) for k, v in raw.items()}

    def stop(self) -> None:
        for process in self.extra_workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
        self.simian("down", timeout=60)


class RedisServer:
    """A real redis-server on a free port, that a test can stop (`shutdown nosave`, as an operator would) and
    start again on the same port and folder."""

    def __init__(self, root: Path, *options: str) -> None:
        self.root, self.options, self.port = root, list(options), free_port()
        self.process: subprocess.Popen | None = None
        root.mkdir(parents=True, exist_ok=True)

    def start(self) -> RedisServer:
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.root),
            "--save",
            "",
            *self.options,
        ]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(self.answers, 20, f"redis-server on port {self.port}", interval_s=0.1)
        return self

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5, socket_connect_timeout=5)

    def shutdown_nosave(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True, timeout=30)
        if self.process is not None:
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def descendants(pid: int) -> list[int]:
    found = []
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    for child in map(int, children):
        found += [child, *descendants(child)]
    return found


def start_stack(root: Path, render_slots: int = 3, workers: int = 1) -> Stack:
    """`simian up` on free ports; `workers=0` leaves starting render workers to the test (`start_worker`)."""
    stack = Stack(root, free_port(), free_port())
    stack.write_env_file({})
    stack.up_args = ["--workers", str(workers), "--render-slots", str(render_slots), "--commits-per-hour", "3600"]
    stack.up()
    return stack


def wait_for(check, timeout_s: float, what: str, interval_s: float = 0.5):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
