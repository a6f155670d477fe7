"""The principal cache: authentication results kept a short while, so storms of connections do not
each hold a database connection (security-and-reliability.md, WebSocket, "Connection storms")."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from inbox.auth import Principal
from inbox.errors import Unauthenticated
from inbox.principals import PrincipalCache
from tests.factories import ClubFixture, graphql


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def principal(expires_in: timedelta | None = timedelta(hours=1)) -> Principal:
    expires_at = datetime.now(UTC) + expires_in if expires_in is not None else None
    return Principal(club_id=1, club_slug="c", addons=("inbox",), staff_id=1, expires_at=expires_at)


async def test_concurrent_authentications_of_one_credential_share_one_lookup() -> None:
    cache = PrincipalCache()
    lookups: list[str] = []
    release = asyncio.Event()

    async def lookup(credential: str) -> Principal:
        lookups.append(credential)
        await release.wait()
        return principal()

    tasks = [asyncio.create_task(cache.authenticate("token", lookup)) for _ in range(300)]
    await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.gather(*tasks)
    assert lookups == ["token"] and len(set(results)) == 1
    assert await cache.authenticate("token", lookup) is results[0] and lookups == ["token"]


async def test_entries_live_for_the_ttl_and_never_past_the_tokens_expiry() -> None:
    clock = Clock()
    cache = PrincipalCache(ttl=30, clock=clock)
    calls = 0

    async def lookup(credential: str) -> Principal:
        nonlocal calls
        calls += 1
        return principal(timedelta(seconds=-1) if credential == "expired" else timedelta(hours=1))

    await cache.authenticate("a", lookup)
    clock.now = 29
    await cache.authenticate("a", lookup)
    assert calls == 1
    clock.now = 31
    await cache.authenticate("a", lookup)
    assert calls == 2
    await cache.authenticate("expired", lookup)
    await cache.authenticate("expired", lookup)
    assert calls == 4  # an entry whose token has expired is never served


async def test_failures_are_not_cached_and_the_cache_is_bounded() -> None:
    cache = PrincipalCache(max_entries=3)
    attempts = 0

    async def refuse(credential: str) -> Principal:
        nonlocal attempts
        attempts += 1
        raise Unauthenticated("Invalid token")

    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await cache.authenticate("bad", refuse)
    assert attempts == 2 and len(cache) == 0

    async def accept(credential: str) -> Principal:
        return principal(None)

    for index in range(10):
        await cache.authenticate(f"key{index}", accept)
    assert len(cache) == 3


async def test_http_requests_authenticate_through_the_cache(app: Any, http: httpx.AsyncClient,
                                                            club: ClubFixture) -> None:
    engine = app.state.services.sessions.kw["bind"].sync_engine
    lookups: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "staff" in statement and "external_id" in statement:
            lookups.append(statement)

    token = club.token()
    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(3):
            await graphql(http, "{ club { name } }", token=token)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(lookups) == 1
