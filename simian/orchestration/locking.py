"""A Redis lock manager whose locks are leases: a holder that dies loses its locks in seconds.

prefect-redis's `RedisLockManager` takes locks with no expiry by default, so a render machine
killed mid-render would block that cache key forever. Here every lock expires after
`lease_s` unless its holder, alive, renews it from a background thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from prefect_redis.locking import RedisLockManager
from redis.exceptions import LockError, RedisError

logger = logging.getLogger(__name__)

DEFAULT_LEASE_S = 30.0


class LeasedRedisLockManager(RedisLockManager):
    def __init__(self, *args: Any, lease_s: float = DEFAULT_LEASE_S, **kwargs: Any) -> None:
        self.lease_s = lease_s
        super().__init__(*args, **kwargs)
        self._renewers: dict[str, threading.Event] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "lease_s": self.lease_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._renewers = {}

    def acquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        acquired = super().acquire_lock(key, holder, acquire_timeout, hold_timeout or self.lease_s)
        if acquired and hold_timeout is None and key not in self._renewers:
            self._start_renewing(key)
        return acquired

    def release_lock(self, key: str, holder: str) -> None:
        stop = self._renewers.pop(key, None)
        if stop is not None:
            stop.set()
        super().release_lock(key, holder)

    def _start_renewing(self, key: str) -> None:
        stop = threading.Event()
        self._renewers[key] = stop
        lock = self._locks.get(self._lock_name_for_key(key))

        def renew() -> None:
            while not stop.wait(self.lease_s / 3):
                try:
                    lock.reacquire()  # type: ignore[union-attr]
                except (LockError, RedisError, AttributeError) as exc:
                    logger.warning("could not renew the render lock for %s: %s", key, exc)
                    return

        threading.Thread(target=renew, name=f"lock-renew-{key[:12]}", daemon=True).start()
