"""Shared fixtures: a fresh, migrated database per run (SQLite always; PostgreSQL when
INBOX_TEST_DATABASE_URL names a server), the ASGI app over real HTTP semantics, and clubs."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.factory import create_app
from inbox.settings import Settings
from models.engine import create_engine, session_factory
from tests.databases import fresh_database, server_url
from tests.factories import TEST_SECRET, ClubFixture, make_club
from tests.inbox_client import StaffClient
from tests.servers import SmtpServer, TwilioServer


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this run, migrated to head: never leftovers of another run."""
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        yield url


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
def lea(http: httpx.AsyncClient, club: ClubFixture, sessions: async_sessionmaker[AsyncSession]) -> StaffClient:
    """Léa, the club's first staff user, over the app's GraphQL API."""
    return StaffClient(http, club, sessions, "s1")


@pytest.fixture
def tom(lea: StaffClient) -> StaffClient:
    """Tom, a second staff user of the same club (his own read markers and flags)."""
    return lea.as_staff("s2")


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
