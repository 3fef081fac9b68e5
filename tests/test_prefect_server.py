"""The embedded stack's Prefect server on SQLite, under the writes a range run makes at once.

A flow run's logs are written while the range run creates its chunk runs. On `prefect server start` a creation
that raced such a write failed ("database is locked": 503) and Prefect's client waited 2 s before trying again;
`simian.operations.prefect_server` begins every write transaction IMMEDIATE, so the creation waits for the lock
instead. The same load against both servers: the plain one answers 503 (the fault is real here), ours never.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from simian.operations.sandbox import free_port
from simian.operations.stack import PREFECT, PREFECT_SERVER, sqlite_database
from simian.settings import load_settings

from .services import wait_for

pytestmark = pytest.mark.services

CREATIONS = 60


@contextmanager
def sqlite_server(root: Path, argv: list[str]) -> Iterator[str]:
    """A Prefect server (no UI, no services) on a new SQLite database; yields its API address."""
    root.mkdir(parents=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(root / "home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = sqlite_database(
        root / "prefect.db", load_settings().simian_template_dir, env
    )
    argv = [*argv, "--host", "127.0.0.1", "--port", str(port), "--no-ui", "--no-services"]
    with (root / "server.log").open("wb") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_for(lambda: _answers(api), 90, "the Prefect server")
        yield api
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def refused_creations(api: str) -> int:
    """Create chunk runs from a deployment while another connection writes logs without pause, as the range run's
    log handler does; count the creations the server refused with 503 (raw HTTP: no client retry hides them)."""
    # A connection per request: the server closes a connection after some of its 503s.
    with httpx.Client(base_url=api, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        flow = client.post("/flows/", json={"name": "simian-chunk"}).json()
        deployment = client.post("/deployments/", json={"name": "render-chunk", "flow_id": flow["id"]}).json()
        stop = threading.Event()

        def write_logs() -> None:
            with httpx.Client(base_url=api, timeout=30) as logs:
                while not stop.is_set():
                    entry = {"name": "range", "level": 20, "message": "m", "timestamp": "2026-12-06T00:00:00Z"}
                    logs.post("/logs/", json=[entry] * 20)

        writer = threading.Thread(target=write_logs)
        writer.start()
        try:
            statuses = [
                client.post(f"/deployments/{deployment['id']}/create_flow_run", json={"parameters": {}}).status_code
                for _ in range(CREATIONS)
            ]
        finally:
            stop.set()
            writer.join()
    assert set(statuses) <= {201, 503}, statuses
    return statuses.count(503)


def test_creating_runs_while_logs_are_written_is_never_refused_by_the_stacks_server(tmp_path: Path):
    with sqlite_server(tmp_path / "plain", [*PREFECT, "server", "start"]) as api:
        plain = refused_creations(api)
    with sqlite_server(tmp_path / "immediate", PREFECT_SERVER) as api:
        immediate = refused_creations(api)
    print(f"refused with 503: plain server {plain}, the stack's server {immediate} of {CREATIONS}")
    assert plain > 0, "the plain server refused nothing: the load does not reproduce the fault"
    assert immediate == 0, f"{immediate} of {CREATIONS} creations were refused with 503"
