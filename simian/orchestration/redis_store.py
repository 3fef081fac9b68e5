"""Redis connections from the one Settings object, with a clear error instead of a hang."""

from __future__ import annotations

import json
from typing import Any

import redis

from simian.errors import SimianError
from simian.settings import Settings

CONNECT_TIMEOUT_S = 5.0


class RedisUnavailableError(SimianError):
    """Redis cannot be reached or refuses our credentials."""


def redis_client(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(
        settings.redis_connection_url(),
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=30.0,
        health_check_interval=30,
        retry_on_timeout=True,
    )


def check_redis(settings: Settings) -> redis.Redis:
    """Ping Redis once; fail in seconds with where it was looked for (never the password)."""
    client = redis_client(settings)
    try:
        client.ping()
    except redis.AuthenticationError:
        raise RedisUnavailableError(
            f"Redis at {settings.redis_display()} rejected the credentials; check REDIS_USER / REDIS_PASSWORD "
            "(or REDIS_URL)"
        ) from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        reason = str(exc).split(". ")[0].replace(settings.redis_connection_url(), settings.redis_display())
        raise RedisUnavailableError(
            f"cannot reach Redis at {settings.redis_display()} ({reason}); start it (`simian up` starts a local "
            "one) or set REDIS_HOST / REDIS_PORT or REDIS_URL"
        ) from None
    return client


def redis_connection_params(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for prefect-redis (RedisDatabase, RedisLockManager)."""
    if settings.redis_url is not None:
        return {"connection_url": settings.redis_url.get_secret_value()}
    return {
        "host": settings.redis_host,
        "port": settings.redis_port,
        "db": settings.redis_db,
        "username": settings.redis_user,
        "password": settings.redis_password.get_secret_value() if settings.redis_password else None,
    }


class RunLedger:
    """Per range-run bookkeeping in Redis: progress counter and chunk summaries."""

    def __init__(self, client: redis.Redis, range_run_id: str, ttl_s: int = 7 * 24 * 3600) -> None:
        self.client = client
        self.range_run_id = range_run_id
        self.prefix = f"simian:run:{range_run_id}"
        self.ttl_s = ttl_s

    def record(self, index: int, outcome: dict[str, Any]) -> None:
        key = f"{self.prefix}:outcomes"
        self.client.pipeline().hset(key, str(index), json.dumps(outcome)).expire(key, self.ttl_s).execute()

    def outcomes(self) -> dict[int, dict[str, Any]]:
        raw = self.client.hgetall(f"{self.prefix}:outcomes")
        return {int(k): json.loads(v) for k, v in raw.items()}

    def done_count(self) -> int:
        return int(self.client.hlen(f"{self.prefix}:outcomes"))
