"""The one retry policy for network calls: what is transient, how long to wait, when to give up.

Downloads, Hub calls and the dataset finaliser all retry through `RetryPolicy.call` (tenacity underneath).
Callers classify their own failures: an attempt that should be retried raises `TransientError` (with the
server's Retry-After, if any); anything else propagates at once. Waits are exponential with full jitter,
a server's Retry-After wins but is clamped to [0, max_retry_after_s], and a deadline, when given, stops
the retrying before a wait would run past it.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type

T = TypeVar("T")

# Statuses worth another try: timeouts, "too early", rate limits and server-side failures.
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class TransientError(Exception):
    """One attempt failed for a reason that may pass; `retry_after` is the server's requested wait."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RetriesExhausted(Exception):
    """Every attempt failed transiently (or the deadline came first); `last` is the final failure."""

    def __init__(self, what: str, attempts: int, last: TransientError) -> None:
        super().__init__(f"{what} failed after {attempts} attempt(s): {last}")
        self.attempts = attempts
        self.last = last


def is_transient_status(status: int | None) -> bool:
    return status is not None and (status in TRANSIENT_STATUS or status >= 500)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), never negative; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(seconds, 0.0)


def retry_after_of(headers: Mapping[str, str] | None) -> float | None:
    return parse_retry_after(headers.get("Retry-After")) if headers is not None else None


class Deadline:
    """A point in monotonic time; `remaining()` is what is left of the budget (never negative)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._end = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float:
        return float("inf") if self._end is None else max(self._end - time.monotonic(), 0.0)

    def expired(self) -> bool:
        return self.remaining() <= 0.0


@dataclass(frozen=True)
class RetryPolicy:
    """How a network call is retried. `attempts` counts the first try; waits grow as backoff_s * 2**n
    (full jitter, at most max_backoff_s) unless the server asked for a Retry-After."""

    attempts: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 300.0
    deadline_s: float | None = None

    def wait_for(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry number `attempt` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        ceiling = min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s)
        return random.uniform(0.0, ceiling)

    def call(
        self,
        fn: Callable[[], T],
        *,
        what: str,
        logger: logging.Logger,
        deadline: Deadline | None = None,
    ) -> T:
        """Run `fn`, retrying TransientError; RetriesExhausted when attempts or the deadline run out."""
        deadline = deadline or Deadline(self.deadline_s)

        def wait(state: RetryCallState) -> float:
            return self.wait_for(state.attempt_number, _transient(state).retry_after)

        def stop(state: RetryCallState) -> bool:
            return state.attempt_number >= self.attempts or state.upcoming_sleep >= deadline.remaining()

        def before_sleep(state: RetryCallState) -> None:
            logger.warning(
                "%s failed (%s); retry %d of %d in %.2f s",
                what,
                _transient(state),
                state.attempt_number,
                self.attempts - 1,
                state.upcoming_sleep,
            )

        retrying = Retrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception_type(TransientError),
            before_sleep=before_sleep,
            reraise=True,
        )
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            return fn()

        try:
            return retrying(attempt)
        except TransientError as exc:
            raise RetriesExhausted(what, attempts, exc) from exc


def _transient(state: RetryCallState) -> TransientError:
    assert state.outcome is not None
    exc = state.outcome.exception()
    assert isinstance(exc, TransientError)
    return exc
