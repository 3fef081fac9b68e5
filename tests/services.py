"""Real services for tests: the local stack (`simian up`) on free ports, plus extra workers.

Nothing here is mocked: redis-server, the Prefect server and the workers are the real
programs, started the same way a user starts them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from simian.operations.sandbox import SandboxStack, free_port
from simian.orchestration.names import RENDER_POOL

from .doubles.hub import HubTestDouble

#: What the tests' stacks add to a sandbox's environment: heartbeats for crash detection and
#: the Hub client speaking LFS (the Hub test double does not speak Xet).
TEST_ENV = {
    "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
    "HF_HUB_DISABLE_XET": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


@dataclass
class Stack(SandboxStack):
    """A sandbox stack plus what fault tests do to it: extra workers, kill -9, Redis shut down."""

    extra_workers: list[subprocess.Popen] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=lambda: dict(TEST_ENV))

    @contextlib.contextmanager
    def publishing_to(self, folder: Path, token: str, repo: str) -> Iterator[HubTestDouble]:
        """A Hub double that the stack's runs publish to while the block lasts (its address, the token and the repo
        in the stack's env file, removed again after)."""
        with HubTestDouble(folder, token=token) as hub:
            self.write_env_file({"HF_ENDPOINT": hub.url, "HF_TOKEN": token, "HF_REPO_ID": repo})
            try:
                yield hub
            finally:
                self.write_env_file({})

    def shutdown_redis(self) -> None:
        """What an operator (or a crash) does: `redis-cli shutdown nosave`."""
        subprocess.run(["redis-cli", "-p", str(self.redis_port), "shutdown", "nosave"], capture_output=True, timeout=30)
        wait_for(lambda: not self._redis_answers(), 30, "Redis to stop", interval_s=0.1)

    def _redis_answers(self) -> bool:
        try:
            return bool(self.redis().ping())
        except redis.RedisError:
            return False

    def start_worker(self, name: str, pool: str = RENDER_POOL, *flags: str) -> subprocess.Popen[bytes]:
        """A further render worker (`--limit 1` unless flags are given), stopped with the stack."""
        process = super().start_worker(name, pool, *(flags or ("--limit", "1")))
        self.extra_workers.append(process)
        return process

    def kill_worker(self, process: subprocess.Popen) -> None:
        """kill -9 of the worker and every process below it (flow runs, Blender), as a dying machine would."""
        for pid in [process.pid, *descendants(process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)

    def run_report(self, run_id: str) -> str:
        """A failed range run's story for an assertion message: each run's final state and its warnings."""
        from uuid import UUID

        from prefect import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId, LogFilter
        from prefect.settings import PREFECT_API_URL, temporary_settings

        lines = []
        with temporary_settings({PREFECT_API_URL: self.env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
            parent = client.read_flow_run(UUID(run_id))
            children = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent.id]))
            )
            for run in [parent, *children]:
                state = run.state
                lines.append(f"{run.name}: {state.name if state else '?'} {state.message if state else ''}")
                logs = client.read_logs(log_filter=LogFilter(flow_run_id={"any_": [run.id]}, level={"ge_": 30}))
                lines += [f"  {log.timestamp:%H:%M:%S} {log.message[:400]}" for log in logs]
        return "\n".join(lines)

    def stop(self) -> None:
        for process in self.extra_workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
        self.down()


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
