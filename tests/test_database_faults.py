"""PostgreSQL down or hung (docs/architecture.md, Security and reliability): requests fail fast with
503 / SERVICE_UNAVAILABLE, never a raw driver error, and service resumes by itself."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.factory import create_app
from inbox.settings import Settings
from tests.databases import server_url
from tests.factories import ClubFixture, graphql
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.skipif(server_url() is None, reason="PostgreSQL faults run in the PostgreSQL pass")

# The members list reads through SQLAlchemy's execution; the thread list through asyncpg itself (models.rows).
QUERIES = {"members": "{ members(first: 1) { totalCount } }",
           "threads": "{ threads(category: MEMBER, first: 5) { edges { node { id title } } } }"}


@pytest.fixture
async def proxied(settings: Settings) -> AsyncIterator[tuple[TcpProxy, httpx.AsyncClient]]:
    url = make_url(settings.database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = create_app(settings.model_copy(update={
        "database_url": proxied_url, "db_connect_timeout": 1.0, "db_statement_timeout": 1.0, "db_pool_timeout": 1.0,
    }), run_dispatcher=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            yield proxy, client
    await proxy.stop()


@pytest.mark.parametrize("read", sorted(QUERIES))
@pytest.mark.parametrize("mode", ["refuse", "hang"])
async def test_a_down_or_hung_database_answers_503_fast_and_service_resumes_by_itself(
    proxied: tuple[TcpProxy, httpx.AsyncClient], club: ClubFixture, mode: str, read: str
) -> None:
    proxy, client = proxied
    query = QUERIES[read]
    assert "errors" not in await graphql(client, query, token=club.token())
    proxy.mode = mode
    proxy.cut()
    started = time.monotonic()
    body = await graphql(client, query, token=club.token(), expect_status=503)
    assert time.monotonic() - started < 5, "bounded connect, statement and pool timeouts"
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "asyncpg" not in str(body) and "OSError" not in str(body)
    assert (await client.get("/readyz")).status_code == 503
    proxy.mode = "forward"
    assert "errors" not in await graphql(client, query, token=club.token())
    assert (await client.get("/readyz")).status_code == 200
