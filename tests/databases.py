"""Test databases on the PostgreSQL server of the run (INBOX_TEST_DATABASE_URL), created fresh and dropped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from models.migrate import upgrade


def server_url() -> str | None:
    """The PostgreSQL server of the second pass, or None on the embedded default."""
    return os.environ.get("INBOX_TEST_DATABASE_URL") or None


async def _admin(server: str, statement: str) -> None:
    """Run one statement on the server's maintenance database (CREATE / DROP DATABASE)."""
    url = make_url(server)
    conn = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                                 database="postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def create_database(server: str, name: str) -> None:
    await _admin(server, f'CREATE DATABASE "{name}"')


async def drop_database(server: str, name: str) -> None:
    await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_database(directory: Path, prefix: str = "inbox_test") -> Iterator[str]:
    """A new database migrated to head, dropped afterwards: a SQLite file in `directory`, or a
    PostgreSQL database on the run's server. Call it outside the event loop (sync fixtures)."""
    server = server_url()
    if server is None:
        url = f"sqlite+aiosqlite:///{directory / 'inbox.db'}"
        upgrade(url)
        yield url
        return
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(create_database(server, name))
    try:
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        asyncio.run(drop_database(server, name))
