"""One typed settings object, built at the edge (CLI, flow entry) and passed down.

Values come from the process environment first, then from a `.env` file (read by
pydantic-settings through python-dotenv). Secrets are `SecretStr` so they never print in logs or reprs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from simian.errors import invalid_input


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "simian"


class Settings(BaseSettings):
    """Every variable the product reads. See `.env.example` for documentation."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    redis_host: str = "localhost"
    redis_port: int = Field(default=6379, ge=1, le=65535)
    redis_user: str | None = None
    redis_password: SecretStr | None = None
    redis_db: int = Field(default=0, ge=0)
    redis_url: SecretStr | None = None

    hf_token: SecretStr | None = None
    hf_repo_id: str | None = None
    hf_endpoint: str | None = None
    hf_hub_disable_xet: bool = False  # for Hub mirrors (and the test double) that speak LFS but not Xet

    simian_cache_dir: Path = Field(default_factory=_default_cache_dir)
    # Pristine set-up state every local stack of this machine starts from (a migrated empty Prefect database).
    simian_template_dir: Path = Field(default_factory=lambda: _default_cache_dir() / "templates")
    simian_polyhaven_api: str = "https://api.polyhaven.com"
    simian_objaverse_repo: str = "allenai/objaverse"
    simian_download_timeout_s: float = Field(default=60.0, gt=0)
    simian_download_retries: int = Field(default=4, ge=0)
    # The guarded fetcher (simian.net): a total deadline per download (retries included), byte caps, and hosts
    # allowed besides the configured endpoints and the file hosts they document.
    simian_download_deadline_s: float = Field(default=600.0, gt=0, allow_inf_nan=False)
    simian_download_max_bytes: int = Field(default=2 * 1024**3, gt=0)
    simian_json_max_bytes: int = Field(default=128 * 1024**2, gt=0)
    # What a JSON document may parse into (values and containers; nesting levels): bytes alone do not bound
    # memory (`[{},{},...]` grows 60 times).
    simian_json_max_elements: int = Field(default=2_000_000, gt=0)
    simian_json_max_depth: int = Field(default=64, gt=0)
    # A `file:` model or image larger than this is refused before Blender opens it (its importers hold several
    # times the file's size in memory).
    simian_file_asset_max_bytes: int = Field(default=512 * 1024**2, gt=0)
    simian_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    # A flow's `combinations` URL may point at an internal address (loopback, private): off, since anyone who
    # can reach the Prefect API sets flow parameters; the CLI's --combinations is the operator's own.
    simian_flow_internal_urls: bool = False
    simian_render_timeout_s: float = Field(default=900.0, gt=0)
    simian_state_dir: Path = Path(".simian")
    simian_prefect_port: int = Field(default=4200, ge=1, le=65535)
    simian_output_root: Path | None = None  # datasets are written below it; default: the project root
    # Redis may be away this long (restart, failover, network) before a range run or a chunk gives up.
    simian_redis_outage_s: float = Field(default=300.0, gt=0)
    # A render lock is a lease of this many seconds, renewed while the render lives; a dead holder frees it.
    simian_lock_lease_s: float = Field(default=30.0, ge=3)
    # How long a render waits for another machine's lock on the same combination before retrying later.
    simian_lock_wait_s: float = Field(default=960.0, gt=0)
    # When set, every Blender render appends one JSON line here (index, pid, event): an audit of renders.
    simian_render_events: Path | None = None

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            scheme = value.get_secret_value().split("://", 1)[0]
            if scheme not in {"redis", "rediss", "unix"}:
                raise ValueError("REDIS_URL must start with redis://, rediss:// (TLS) or unix://")
        return value

    @field_validator("simian_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        """A comma- or space-separated list of host names; `*.example.org` allows its subdomains."""
        if isinstance(value, str):
            return tuple(part for part in value.replace(",", " ").split() if part)
        return value

    @field_validator("simian_cache_dir", "simian_state_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    def redis_connection_url(self) -> str:
        """The URL to reach Redis with; contains the password, so never log it."""
        if self.redis_url is not None:
            return self.redis_url.get_secret_value()
        auth = ""
        if self.redis_password is not None:
            user = quote(self.redis_user or "", safe="")
            auth = f"{user}:{quote(self.redis_password.get_secret_value(), safe='')}@"
        return f"redis://{auth}{self.redis_host}:{self.redis_port}/{self.redis_db}"

    def redis_display(self) -> str:
        """Where Redis is, without credentials: safe to log."""
        if self.redis_url is not None:
            url = self.redis_url.get_secret_value()
            scheme, _, rest = url.partition("://")
            return f"{scheme}://{rest.rsplit('@', 1)[-1]}"
        return f"redis://{self.redis_host}:{self.redis_port}/{self.redis_db}"


def project_root() -> Path:
    """The source checkout when installed from one (prefect.yaml beside it), else the current folder."""
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "prefect.yaml").is_file() else Path.cwd()


def resolve_project_path(output: str | Path, settings: Settings) -> Path:
    """Relative dataset folders are relative to SIMIAN_OUTPUT_ROOT, else the project root, never to a
    worker's temporary working directory."""
    path = Path(output).expanduser()
    if path.is_absolute():
        return path
    return ((settings.simian_output_root or project_root()) / path).resolve()


def _find_env_file() -> Path | None:
    """SIMIAN_ENV_FILE, else ./.env, else the .env of the source checkout (workers run flows elsewhere)."""
    explicit = os.environ.get("SIMIAN_ENV_FILE")
    if explicit:
        return Path(explicit)
    for candidate in (Path.cwd() / ".env", Path(__file__).resolve().parents[2] / ".env"):
        if candidate.is_file():
            return candidate
    return None


def load_settings(env_file: Path | str | None = None) -> Settings:
    """Settings from the environment, then the `.env` file when there is one (environment wins)."""
    env_file = env_file if env_file is not None else _find_env_file()
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise invalid_input(
            exc, "invalid configuration in the environment or .env", name=lambda path: path.upper(), sep="; "
        ) from None
