"""The embedded stack's Prefect server: `prefect server start` with every SQLite write transaction begun IMMEDIATE.

Why: on SQLite, Prefect begins a write transaction DEFERRED unless it reads "for update". Such a transaction reads
first; if another connection commits before its first write (a worker's poll, a batch of logs), SQLite refuses the
upgrade at once ("database is locked", no busy wait), the API answers 503 and Prefect's client sleeps 2 s, then 4,
then 8, before trying again (PrefectHQ/prefect#18934). Measured on the embedded stack: one `create_flow_run` in ten
took 2-6 s, and the range run's first chunk run waited 2.1-2.4 s every time, because the range run's own logs are
written just before it. Begun IMMEDIATE, a transaction takes the write lock first and waits on SQLite's busy handler
(milliseconds) instead. SQLite allows one writer at a time either way, so nothing is lost. PostgreSQL is untouched.

    python -m simian.operations.prefect_server server start --host ... --port ...
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any


def begin_writes_immediate() -> None:
    """Make Prefect's SQLite configuration begin every write transaction IMMEDIATE."""
    from prefect.server.database import configurations

    @asynccontextmanager
    async def begin_transaction(self: Any, session: Any, with_for_update: bool = False) -> AsyncGenerator[Any, None]:
        token = configurations.SQLITE_BEGIN_MODE.set("IMMEDIATE")
        try:
            async with session.begin() as transaction:
                yield transaction
        finally:
            configurations.SQLITE_BEGIN_MODE.reset(token)

    configurations.AioSqliteConfiguration.begin_transaction = begin_transaction  # type: ignore[method-assign]


def main() -> None:
    begin_writes_immediate()
    from prefect.cli import app

    app()  # a failing command raises SystemExit with its status


if __name__ == "__main__":
    main()
