"""The one place Redis clients are configured: how long a call may take, and whether the client retries.

Two kinds of caller: those that ride out an outage with loops of their own (the run ledger, locks) want a client
that fails within seconds and never retries by itself; Prefect's result storage, which has no loop of its own,
wants a client that retries with backoff for a while.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 10.0


def client_options(
    *, timeout_s: float = SOCKET_TIMEOUT_S, patience_s: float = 0.0, asynchronous: bool = False
) -> dict[str, Any]:
    """Keyword arguments of `redis.Redis`: with `patience_s` 0 every call fails within `timeout_s`; above 0 the
    client itself retries connection errors and timeouts with capped backoff for about `patience_s`."""
    retry_class = AsyncRetry if asynchronous else Retry
    options: dict[str, Any] = {
        "socket_connect_timeout": min(CONNECT_TIMEOUT_S, timeout_s),
        "socket_timeout": timeout_s,
    }
    if patience_s <= 0:
        options["retry"] = retry_class(NoBackoff(), 0)
    else:
        options["retry"] = retry_class(ExponentialBackoff(cap=8.0, base=0.5), retries=int(patience_s / 8) + 4)
        options["retry_on_error"] = [redis.ConnectionError, redis.TimeoutError]
    return options


def fail_fast_client(url: str, timeout_s: float = SOCKET_TIMEOUT_S, **extra: Any) -> redis.Redis:
    """A client whose calls fail within `timeout_s`; callers that should ride out an outage retry themselves."""
    return redis.Redis.from_url(url, **client_options(timeout_s=timeout_s), **extra)
