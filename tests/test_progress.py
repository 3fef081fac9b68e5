"""How far a run is and when it ends: the words the CLI and the range run's progress artifact share."""

from __future__ import annotations

from datetime import UTC, datetime

from simian.orchestration.progress import duration, progress_text


def test_progress_says_the_count_the_rate_and_the_time_left():
    now = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
    assert progress_text(0, 40, 0.0, now) == "0 of 40 videos done"
    assert (
        progress_text(10, 40, 120.0, now)
        == "10 of 40 videos done, 5.0 a minute, about 6 min 00 s left (finish 14:06 UTC)"
    )
    assert progress_text(40, 40, 480.0, now) == "40 of 40 videos done, 5.0 a minute, in 8 min 00 s"
    assert [duration(s) for s in (0.4, 59, 61, 3599, 3600, 7390)] == [
        "0 s",
        "59 s",
        "1 min 01 s",
        "59 min 59 s",
        "1 h 00 min",
        "2 h 03 min",
    ]
