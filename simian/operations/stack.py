"""`simian up / down / status`: the embedded local default on one machine.

Starts (only if not already answering) a local redis-server and Prefect server, runs the
init and the deploy, and starts one control worker and one render worker. Everything it
starts is recorded in `<state dir>/stack.json`; `down` stops exactly those processes (by
pid, checking the command line still matches), never anything found by name.

Redis persists (AOF, fsync every second), so a restart keeps the result cache. With several
render workers the Prefect server runs on a local PostgreSQL when one is installed: on SQLite,
concurrent state changes fail with "database is locked" (measured: 42 errors for 16 chunks on
4 workers, whatever the pool size), which WAL and busy timeouts cannot prevent.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from filelock import FileLock

from simian import atomic
from simian.errors import SimianError
from simian.orchestration.names import CONTROL_POOL, RENDER_POOL
from simian.settings import Settings, project_root

logger = logging.getLogger(__name__)

PREFECT = [sys.executable, "-m", "prefect"]
#: `prefect server start` with SQLite's write transactions begun IMMEDIATE (see `prefect_server`).
PREFECT_SERVER = [sys.executable, "-m", "simian.operations.prefect_server", "server", "start"]
SIMIAN = [sys.executable, "-m", "simian.cli"]


class StackError(SimianError):
    """The local stack could not be brought up."""


@dataclass
class Managed:
    name: str
    pid: int
    argv: list[str]
    log: str
    started: str = ""  # kernel start time of the process, to tell it from a later one with the same pid


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True)
class StackConfig:
    state_dir: Path
    prefect_port: int
    render_workers: int = 1
    render_slots: int = 1
    commits_per_hour: int = 100
    #: How often workers ask for work: sub-second on the embedded stack, where one machine serves the API.
    worker_poll_s: float = 0.5

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}"


class Registry:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "stack.json"

    def load(self) -> dict[str, Managed]:
        if not self.path.is_file():
            return {}
        return {k: Managed(**v) for k, v in json.loads(self.path.read_text()).items()}

    def save(self, entries: dict[str, Managed]) -> None:
        atomic.write_text(self.path, json.dumps({k: asdict(v) for k, v in entries.items()}, indent=2))


def is_running(entry: Managed) -> bool:
    """Alive and still the process we started (pids get reused; redis rewrites its title)."""
    started = _start_time(entry.pid)
    return bool(started) and started == entry.started


def _start(name: str, argv: list[str], state_dir: Path, env: dict[str, str], cwd: Path | None = None) -> Managed:
    log = state_dir / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        process = subprocess.Popen(
            argv,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    logger.info("started %s (pid %d, log %s)", name, process.pid, log)
    return Managed(name, process.pid, argv, str(log), _start_time(process.pid))


def _wait_until(check: Callable[[], bool], what: str, timeout_s: float, log: str | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    hint = f"; see {log}" if log else ""
    raise StackError(f"{what} did not come up within {timeout_s:g} s{hint}")


def redis_answers(settings: Settings) -> bool:
    from simian.orchestration.redis_store import RedisUnavailableError, check_redis

    try:
        check_redis(settings).close()
    except RedisUnavailableError:
        return False
    return True


def api_answers(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def child_env(config: StackConfig) -> dict[str, str]:
    return {
        **os.environ,
        "PREFECT_API_URL": config.api_url,
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": os.environ.get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "30"),
        "PREFECT_WORKER_QUERY_SECONDS": str(config.worker_poll_s),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path.resolve()}"


def migrated_template(folder: Path, env: dict[str, str]) -> Path:
    """An empty Prefect database with every migration applied, made once per Prefect version on this machine.

    Migrating a fresh SQLite database is most of a Prefect server's first start (about 24 s against 8 s here);
    a copy of this one starts like a server that ran before.
    """
    template = folder / f"prefect-{importlib.metadata.version('prefect')}.db"
    if template.is_file():
        return template
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(template) + ".lock"):
        if not template.is_file():
            partial = template.with_name(template.name + ".partial")
            partial.unlink(missing_ok=True)
            migrate_env = {**env, "PREFECT_SERVER_DATABASE_CONNECTION_URL": _sqlite_url(partial)}
            _run([*PREFECT, "server", "database", "upgrade", "-y"], migrate_env, "prefect server database upgrade")
            os.replace(partial, template)
    return template


def sqlite_database(path: Path, template_dir: Path, env: dict[str, str]) -> str:
    """The stack's SQLite database URL; a new stack's database starts as a copy of the migrated template."""
    if not path.exists():
        shutil.copyfile(migrated_template(template_dir, env), path)
    return _sqlite_url(path)


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server programs (Debian layout), if any."""
    found = [d for d in sorted(Path("/usr/lib/postgresql").glob("*/bin")) if (d / "initdb").is_file()]
    return found[-1] if found else None


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; run it as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _postgres_dir(state_dir: Path) -> Path:
    if os.geteuid() != 0:
        return state_dir / "postgres"
    # As root, the postgres user must be able to reach the folder: keep it under its own home.
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]
    return Path("/var/lib/postgresql") / f"simian-{digest}"


def start_postgres(config: StackConfig, env: dict[str, str], entries: dict[str, Managed]) -> str:
    """A local PostgreSQL for the Prefect server (created on first use); returns the server's database URL."""
    bin_dir = postgres_bin()
    assert bin_dir is not None
    root = _postgres_dir(config.state_dir)
    settings_file = config.state_dir / "postgres.json"
    if not settings_file.is_file():
        settings_file.write_text(json.dumps({"port": _free_port(), "password": secrets.token_hex(16)}))
        settings_file.chmod(0o600)
    pg = json.loads(settings_file.read_text())
    data = root / "data"
    pg_env = {k: v for k, v in env.items() if not k.startswith("PREFECT_")}
    if not (data / "PG_VERSION").is_file():
        root.mkdir(parents=True, exist_ok=True)
        password_file = root / "password"
        password_file.write_text(pg["password"] + "\n")
        password_file.chmod(0o600)
        if os.geteuid() == 0:
            for path in (root, password_file):
                shutil.chown(path, "postgres")
        initdb = [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "prefect",
            "--pwfile",
            str(password_file),
            "-A",
            "scram-sha-256",
        ]
        _run(_as_postgres(initdb), pg_env, "initdb")
        password_file.unlink()
    argv = _as_postgres(
        [
            str(bin_dir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(pg["port"]),
            "-k",
            str(root),
            "-c",
            "listen_addresses=127.0.0.1",
        ]
    )
    entries["postgres"] = _start("postgres", argv, config.state_dir, pg_env)

    def ready() -> bool:
        probe = subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(pg["port"])], capture_output=True
        )
        return probe.returncode == 0

    _wait_until(ready, "PostgreSQL", 60, entries["postgres"].log)
    as_prefect = {**pg_env, "PGPASSWORD": pg["password"]}
    url = f"postgresql://prefect@127.0.0.1:{pg['port']}/prefect"
    if subprocess.run([str(bin_dir / "psql"), url, "-tAc", "select 1"], env=as_prefect, capture_output=True).returncode:
        _run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(pg["port"]), "-U", "prefect", "prefect"],
            as_prefect,
            "createdb",
        )
    return f"postgresql+asyncpg://prefect:{pg['password']}@127.0.0.1:{pg['port']}/prefect"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(argv: list[str], env: dict[str, str], what: str, cwd: Path | None = None) -> None:
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise StackError(f"{what} failed (exit {result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-3000:]}")


def up(settings: Settings, config: StackConfig) -> dict[str, Managed]:
    config.state_dir.mkdir(parents=True, exist_ok=True)
    registry = Registry(config.state_dir)
    entries = {k: v for k, v in registry.load().items() if is_running(v)}
    env = child_env(config)

    if redis_answers(settings):
        logger.info("Redis already answers at %s; using it", settings.redis_display())
    elif settings.redis_url is None and settings.redis_host in {"localhost", "127.0.0.1"}:
        argv = [
            "redis-server",
            "--port",
            str(settings.redis_port),
            "--bind",
            "127.0.0.1",
            # Persist: a restart keeps the result cache, the locks and the farm id (at most 1 s of writes lost).
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--dir",
            str(config.state_dir.resolve()),
        ]
        if settings.redis_password is not None:
            # Passed on stdin-free argv would expose it in `ps`; use a config file readable by us only.
            conf = config.state_dir / "redis.conf"
            conf.write_text(f"requirepass {settings.redis_password.get_secret_value()}\n")
            conf.chmod(0o600)
            argv.insert(1, str(conf.resolve()))
        entries["redis"] = _start("redis", argv, config.state_dir, env)
        registry.save(entries)
        _wait_until(lambda: redis_answers(settings), "redis-server", 20, entries["redis"].log)
    else:
        raise StackError(f"Redis at {settings.redis_display()} does not answer and is not local; start it first")

    if api_answers(config.api_url):
        logger.info("Prefect server already answers at %s; using it", config.api_url)
    else:
        use_postgres = postgres_bin() is not None and (
            config.render_workers > 1 or (config.state_dir / "postgres.json").is_file()
        )
        if use_postgres:
            database_url = start_postgres(config, env, entries)
            registry.save(entries)
            logger.info("Prefect server on a local PostgreSQL (several render workers)")
        else:
            database_url = sqlite_database(config.state_dir / "prefect.db", settings.simian_template_dir, env)
            if config.render_workers > 1:
                logger.warning(
                    "%d render workers on SQLite: expect 'database is locked' errors in the server log; "
                    "install PostgreSQL (apt-get install postgresql) to avoid them",
                    config.render_workers,
                )
        server_env = {**env, "PREFECT_SERVER_DATABASE_CONNECTION_URL": database_url}
        server_env.pop("PREFECT_API_URL")
        # The UI builds its API address from the server's port settings, not from `--port`: on any port but 4200
        # its pages would call an API that is not there.
        server_env.setdefault("PREFECT_SERVER_UI_API_URL", f"http://127.0.0.1:{config.prefect_port}/api")
        argv = [*PREFECT_SERVER, "--host", "127.0.0.1", "--port", str(config.prefect_port)]
        entries["prefect-server"] = _start("prefect-server", argv, config.state_dir, server_env)
        registry.save(entries)
        _wait_until(lambda: api_answers(config.api_url), "Prefect server", 90, entries["prefect-server"].log)

    init = [
        *SIMIAN,
        "init",
        "--render-slots",
        str(config.render_slots),
        "--commits-per-hour",
        str(config.commits_per_hour),
    ]
    _run(init, env, "simian init")
    _run([*PREFECT, "--no-prompt", "deploy", "--all"], env, "prefect deploy --all", cwd=project_root())
    _run([*PREFECT, "config", "set", f"PREFECT_API_URL={config.api_url}"], env, "prefect config set")

    workers = {
        "worker-control": [
            *PREFECT,
            "worker",
            "start",
            "--pool",
            CONTROL_POOL,
            "--name",
            f"control-{os.uname().nodename}",
        ]
    }
    for n in range(config.render_workers):
        workers[f"worker-gpu-{n}"] = [
            *PREFECT,
            "worker",
            "start",
            "--pool",
            RENDER_POOL,
            "--limit",
            "1",
            "--name",
            f"gpu-{os.uname().nodename}-{n}",
        ]
    for name, argv in workers.items():
        if name not in entries:
            entries[name] = _start(name, argv, config.state_dir, env, cwd=project_root())
            registry.save(entries)
    for name, argv in workers.items():
        pool, worker = argv[argv.index("--pool") + 1], argv[argv.index("--name") + 1]
        _wait_until(
            functools.partial(worker_online, config.api_url, pool, worker),
            f"worker {worker} (pool {pool})",
            WORKER_START_S,
            entries[name].log,
        )
    return entries


#: How long `up` waits for a started worker to poll its pool: imports, the warm forkserver and, on a render
#: worker, the render service's Blender (about 5-10 s here).
WORKER_START_S = 180.0


def worker_online(api_url: str, pool: str, name: str) -> bool:
    """The worker polls its pool: it finished its set-up (a flow run submitted now starts at once, and the first
    range run splits its chunks over every render worker instead of finding none online)."""
    try:
        response = httpx.post(f"{api_url}/work_pools/{pool}/workers/filter", json={}, timeout=5.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and any(
        w.get("name") == name and w.get("status") == "ONLINE" for w in response.json()
    )


def down(config: StackConfig, timeout_s: float = 15.0) -> list[str]:
    registry = Registry(config.state_dir)
    entries = registry.load()
    stopped = []
    for name in sorted(entries, key=lambda n: (n.startswith("worker"), n), reverse=True):
        entry = entries[name]
        if not is_running(entry):
            continue
        try:
            os.killpg(entry.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + timeout_s
        while is_running(entry) and time.monotonic() < deadline:
            time.sleep(0.2)
        if is_running(entry):
            os.killpg(entry.pid, signal.SIGKILL)
        stopped.append(name)
        logger.info("stopped %s (pid %d)", name, entry.pid)
    registry.save({})
    return stopped


def status(settings: Settings, config: StackConfig) -> list[str]:
    lines = []
    for name, entry in Registry(config.state_dir).load().items():
        state = "running" if is_running(entry) else "stopped"
        lines.append(f"{name:16s} {state:8s} pid {entry.pid:<8d} log {entry.log}")
    redis_state = "answers" if redis_answers(settings) else "DOES NOT ANSWER"
    api_state = "answers" if api_answers(config.api_url) else "DOES NOT ANSWER"
    lines.append(f"redis            {redis_state} at {settings.redis_display()}")
    lines.append(f"prefect api      {api_state} at {config.api_url}")
    lines.append(f"prefect ui       {config.ui_url}")
    return lines
