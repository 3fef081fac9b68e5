"""The one retry policy: what is retried, how long it waits, when it gives up, where it says so."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from simian.retry import Deadline, RetriesExhausted, RetryPolicy, TransientError, parse_retry_after

LOGGER = logging.getLogger("simian.tests.retry")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        ("0.5", 0.5),
        ("-30", 0.0),  # a negative delay is no delay, never a negative sleep
        ("nan", None),
        ("soon", None),
        ("", None),
        (None, None),
        (
            "Wed, 02 Dec 2026 08:00:00 GMT",
            0.0,
        ),  # a date in the past; fixed, so every xdist worker collects the same ids
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date_in_the_future() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    seconds = parse_retry_after(when)
    assert seconds is not None and 100 < seconds <= 120


def test_waits_are_jittered_exponential_and_retry_after_is_clamped() -> None:
    policy = RetryPolicy(backoff_s=1.0, max_backoff_s=8.0, max_retry_after_s=60.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        waits = [policy.wait_for(attempt, None) for _ in range(200)]
        assert all(0.0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2, "full jitter spreads over the whole window"
    assert policy.wait_for(1, 3600.0) == 60.0
    assert policy.wait_for(1, -5.0) == 0.0
    assert policy.wait_for(5, 2.5) == 2.5


def test_transient_failures_are_retried_then_given_up(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        raise TransientError("HTTP 503 from the test")

    policy = RetryPolicy(attempts=3, backoff_s=0.001)
    with caplog.at_level(logging.WARNING, logger=LOGGER.name), pytest.raises(RetriesExhausted) as info:
        policy.call(flaky, what="GET thing", logger=LOGGER)
    assert len(calls) == 3
    assert info.value.attempts == 3
    assert "GET thing failed after 3 attempt(s): HTTP 503 from the test" in str(info.value)
    warnings = [r for r in caplog.records if r.name == LOGGER.name]
    assert [r.getMessage().split(";")[1].strip().split(" in ")[0] for r in warnings] == ["retry 1 of 2", "retry 2 of 2"]


def test_success_after_a_transient_failure() -> None:
    outcomes = iter([TransientError("blip"), "done"])

    def once() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert RetryPolicy(attempts=2, backoff_s=0.001).call(once, what="x", logger=LOGGER) == "done"


def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        RetryPolicy(attempts=5, backoff_s=0.001).call(broken, what="x", logger=LOGGER)
    assert len(calls) == 1


def test_retry_after_is_honoured() -> None:
    outcomes = iter([TransientError("slow down", retry_after=0.5), "ok"])

    def once() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    started = time.monotonic()
    assert RetryPolicy(attempts=2, backoff_s=0.001).call(once, what="x", logger=LOGGER) == "ok"
    assert time.monotonic() - started >= 0.5


def test_the_deadline_stops_a_wait_that_would_pass_it() -> None:
    calls: list[int] = []

    def rate_limited() -> None:
        calls.append(1)
        raise TransientError("HTTP 429", retry_after=30.0)

    started = time.monotonic()
    with pytest.raises(RetriesExhausted, match="after 1 attempt"):
        RetryPolicy(attempts=10, deadline_s=2.0).call(rate_limited, what="x", logger=LOGGER)
    assert len(calls) == 1
    assert time.monotonic() - started < 1.0, "gave up at once instead of sleeping past the deadline"


def test_deadline() -> None:
    assert Deadline(None).remaining() == float("inf") and not Deadline(None).expired()
    deadline = Deadline(0.05)
    assert 0 < deadline.remaining() <= 0.05
    time.sleep(0.06)
    assert deadline.expired() and deadline.remaining() == 0.0
