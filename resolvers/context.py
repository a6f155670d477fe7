"""The per-operation context every resolver receives: who is calling, and how to reach the data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.auth import Principal
from inbox.errors import Unauthenticated
from inbox.pagination import Page
from inbox.settings import Settings
from models import Club
from models.engine import club_session

_LOADERS: ContextVar[Any] = ContextVar("inbox_loaders", default=None)


@dataclass
class Services:
    """Process-wide resources, owned by the app's lifespan."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession] | None = None
    """Sessions outside any transaction, for reads (`models.engine.read_session_factory`)."""
    rate_limiter: Any = None
    bus: Any = None
    metrics: Any = None
    delivery_changes: Any = None


@dataclass
class Context:
    """Created per HTTP request, and per WebSocket connection (where it is shared by operations)."""

    services: Services
    principal: Principal | None = None
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    request_id: str = ""
    _club: Club | None = field(default=None, repr=False)
    _club_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    query_cost: int = 0
    rate_limit: Any = None

    @property
    def rate_limiter(self) -> Any:
        return self.services.rate_limiter

    @property
    def rate_limit_key(self) -> str | None:
        """Whose budget a request spends: the staff user's, or the API key's."""
        if self.principal is None:
            return None
        if self.principal.staff_id is not None:
            return f"staff:{self.principal.staff_id}"
        return f"key:{self.principal.api_key_id}"

    @property
    def viewer_id(self) -> int | None:
        """The staff user whose per-thread state applies (None for a partner API key)."""
        return self.require_principal().staff_id

    @property
    def loaders(self) -> Any:
        """The dataloaders of the running operation (or subscription event): see `fresh_loaders`."""
        loaders = _LOADERS.get()
        if loaders is None or loaders.ctx is not self:
            loaders = self.fresh_loaders()
        return loaders

    def fresh_loaders(self) -> Any:
        """New dataloaders for what runs next in this task and the tasks it starts.

        A WebSocket shares one context between its operations (built once per connection): each operation runs in its
        own task, and a subscription takes fresh loaders for every event, so no cache goes stale or
        crosses operations.
        """
        from resolvers.loaders import Loaders

        loaders = Loaders(self)
        _LOADERS.set(loaders)
        return loaders

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated("Authentication required")
        return self.principal

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        """A session for reads that sees only the caller's club. One per resolver: never share one
        across concurrently resolving fields."""
        principal = self.require_principal()
        async with club_session(self.services.read_sessions or self.services.sessions, principal.club_id) as session:
            yield session

    @asynccontextmanager
    async def write_db(self) -> AsyncIterator[AsyncSession]:
        """A session for one domain action (it begins the write transaction itself)."""
        principal = self.require_principal()
        async with club_session(self.services.sessions, principal.club_id) as session:
            yield session

    async def total_count(self, page: Page[Any]) -> int:
        """A list's totalCount, counted in a session of its own (only when the field is asked for)."""
        if page.count_query is None:
            return len(page.items)
        async with self.db() as session:
            return int(await session.scalar(page.count_statement()) or 0)

    @property
    def loaded_club(self) -> Club | None:
        """The caller's club when already loaded (authentication brings it, or the view loads it first)."""
        if self._club is None and self.principal is not None:
            return self.principal.club
        return self._club

    async def club(self) -> Club:
        """The caller's club, loaded once per context (concurrent resolvers wait for the one load)."""
        if self._club is None and self.principal is not None and self.principal.club is not None:
            self._club = self.principal.club
        if self._club is None:
            async with self._club_lock:
                if self._club is None:
                    principal = self.require_principal()
                    async with self.db() as session:
                        self._club = (await session.scalars(select(Club).where(Club.id == principal.club_id))).one()
        return self._club
