"""Test databases on the PostgreSQL server of the run (INBOX_TEST_DATABASE_URL), created fresh and dropped."""

from __future__ import annotations

import os

import asyncpg
from sqlalchemy.engine import make_url


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
