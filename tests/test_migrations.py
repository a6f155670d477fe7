"""Migrations run up and down on the database under test (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

import asyncio

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from models import Base
from models.migrate import downgrade, upgrade
from tests.databases import create_database, drop_database, server_url


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


def _roundtrip(url: str) -> None:
    upgrade(url)
    assert asyncio.run(_tables(url)) == set(Base.metadata.tables)
    downgrade(url, "base")
    assert asyncio.run(_tables(url)) == set()
    upgrade(url)
    assert asyncio.run(_tables(url)) == set(Base.metadata.tables)


def test_migrations_run_up_down_and_up_again_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _roundtrip(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")


def test_migrations_run_up_down_and_up_again_on_postgresql() -> None:
    import uuid

    import pytest
    from sqlalchemy.engine import make_url

    server = server_url()
    if server is None:
        pytest.skip("PostgreSQL runs in the second pass of the test command (INBOX_TEST_DATABASE_URL)")
    name = f"inbox_mig_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_database(server, name))
    try:
        _roundtrip(make_url(server).set(database=name).render_as_string(hide_password=False))
    finally:
        asyncio.run(drop_database(server, name))
