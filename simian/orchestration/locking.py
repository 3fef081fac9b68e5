"""Render locks as leases in Redis: held only while renewed, lost loudly, never waited on forever.

Implements Prefect's lock-manager protocol (`prefect.locking.protocol.LockManager`) for the
SERIALIZABLE cache transactions of the render task. Each lock is a key holding its holder's
token with an expiry of `lease_s`; a background thread renews it every `lease_s / 3`. A failed
renewal is retried every second until the lease deadline (a Redis restart or a network blip
does not end the lease); a lease that cannot be renewed before its deadline, or that another
holder took, is *lost*: `on_lease_lost(key)` is called at once so the caller stops the work the
lock protected (the render task kills its Blender child and is retried). A machine that dies
frees its locks within `lease_s`.

Every Redis call has socket timeouts; acquiring waits at most `acquire_wait_s` and then raises
`LockWaitTimeoutError` (Prefect ignores a False return, so returning one would let two renders
of one key run at once); releasing never raises, because an exception escaping a transaction's
release leaves that transaction installed as the parent of every later task run of the process,
whose results are then never written.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr
from redis.exceptions import RedisError

from simian.errors import SimianError
from simian.orchestration.redis_client import fail_fast_client
from simian.settings import Settings

logger = logging.getLogger(__name__)

LOCK_PREFIX = "lock:"
SOCKET_TIMEOUT_S = 5.0
RETRY_S = 1.0  # between attempts to renew a lease or to reach Redis while acquiring

# Renew if the key still holds our token; re-take it if Redis lost it (restart without persistence);
# fail if someone else holds it. Returns 1 (renewed), 2 (re-taken) or 0 (held by another holder).
_RENEW = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
elseif not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
"""
# Hand a lease from one holder to another only if the first still holds it.
_HAND_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

LeaseLostCallback = Callable[[str], None]


class LockWaitTimeoutError(SimianError, TimeoutError):
    """Another holder kept the lock longer than we may wait; the task is retried later (transient)."""


class LockRedisUnavailableError(SimianError, ConnectionError):
    """Redis stayed unreachable while acquiring a lock (transient)."""


@dataclass
class _Lease:
    key: str
    holder: str
    thread_id: int
    deadline: float  # monotonic time before which the lease is surely still ours
    renewing: bool
    stop: threading.Event = field(default_factory=threading.Event)
    lost: bool = False


class RedisLeaseLockManager:
    """Prefect lock manager whose locks are renewed leases (see the module docstring)."""

    def __init__(
        self,
        connection_url: str | SecretStr,
        *,
        lease_s: float = 30.0,
        acquire_wait_s: float = 960.0,
        redis_outage_s: float = 300.0,
        socket_timeout_s: float = SOCKET_TIMEOUT_S,
        on_lease_lost: LeaseLostCallback | None = None,
    ) -> None:
        self._url = connection_url if isinstance(connection_url, SecretStr) else SecretStr(connection_url)
        self.lease_s = lease_s
        self.acquire_wait_s = acquire_wait_s
        self.redis_outage_s = redis_outage_s
        self.socket_timeout_s = socket_timeout_s
        self.on_lease_lost = on_lease_lost
        self._init_state()

    @classmethod
    def from_settings(cls, settings: Settings, on_lease_lost: LeaseLostCallback | None = None) -> RedisLeaseLockManager:
        return cls(
            settings.redis_connection_url(),
            lease_s=settings.simian_lock_lease_s,
            acquire_wait_s=settings.simian_lock_wait_s,
            redis_outage_s=settings.simian_redis_outage_s,
            on_lease_lost=on_lease_lost,
        )

    def _init_state(self) -> None:
        # Our own loops retry; a client that retried on its own would stretch every call past its timeout.
        self.client = fail_fast_client(self._url.get_secret_value(), timeout_s=self.socket_timeout_s)
        self._renew = self.client.register_script(_RENEW)
        self._hand_over = self.client.register_script(_HAND_OVER)
        self._release = self.client.register_script(_RELEASE)
        self._leases: dict[str, _Lease] = {}
        self._mutex = threading.Lock()

    # A shared service like a connection pool: copies (Prefect deep-copies cache policies) share the
    # leases; a pickled manager (another process) starts with none.
    def __copy__(self) -> RedisLeaseLockManager:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> RedisLeaseLockManager:
        return self

    def __getstate__(self) -> dict[str, Any]:
        names = ("_url", "lease_s", "acquire_wait_s", "redis_outage_s", "socket_timeout_s", "on_lease_lost")
        return {name: getattr(self, name) for name in names}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_state()

    @staticmethod
    def _name(key: str) -> str:
        return f"{LOCK_PREFIX}{key}"

    def _lease_ms(self, hold_s: float) -> int:
        return max(1, int(hold_s * 1000))

    # ------------------------------------------------------------------ protocol: acquire
    def acquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        """Take the lock, waiting at most `acquire_timeout` (default `acquire_wait_s`) for another holder.

        With no `hold_timeout` the lock is a lease renewed until released; with one, it simply expires.
        """
        wait_s = self.acquire_wait_s if acquire_timeout is None else acquire_timeout
        hold_s = self.lease_s if hold_timeout is None else hold_timeout
        name = self._name(key)
        began = time.monotonic()
        unreachable_since: float | None = None
        pause = 0.05
        while True:
            sent = time.monotonic()
            try:
                if self._take(key, holder, name, hold_s):
                    self._start_lease(key, holder, sent + hold_s, renewing=hold_timeout is None)
                    return True
                unreachable_since = None
            except RedisError as exc:
                unreachable_since = unreachable_since or sent
                if sent - unreachable_since >= self.redis_outage_s:
                    raise LockRedisUnavailableError(
                        f"render lock {key[:40]}: Redis unreachable for {self.redis_outage_s:g} s ({exc})"
                    ) from None
                pause = RETRY_S
            if time.monotonic() - began >= wait_s and unreachable_since is None:
                if acquire_timeout is not None:
                    return False
                raise LockWaitTimeoutError(
                    f"render lock {key[:40]}: still held by another render after {wait_s:g} s; will retry"
                )
            time.sleep(pause)
            pause = min(1.0, pause * 2)

    def _take(self, key: str, holder: str, name: str, hold_s: float) -> bool:
        token = holder.encode()
        if self.client.set(name, token, nx=True, px=self._lease_ms(hold_s)):
            return True
        current = self.client.get(name)
        if current == token:
            return True
        with self._mutex:
            stale = self._leases.get(key)
        # This thread's own earlier transaction took the lock and never ended (its begin failed after the lock
        # was taken, e.g. a Redis error reading the cache). A thread runs one task at a time, so that
        # transaction is gone: hand its lease over instead of waiting for ourselves.
        if stale is None:
            return False
        abandoned = stale.thread_id == threading.get_ident() and current == stale.holder.encode()
        if abandoned and self._hand_over(keys=[name], args=[stale.holder, holder, self._lease_ms(hold_s)]) == 1:
            self._end_lease(key)
            logger.warning("render lock %s: taken over from an abandoned transaction of this thread", key[:40])
            return True
        return False

    async def aacquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        return await asyncio.to_thread(self.acquire_lock, key, holder, acquire_timeout, hold_timeout)

    # ------------------------------------------------------------------ leases
    def _start_lease(self, key: str, holder: str, deadline: float, renewing: bool) -> None:
        lease = _Lease(key, holder, threading.get_ident(), deadline, renewing)
        with self._mutex:
            previous = self._leases.pop(key, None)
            self._leases[key] = lease
        if previous is not None:
            previous.stop.set()
        if renewing:
            threading.Thread(target=self._keep, args=(lease,), name=f"lease-{key[-12:]}", daemon=True).start()

    def _end_lease(self, key: str) -> _Lease | None:
        with self._mutex:
            lease = self._leases.pop(key, None)
        if lease is not None:
            lease.stop.set()
        return lease

    def _keep(self, lease: _Lease) -> None:
        """Renew every lease_s / 3; on errors retry every second until the deadline; then give the lease up."""
        name, margin = self._name(lease.key), min(2.0, self.lease_s / 10)
        every = self.lease_s / 3
        wait, failing_since = every, None
        while not lease.stop.wait(wait):
            sent = time.monotonic()
            if sent >= lease.deadline - margin:
                self._lose(lease, f"not renewed for {self.lease_s:g} s (Redis unreachable)")
                return
            try:
                renewed = self._renew(keys=[name], args=[lease.holder, self._lease_ms(self.lease_s)])
            except RedisError as exc:
                if failing_since is None:
                    failing_since = sent
                    logger.warning(
                        "render lock %s: renewal failed (%s); retrying every %g s until the lease ends",
                        lease.key[:40],
                        exc,
                        RETRY_S,
                    )
                wait = min(RETRY_S, max(0.0, lease.deadline - margin - time.monotonic()))
                continue
            if failing_since is not None:
                logger.warning("render lock %s: renewed again after %.1f s", lease.key[:40], sent - failing_since)
                failing_since = None
            if renewed == 0:
                self._lose(lease, "another holder took it")
                return
            if renewed == 2:
                logger.warning(
                    "render lock %s: Redis had lost it (restarted without persistence?); re-taken", lease.key[:40]
                )
            lease.deadline = sent + self.lease_s
            wait = every

    def _lose(self, lease: _Lease, reason: str) -> None:
        with self._mutex:
            if lease.stop.is_set() or self._leases.get(lease.key) is not lease:
                return  # released meanwhile: nothing to abort
            lease.lost = True
        logger.error("render lock %s lost: %s; aborting the work it protects", lease.key[:40], reason)
        if self.on_lease_lost is not None:
            self.on_lease_lost(lease.key)

    def lease_lost(self, key: str) -> bool:
        """Whether the lease on `key` held by this process was lost (and not yet released)."""
        with self._mutex:
            lease = self._leases.get(key)
        return lease is not None and lease.lost

    # ------------------------------------------------------------------ protocol: release and queries
    def release_lock(self, key: str, holder: str) -> None:
        """Stop renewing and delete the lock if it is still ours. Never raises (see the module docstring)."""
        self._end_lease(key)
        try:
            if self._release(keys=[self._name(key)], args=[holder]) == 0 and self.client.exists(self._name(key)):
                logger.warning("render lock %s: held by another holder at release; left alone", key[:40])
        except RedisError as exc:
            logger.warning("render lock %s: not released (%s); it lapses within %g s", key[:40], exc, self.lease_s)

    def is_locked(self, key: str) -> bool:
        return bool(self._riding_out(lambda: self.client.exists(self._name(key))))

    def is_lock_holder(self, key: str, holder: str) -> bool:
        """Asked when a finished render's result is written: a Redis outage at that moment must not roll the
        result back, so the question waits for Redis (see `_riding_out`)."""
        return bool(self._riding_out(lambda: self.client.get(self._name(key)) == holder.encode()))

    def _riding_out(self, ask: Callable[[], Any]) -> Any:
        """`ask()`, retried every second while Redis is unreachable, for the outage window; then the Redis error.

        Not bounded by our lease: while Redis is away nobody can take the lock, and once it answers, its answer
        decides (a lock that lapsed meanwhile is free, one another holder took is theirs). Giving up at the lease's
        end rolled back a finished render whose lease ran out while Redis restarted."""
        started = time.monotonic()
        while True:
            try:
                return ask()
            except RedisError:
                if time.monotonic() + RETRY_S >= started + self.redis_outage_s:
                    raise
                time.sleep(RETRY_S)

    def wait_for_lock(self, key: str, timeout: float | None = None) -> bool:
        """Wait until nobody holds the lock, at most `timeout` (default `acquire_wait_s`)."""
        deadline = time.monotonic() + (self.acquire_wait_s if timeout is None else timeout)
        pause = 0.05
        while True:
            try:
                if not self.client.exists(self._name(key)):
                    return True
            except RedisError:
                pause = RETRY_S
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(1.0, pause * 2)

    async def await_for_lock(self, key: str, timeout: float | None = None) -> bool:
        return await asyncio.to_thread(self.wait_for_lock, key, timeout)
