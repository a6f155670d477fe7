"""The real app in-process (its lifespan, over an ASGI transport) and staff users' GraphQL calls, timed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.factory import create_app
from bench.database import sqlite_statement_timeout
from inbox.auth import issue_staff_token
from inbox.ratelimit import MemoryRateLimiter
from inbox.settings import Settings

SECRET = "bench-secret-key-not-for-production-0123456789abcdef"
# The benchmark measures the rate limiter's work, not its refusals: a bucket no run can fill.
UNLIMITED = 10**15


class GraphQLFailure(RuntimeError):
    """A response with errors or user errors: a benchmark of failing requests measures nothing."""


@dataclass(frozen=True)
class Reply:
    seconds: float
    data: dict[str, Any]
    cost: int


def _user_errors(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "userErrors" and item:
                yield from item
            else:
                yield from _user_errors(item)
    elif isinstance(value, list):
        for item in value:
            yield from _user_errors(item)


@dataclass
class BenchClient:
    app: Starlette
    http: httpx.AsyncClient
    club_slug: str
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.app.state.services.sessions

    @property
    def engine(self) -> AsyncEngine:
        return self.sessions.kw["bind"]

    def token(self, staff: str) -> str:
        if staff not in self.tokens:
            self.tokens[staff] = issue_staff_token(SECRET, staff_external_id=staff, club_slug=self.club_slug,
                                                   ttl=timedelta(hours=6))
        return self.tokens[staff]

    async def call(self, query: str, variables: dict[str, Any] | None = None, *, staff: str) -> Reply:
        """POST one operation as `staff`; raises GraphQLFailure on any error or user error."""
        headers = {"Authorization": f"Bearer {self.token(staff)}"}
        started = time.perf_counter()
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                                        headers=headers)
        seconds = time.perf_counter() - started
        body = response.json()
        if response.status_code != 200 or body.get("errors") or body.get("data") is None:
            error = (body.get("errors") or [{}])[0]
            code = (error.get("extensions") or {}).get("code", "")
            raise GraphQLFailure(f"HTTP {response.status_code} {code}: {error.get('message')}")
        errors = list(_user_errors(body["data"]))
        if errors:
            raise GraphQLFailure(f"user errors: {errors}")
        return Reply(seconds, body["data"], int((body.get("extensions") or {}).get("cost", 0)))


@asynccontextmanager
async def running_app(database_url: str, club_slug: str) -> AsyncIterator[BenchClient]:
    """The app as `inbox serve` builds it (no dispatcher: deliveries stay queued, nothing is sent)."""
    settings = Settings(DATABASE_URL=database_url, INBOX_SECRET_KEY=SECRET, REDIS_URL=None)
    app = create_app(settings, run_dispatcher=False)
    async with app.router.lifespan_context(app):
        app.state.services.rate_limiter = MemoryRateLimiter(capacity=UNLIMITED)
        sqlite_statement_timeout(app.state.services.sessions.kw["bind"], settings.db_statement_timeout)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120.0) as http:
            yield BenchClient(app, http, club_slug)
