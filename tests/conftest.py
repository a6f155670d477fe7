"""Shared fixtures: a fresh, migrated database per run (SQLite always; PostgreSQL when
INBOX_TEST_DATABASE_URL names a server), the ASGI app over real HTTP semantics, and clubs."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.factory import create_app
from inbox.settings import Settings
from models.engine import create_engine, session_factory
from models.migrate import upgrade
from tests.databases import create_database, drop_database, server_url
from tests.factories import TEST_SECRET, ClubFixture, make_club
from tests.servers import SmtpServer, TwilioServer


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this run, migrated to head: never leftovers of another run."""
    server = server_url()
    if server is None:
        path = tmp_path_factory.mktemp("db") / "inbox.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        yield url
        return
    name = f"inbox_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(create_database(server, name))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(drop_database(server, name))


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    """The app's settings: Redis when the run has one (the second pass), else the in-process bus."""
    return Settings(DATABASE_URL=database_url, INBOX_SECRET_KEY=TEST_SECRET,
                    REDIS_URL=os.environ.get("INBOX_TEST_REDIS_URL") or None)


@pytest.fixture(scope="session")
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings, run_dispatcher=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def club(sessions: async_sessionmaker[AsyncSession]) -> ClubFixture:
    """A club of its own for the test (unique slug, numbers and addresses)."""
    return await make_club(sessions)


@pytest.fixture
async def other_club(sessions: async_sessionmaker[AsyncSession]) -> ClubFixture:
    return await make_club(sessions)


def pytest_report_header(config: pytest.Config) -> str:
    server = server_url()
    return f"inbox database: {'PostgreSQL ' + server if server else 'SQLite (embedded default)'}"


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free local port."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    smtp_server.handler.reset()
    return smtp_server


@pytest.fixture(scope="module")
async def twilio_server() -> AsyncIterator[TwilioServer]:
    """A local HTTP server speaking Twilio's Messages API."""
    async with TwilioServer() as server:
        yield server
