"""How far a run is and when it will end, said the same way by the CLI's progress bar and lines and by the range
run's progress artifact (pure Python: no Prefect, no Blender)."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta


def duration(seconds: float) -> str:
    """'42 s', '7 min 05 s', '2 h 03 min'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def progress_text(done: int, total: int, elapsed_s: float, now: datetime | None = None) -> str:
    """'12 of 40 videos done, 3.1 a minute, about 9 min 02 s left (finish 14:32 UTC)'; the rate is over the run so
    far, so the estimate steadies as the run goes."""
    head = f"{done} of {total} videos done"
    if done <= 0 or elapsed_s <= 0:
        return head
    per_minute = 60.0 * done / elapsed_s
    left = (total - done) * elapsed_s / done
    finish = (now or datetime.now(UTC)) + timedelta(seconds=left)
    if done >= total:
        return f"{head}, {per_minute:.1f} a minute, in {duration(elapsed_s)}"
    return f"{head}, {per_minute:.1f} a minute, about {duration(left)} left (finish {finish:%H:%M} UTC)"


@contextlib.contextmanager
def progress_bar(total: int, what: str) -> Iterator[Callable[[], None]]:
    """On a terminal, a bar with the count, rate and time left (rich), log lines shown above it; elsewhere nothing
    (the log lines say the same). Yields the function that counts one video done."""
    if not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[progress.percentage]{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task(what, total=total)
        original = bar.console.file
        handlers = [
            h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler) and h.stream is original
        ]
        for handler in handlers:  # through rich's redirect, so log lines print above the bar
            handler.setStream(sys.stderr)
        try:
            yield lambda: bar.advance(task)
        finally:
            for handler in handlers:
                handler.setStream(original)
