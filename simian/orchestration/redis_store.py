"""Redis connections from the one Settings object: clear errors instead of hangs, patience through outages.

Results, render locks and the run ledger all reach Redis through the same Settings (one
configuration per process); `simian init` writes a farm id into that Redis and into Prefect, so
a machine whose configuration reaches another Redis is refused before it renders anything.
"""

from __future__ import annotations

import json
import logging
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import redis
import redis.asyncio
from prefect.variables import Variable
from prefect_redis.blocks import RedisDatabase
from prefect_redis.connection import redis_from_url
from pydantic import PrivateAttr, SecretStr

from simian.combine.variants import VideoKey
from simian.errors import SimianError
from simian.orchestration.names import FARM_ID_KEY, FARM_VARIABLE, RESULT_BLOCK, RESULT_BLOCK_TYPE
from simian.orchestration.redis_client import client_options, fail_fast_client
from simian.retry import RetriesExhausted, RetryPolicy, TransientError
from simian.settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")

REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)


class RedisUnavailableError(SimianError):
    """Redis cannot be reached or refuses our credentials."""


class FarmMismatchError(SimianError):
    """This machine reaches a Redis other than the one the control plane set up (`simian init`)."""


def redis_client(settings: Settings) -> redis.Redis:
    """A client whose calls fail within seconds; callers that should ride out an outage retry themselves."""
    return fail_fast_client(settings.redis_connection_url(), health_check_interval=30)


def unreachable_message(settings: Settings, exc: BaseException) -> str:
    reason = str(exc).split(". ")[0].replace(settings.redis_connection_url(), settings.redis_display())
    return (
        f"cannot reach Redis at {settings.redis_display()} ({reason}); start it (`simian up` starts a local "
        "one) or set REDIS_HOST / REDIS_PORT or REDIS_URL"
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
    except (*REDIS_DOWN, OSError) as exc:
        raise RedisUnavailableError(unreachable_message(settings, exc)) from None
    return client


def redis_connection_params(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for prefect-redis's RedisDatabase."""
    if settings.redis_url is not None:
        return {"connection_url": settings.redis_url.get_secret_value()}
    return {
        "host": settings.redis_host,
        "port": settings.redis_port,
        "db": settings.redis_db,
        "username": settings.redis_user,
        "password": settings.redis_password.get_secret_value() if settings.redis_password else None,
    }


class UntrustedResultError(SimianError):
    """A cached result record that is not plain JSON: loading it could run code, so it is never loaded."""


# What the render task's results are written with (`result_serializer="json"`), field by field.
PLAIN_JSON = {
    "type": "json",
    "jsonlib": "json",
    "object_encoder": "prefect.serializers.prefect_json_object_encoder",
    "object_decoder": "prefect.serializers.prefect_json_object_decoder",
    "dumps_kwargs": {},
    "loads_kwargs": {},
}


def _has_class_marker(value: Any) -> bool:
    if isinstance(value, dict):
        return "__class__" in value or any(_has_class_marker(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_class_marker(v) for v in value)
    return False


def plain_json_record(key: str, content: bytes | None) -> bytes | None:
    """Pass a result record through only if Prefect will decode it as plain JSON.

    Prefect decodes a record with the serializer named *inside* the record (pickle, or "json" with any
    decoder module), so whoever can write Redis could otherwise run code on every machine that reads it.
    """
    if content is None:
        return None
    try:
        record = json.loads(content)
        serializer = record["metadata"]["serializer"]
        result = json.loads(record["result"])
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("cached result %s is not a JSON result record; ignoring it", key[:60])
        raise UntrustedResultError(f"cached result {key[:60]} is not a JSON result record; ignoring it") from None
    if serializer != PLAIN_JSON or _has_class_marker(result):
        kind = serializer.get("type") if isinstance(serializer, dict) else serializer
        message = f"cached result {key[:60]} is not plain JSON (serializer {kind!r}); ignoring it"
        logger.warning(message)
        raise UntrustedResultError(message)
    return content


class FarmResultStorage(RedisDatabase):
    """The result-storage block type of the farm (`simian-redis-results/simian-results`).

    prefect-redis's RedisDatabase (same fields, same keys) with clients that time out instead of hanging
    and retry through a Redis outage (a failed write would leave a finished render uncached, a failed read
    looks like a cache miss to Prefect and renders again), and that hand Prefect plain-JSON records only.
    """

    _block_type_name = "Simian Redis Results"
    _block_type_slug = RESULT_BLOCK_TYPE
    _patience_s: float = PrivateAttr(300.0)

    def _client_options(self, asynchronous: bool = False) -> dict[str, Any]:
        return client_options(patience_s=self._patience_s, asynchronous=asynchronous)

    def _connection(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "db": self.db,
            "username": self.username.get_secret_value() if self.username else None,
            "password": self.password.get_secret_value() if self.password else None,
            "ssl": self.ssl,
        }

    def get_client(self) -> redis.Redis:
        if self.connection_url is not None:
            return redis_from_url(self.connection_url.get_secret_value(), **self._client_options())
        return redis.Redis(**self._connection(), **self._client_options())

    def get_async_client(self) -> redis.asyncio.Redis:
        if self.connection_url is not None:
            return redis_from_url(
                self.connection_url.get_secret_value(), asynchronous=True, **self._client_options(asynchronous=True)
            )
        return redis.asyncio.Redis(**self._connection(), **self._client_options(asynchronous=True))

    def read_path(self, path: str, _sync: bool | None = None) -> bytes | None:
        return plain_json_record(path, super().read_path(path, _sync=True))

    async def aread_path(self, path: str) -> bytes | None:
        return plain_json_record(path, await super().aread_path(path))


def result_storage_block(settings: Settings) -> FarmResultStorage:
    """The farm's result-storage block (its identity is what Prefect records with each result), reaching Redis
    through this machine's settings, like its locks and its ledger: one Redis configuration per machine."""
    params = redis_connection_params(settings)
    secret = {k: SecretStr(v) for k, v in params.items() if k in ("username", "password", "connection_url") and v}
    cleared = {"username": None, "password": None, "connection_url": None}
    block = FarmResultStorage.load(RESULT_BLOCK).model_copy(update={**cleared, **params, **secret})
    block._patience_s = settings.simian_redis_outage_s
    return block


# ---------------------------------------------------------------------------------------------- farm identity
def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def register_farm(settings: Settings) -> str:
    """Give the farm an id (kept if its Redis already has one) and record it in Redis and in Prefect."""
    client = check_redis(settings)
    existing = client.get(FARM_ID_KEY)
    farm_id = _text(existing) if existing else uuid.uuid4().hex
    client.set(FARM_ID_KEY, farm_id)
    Variable.set(
        FARM_VARIABLE,
        {"farm_id": farm_id, "redis": settings.redis_display(), "initialised_on": socket.gethostname()},
        overwrite=True,
    )
    return farm_id


def verify_farm(settings: Settings, client: redis.Redis) -> str:
    """Refuse to work against a Redis that is not the farm's: results, locks and progress would split."""
    farm = Variable.get(FARM_VARIABLE)
    if not isinstance(farm, dict) or "farm_id" not in farm:
        raise FarmMismatchError(
            f"the Prefect server at hand has no farm record (variable {FARM_VARIABLE}); run `simian init` on the "
            "control host"
        )
    found = client.get(FARM_ID_KEY)
    found_id = _text(found) if found else None
    if found_id != farm["farm_id"]:
        what = f"farm id {found_id}" if found_id else "no farm id"
        raise FarmMismatchError(
            f"this machine ({socket.gethostname()}) reaches Redis at {settings.redis_display()}, which holds {what}; "
            f"the farm's Redis (farm id {farm['farm_id']}) is {farm['redis']} as configured on "
            f"{farm.get('initialised_on', 'the control host')}. Point REDIS_HOST / REDIS_PORT (or REDIS_URL) of this "
            "machine at the farm's Redis; if that Redis was emptied or replaced, run `simian init` again"
        )
    return str(farm["farm_id"])


# ---------------------------------------------------------------------------------------------- run ledger
#: Record outcomes (ARGV: ttl, then label, JSON pairs) and keep per-status and per-flag counts and the failed
#: outcomes beside them, in one atomic step: whoever needs only the counts never reads the outcomes.
_RECORD = """
local function tags(raw)
  local o = cjson.decode(raw)
  local t = {}
  if type(o.status) == 'string' then t[#t + 1] = o.status end
  if o.adopted == true then t[#t + 1] = 'adopted' end
  if o.published == true then t[#t + 1] = 'published' end
  return t, o.status == 'failed'
end
for i = 2, #ARGV, 2 do
  local label, raw = ARGV[i], ARGV[i + 1]
  local old = redis.call('HGET', KEYS[1], label)
  if old then
    for _, tag in ipairs((tags(old))) do redis.call('HINCRBY', KEYS[2], tag, -1) end
  end
  redis.call('HSET', KEYS[1], label, raw)
  local new, failed = tags(raw)
  for _, tag in ipairs(new) do redis.call('HINCRBY', KEYS[2], tag, 1) end
  if failed then redis.call('HSET', KEYS[3], label, raw) else redis.call('HDEL', KEYS[3], label) end
end
for k = 1, 3 do redis.call('EXPIRE', KEYS[k], ARGV[1]) end
return 1
"""


class RunLedger:
    """Per range-run bookkeeping in Redis: outcomes per video, counts per status, the failures. Rides out a Redis
    outage up to `outage_s`."""

    def __init__(
        self,
        client: redis.Redis,
        range_run_id: str,
        outage_s: float = 300.0,
        ttl_s: int = 7 * 24 * 3600,
        where: str = "Redis",
    ) -> None:
        self.client = client
        self.range_run_id = range_run_id
        self.prefix = f"simian:run:{range_run_id}"
        self.outage_s = outage_s
        self.ttl_s = ttl_s
        self.where = where
        self._down_since: float | None = None
        self._next_try = 0.0
        self._failures = 0
        self._record = client.register_script(_RECORD)  # sent once, then called by its digest

    @classmethod
    def open(cls, settings: Settings, range_run_id: str) -> RunLedger:
        """Connect (failing in seconds if Redis is away) and check this is the farm's Redis."""
        client = check_redis(settings)
        verify_farm(settings, client)
        return cls(client, range_run_id, outage_s=settings.simian_redis_outage_s, where=settings.redis_display())

    def _patiently(self, what: str, call: Callable[[], T]) -> T:
        """`call()`, retried with the one retry policy while Redis is unreachable, for up to `outage_s`."""

        def attempt() -> T:
            try:
                return call()
            except REDIS_DOWN as exc:
                raise TransientError(f"Redis at {self.where} unreachable: {exc}") from exc

        policy = RetryPolicy(attempts=1_000_000, backoff_s=0.5, max_backoff_s=10.0, deadline_s=self.outage_s)
        try:
            return policy.call(attempt, what=what, logger=logger)
        except RetriesExhausted as exc:
            raise RedisUnavailableError(
                f"Redis at {self.where} stayed unreachable for {self.outage_s:g} s while {what}: {exc}"
            ) from None

    def record(self, video: VideoKey, outcome: dict[str, Any]) -> None:
        self.record_many({video: outcome})

    def record_many(self, outcomes: dict[VideoKey, dict[str, Any]]) -> None:
        """Record outcomes in one round trip; the run's counts and its list of failures follow atomically (a video
        recorded again, by a retried chunk or as published, moves between counts instead of counting twice)."""
        if not outcomes:
            return
        keys = [f"{self.prefix}:{part}" for part in ("outcomes", "counts", "failed")]
        args: list[Any] = [self.ttl_s]
        for video, outcome in outcomes.items():
            args += [video.label(), json.dumps(outcome)]
        first = next(iter(outcomes)).label()
        what = f"recording combination {first}" + (f" and {len(outcomes) - 1} more" if len(outcomes) > 1 else "")
        self._patiently(what, lambda: self._record(keys=keys, args=args))

    def outcomes(self) -> dict[VideoKey, dict[str, Any]]:
        """Outcome per video, under its label ('7', or '7-v1' for a camera variant)."""
        raw = self._patiently("reading the outcomes", lambda: self.client.hgetall(f"{self.prefix}:outcomes"))
        return {VideoKey.parse(_text(k)): json.loads(v) for k, v in raw.items()}

    def outcomes_of(self, videos: list[VideoKey]) -> dict[VideoKey, dict[str, Any]]:
        """The outcomes of these videos only (those recorded)."""
        if not videos:
            return {}
        key = f"{self.prefix}:outcomes"
        raw = self._patiently("reading outcomes", lambda: self.client.hmget(key, [v.label() for v in videos]))
        return {v: json.loads(o) for v, o in zip(videos, raw, strict=True) if o is not None}

    def counts(self) -> dict[str, int]:
        """Videos per status ('planned', 'rendered', 'cached', 'failed') and flag ('adopted', 'published'), read
        without reading a single outcome: the same two small answers for ten videos or a million."""
        raw = self._patiently("reading the counts", lambda: self.client.hgetall(f"{self.prefix}:counts"))
        return {_text(k): int(v) for k, v in raw.items() if int(v)}

    def failures(self) -> dict[VideoKey, dict[str, Any]]:
        """The outcomes of the videos whose last outcome is 'failed'."""
        raw = self._patiently("reading the failures", lambda: self.client.hgetall(f"{self.prefix}:failed"))
        return {VideoKey.parse(_text(k)): json.loads(v) for k, v in raw.items()}

    def done_count(self) -> int | None:
        """Outcomes recorded so far; None while Redis is away (tried again with backoff, never blocking the poll).

        Raises RedisUnavailableError once Redis has been away longer than the outage window.
        """
        now = time.monotonic()
        if now < self._next_try:
            return None
        try:
            count = int(self.client.hlen(f"{self.prefix}:outcomes"))
        except REDIS_DOWN as exc:
            if self._down_since is None:
                self._down_since = now
                logger.warning(
                    "Redis at %s unreachable (%s); progress paused, waiting up to %g s", self.where, exc, self.outage_s
                )
            if now - self._down_since >= self.outage_s:
                raise RedisUnavailableError(
                    f"Redis at {self.where} stayed unreachable for {self.outage_s:g} s: {exc}"
                ) from None
            self._failures += 1
            self._next_try = now + min(15.0, 0.5 * 2**self._failures)
            return None
        if self._down_since is not None:
            logger.warning("Redis at %s is back after %.1f s", self.where, now - self._down_since)
        self._down_since, self._failures, self._next_try = None, 0, 0.0
        return count
