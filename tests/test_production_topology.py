"""The scaled-out control plane, run natively: PostgreSQL, Redis with a password, a Prefect API server
and a separate services process both on PostgreSQL with Redis messaging, API auth, two render workers.

This is the topology of deployments/compose.yaml, started from the real Debian/PyPI programs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
import redis

from simian.combine.combiner import combination_for
from simian.operations.sandbox import PREFECT
from simian.orchestration.names import DEPLOYMENT_RANGE
from simian.render.render_settings import RenderSettings

from .conftest import REPO, decode_frames
from .services import free_port, wait_for

pytestmark = [pytest.mark.services, pytest.mark.blender]

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
REDIS_PASSWORD = "redis-pass-for-tests"
PG_PASSWORD = "pg-pass-for-tests"
AUTH = "admin:api-pass-for-tests"


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; drop to the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class Processes:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.root / f"{name}.log").open("ab")
        process = subprocess.Popen(
            argv, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.running.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.running):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    assert PG_BIN, "PostgreSQL is not installed (bin/setup installs it with SIMIAN_TEST_TOOLS=1)"
    bin_dir = PG_BIN[-1]
    root = tmp_path_factory.mktemp("prod")
    root.chmod(0o755)
    procs = Processes(root)
    pg_port, redis_port, api_port = free_port(), free_port(), free_port()
    # pytest's temporary folders are private to root; PostgreSQL's files need a folder its user can enter.
    pg_root = Path(tempfile.mkdtemp(prefix="simian-pg-"))
    data = pg_root / "data"
    pwfile = pg_root / "pgpass"
    pwfile.write_text(PG_PASSWORD + "\n")
    if os.geteuid() == 0:
        for path in (pg_root, pwfile):
            shutil.chown(path, "postgres")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    subprocess.run(
        _as_postgres(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "prefect", "--pwfile", str(pwfile), "-A", "scram-sha-256"]
        ),
        check=True,
        capture_output=True,
        env=env,
    )
    procs.start(
        "postgres",
        _as_postgres(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(pg_port),
                "-k",
                str(pg_root),
                "-c",
                "listen_addresses=127.0.0.1",
            ]
        ),
        env,
    )
    redis_conf = root / "redis.conf"
    redis_conf.write_text(
        f"requirepass {REDIS_PASSWORD}\nappendonly yes\ndir {root}\nport {redis_port}\nbind 127.0.0.1\n"
    )
    procs.start("redis", ["redis-server", str(redis_conf)], env)

    def pg_ready() -> bool:
        return (
            subprocess.run(
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(pg_port)], capture_output=True
            ).returncode
            == 0
        )

    wait_for(pg_ready, 60, "PostgreSQL")
    subprocess.run(
        [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "prefect", "prefect"],
        env={**env, "PGPASSWORD": PG_PASSWORD},
        check=True,
        capture_output=True,
    )
    api = f"http://127.0.0.1:{api_port}/api"
    common = {
        **env,
        "PREFECT_HOME": str(root / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://prefect:{PG_PASSWORD}@127.0.0.1:{pg_port}/prefect",
        "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
        "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
        "PREFECT_REDIS_MESSAGING_HOST": "127.0.0.1",
        "PREFECT_REDIS_MESSAGING_PORT": str(redis_port),
        "PREFECT_REDIS_MESSAGING_PASSWORD": REDIS_PASSWORD,
        "PREFECT_SERVER_API_AUTH_STRING": AUTH,
    }
    procs.start(
        "api",
        [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(api_port), "--no-services", "--no-ui"],
        common,
    )

    def api_up() -> bool:
        try:
            return httpx.get(f"{api}/health", auth=tuple(AUTH.split(":")), timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(api_up, 120, "the Prefect API server on PostgreSQL")
    procs.start("services", [*PREFECT, "server", "services", "start"], common)
    client_env = {
        **env,
        "PREFECT_HOME": str(root / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_API_AUTH_STRING": AUTH,
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
        "PREFECT_WORKER_QUERY_SECONDS": "0.5",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis_port),
        "REDIS_PASSWORD": REDIS_PASSWORD,
        "SIMIAN_ENV_FILE": str(root / "empty.env"),
        "SIMIAN_CACHE_DIR": str(root / "cache"),
        "SIMIAN_OUTPUT_ROOT": str(root.parent),  # the test's datasets live in pytest's temporary folders
    }
    (root / "empty.env").write_text("")
    for argv in (
        [sys.executable, "-m", "simian.cli", "init", "--render-slots", "2"],
        [*PREFECT, "--no-prompt", "deploy", "--all"],
    ):
        result = subprocess.run(argv, env=client_env, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    procs.start("control", [*PREFECT, "worker", "start", "--pool", "simian-control"], client_env)
    workers = [
        procs.start(
            f"gpu-{n}", [*PREFECT, "worker", "start", "--pool", "gpu", "--limit", "1", "--name", f"gpu-{n}"], client_env
        )
        for n in range(2)
    ]
    yield {"env": client_env, "root": root, "workers": workers, "api": api, "redis_port": redis_port}
    procs.stop()
    shutil.rmtree(pg_root, ignore_errors=True)


def _run_range(topology, *params: str) -> subprocess.CompletedProcess[str]:
    args = [*PREFECT, "deployment", "run", DEPLOYMENT_RANGE]
    for param in params:
        args += ["-p", param]
    return subprocess.run(
        [*args, "--watch"], env=topology["env"], cwd=REPO, capture_output=True, text=True, timeout=600
    )


def test_range_completes_and_is_cached_on_the_scaled_out_control_plane(topology, tmp_path):
    out = tmp_path / "dataset"
    params = [
        "start=0",
        "end=6",
        "seed=12",
        "chunk_size=2",
        "width=64",
        "height=48",
        "frames=6",
        "samples=2",
        f"output={out}",
    ]
    first = _run_range(topology, *params)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    videos = sorted(out.glob("data/*/*.mp4"))
    assert [v.name for v in videos] == [f"{i:08d}.mp4" for i in range(6)]
    for index, video in enumerate(videos):
        assert len(decode_frames(video)) == 6
        recipe = combination_for(12, index, clip=RenderSettings(width=64, height=48, frames=6).clip())
        assert json.loads(video.with_suffix(".json").read_text())["caption"] == recipe.caption
    second = _run_range(topology, *params)
    assert second.returncode == 0, second.stdout[-3000:]
    auth = tuple(AUTH.split(":"))
    tables = httpx.post(f"{topology['api']}/artifacts/filter", auth=auth, json={"sort": "CREATED_DESC"}).json()
    latest = next(t for t in tables if t["key"].startswith("simian-range-0-6-") and t["type"] == "table")
    rows = {row["what"]: row["value"] for row in json.loads(latest["data"])}
    assert rows["rendered"] == 0 and rows["cached (not rendered again)"] == 6
    # Without the auth string the API refuses.
    assert httpx.post(f"{topology['api']}/flow_runs/filter", json={}).status_code == 401
    # The server's events went through Redis (prefect-redis messaging), which needs the password.
    messaging = redis.Redis(port=topology["redis_port"], password=REDIS_PASSWORD, decode_responses=True)
    streams = [key for key in messaging.scan_iter(count=1000) if messaging.type(key) == "stream"]
    assert streams, "no Redis streams: the server did not use prefect-redis messaging"
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=topology["redis_port"]).ping()
