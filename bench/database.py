"""A fresh database per run: a temporary SQLite file, or a new PostgreSQL database dropped afterwards."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from models.engine import create_engine
from models.migrate import upgrade

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_STATEMENT_STARTED = "bench_sqlite_statement_started"
# SQLite virtual machine instructions between two looks at the clock.
_PROGRESS_STEPS = 100_000


def backend(url: str) -> str:
    return make_url(url).get_backend_name()


def check_server_url(url: str) -> None:
    """Only the embedded default or a local PostgreSQL server: a benchmark never talks to another host."""
    parsed = make_url(url)
    if parsed.get_backend_name() == SQLITE:
        return
    if parsed.get_backend_name() != POSTGRESQL or parsed.get_driver_name() != "asyncpg":
        raise ValueError(f"not a sqlite+aiosqlite or postgresql+asyncpg URL: {parsed!r}")
    if (parsed.host or "127.0.0.1") not in LOCAL_HOSTS:
        raise ValueError(f"the benchmark only runs against a local server (127.0.0.1), not {parsed.host!r}")


async def _admin(server: URL, statement: str) -> None:
    connection = await asyncpg.connect(host=server.host or "127.0.0.1", port=server.port or 5432,
                                       user=server.username, password=server.password,
                                       database=server.database or "postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_database(server_url: str | None) -> AsyncIterator[str]:
    """The URL of a new, migrated, empty database; removed on exit (whatever happened)."""
    if server_url is None or backend(server_url) == SQLITE:
        directory = Path(tempfile.mkdtemp(prefix="inbox_bench_"))
        url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
        try:
            await asyncio.to_thread(upgrade, url)
            yield url
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    server = make_url(server_url)
    name = f"inbox_bench_{secrets.token_hex(5)}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def analyze(url: str, *, sqlite: bool) -> None:
    """Fresh planner statistics on PostgreSQL (autovacuum would gather them within a minute or so; a run
    must not see its plans change halfway). SQLite only when asked: the application never runs ANALYZE."""
    if backend(url) == SQLITE and not sqlite:
        return
    engine = create_engine(url, statement_timeout=600)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


async def server_version(url: str) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            query = "SELECT version()" if backend(url) == POSTGRESQL else "SELECT 'SQLite ' || sqlite_version()"
            return str((await connection.execute(text(query))).scalar_one()).split(" on ")[0]
    finally:
        await engine.dispose()


def sqlite_statement_timeout(engine: AsyncEngine, seconds: float) -> None:
    """Interrupt SQLite statements running longer than `seconds`, as PostgreSQL's statement_timeout does
    (the app sets it from INBOX_DB_STATEMENT_TIMEOUT): a pathological plan fails one request instead of
    holding the run for minutes. Attach before the engine opens its first connection."""
    if engine.dialect.name != SQLITE:
        return

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        state: dict[str, float | None] = record.info.setdefault(_STATEMENT_STARTED, {"at": None})

        def expired() -> int:
            started = state["at"]
            return int(started is not None and time.monotonic() - started > seconds)

        dbapi_connection.run_async(lambda driver: driver.set_progress_handler(expired, _PROGRESS_STEPS))

    def mark(conn: Any, at: float | None) -> None:
        state = conn.info.get(_STATEMENT_STARTED) if conn is not None else None
        if state is not None:
            state["at"] = at

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "before_cursor_execute", lambda conn, *_: mark(conn, time.monotonic()))
    event.listen(engine.sync_engine, "after_cursor_execute", lambda conn, *_: mark(conn, None))
    event.listen(engine.sync_engine, "handle_error", lambda context: mark(context.connection, None))
