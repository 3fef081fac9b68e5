"""The library's own log lines (retries, downloads, publishing) in the run's logs, as Prefect shows them.

Prefect forwards only its own loggers to the API; the `simian` loggers are attached here, once per process,
with credentials redacted and the HTTP clients' per-request lines kept out.
"""

from __future__ import annotations

import logging

from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

from simian.net.redact import RedactCredentials

HTTP_CLIENT_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "huggingface_hub", "filelock")


class _InRunOnly(logging.Filter):
    """Records logged outside a run (a background thread) stay in the worker's own log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def forward_library_logs() -> None:
    """Idempotent: attach the run-log handler to the `simian` logger and quiet the HTTP clients."""
    library = logging.getLogger("simian")
    if not any(isinstance(h, APILogHandler) for h in library.handlers):
        handler = APILogHandler(level=logging.INFO)
        handler.addFilter(_InRunOnly())
        handler.addFilter(RedactCredentials())
        library.addHandler(handler)
    if library.level == logging.NOTSET or library.level > logging.INFO:
        library.setLevel(logging.INFO)
    for name in HTTP_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
