"""The per-operation context every resolver receives: who is calling, and how to reach the data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from inbox.auth import Principal
from inbox.changes import Publisher
from inbox.delivery_changes import DeliveryChangeNotifier
from inbox.errors import Forbidden, Unauthenticated
from inbox.pagination import Page
from inbox.ratelimit import RateDecision
from inbox.settings import Settings
from models import Club
from models.engine import club_session
from models.lookups import one_by_id
from subscriptions.bus import BusEvent

if TYPE_CHECKING:  # the loaders read through a context: a runtime import would be circular
    from resolvers.loaders import Loaders

_LOADERS: ContextVar[Loaders | None] = ContextVar("inbox_loaders", default=None)


class RateLimiter(Protocol):
    """The query-cost budgets (inbox/ratelimit.py keeps them in memory, or in Redis)."""

    async def charge(self, key: str, cost: int) -> RateDecision: ...

    async def peek(self, key: str) -> RateDecision: ...


class Bus(Publisher, Protocol):
    """The event bus (subscriptions/bus.py): actions publish on it, the subscription hubs read it."""

    published: int
    publish_failures: int

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[BusEvent]]: ...

    async def ready(self) -> bool: ...


class OperationMetrics(Protocol):
    """What the schema reports to the app's metrics (app/metrics.py)."""

    request_seconds: Histogram
    errors: Counter
    open_subscriptions: Gauge


@dataclass
class Services:
    """Process-wide resources, owned by the app's lifespan."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    """Sessions outside any transaction, for reads (`models.engine.read_session_factory`)."""
    rate_limiter: RateLimiter
    bus: Bus
    delivery_changes: DeliveryChangeNotifier
    metrics: OperationMetrics | None = None


@dataclass
class Context:
    """Created per HTTP request, and per WebSocket connection (where it is shared by operations)."""

    services: Services
    principal: Principal | None = None
    request: Request | WebSocket | None = None
    response: Response | None = None
    connection_params: dict[str, Any] | None = None
    request_id: str = ""
    _club: Club | None = field(default=None, repr=False)
    _club_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    query_cost: int = 0
    rate_limit: RateDecision | None = None

    @property
    def rate_limiter(self) -> RateLimiter:
        return self.services.rate_limiter

    @property
    def rate_limit_key(self) -> str | None:
        """Whose budget a request spends (None before authentication)."""
        return None if self.principal is None else self.principal.budget_key

    @property
    def viewer_id(self) -> int | None:
        """The staff user whose per-thread state applies (None for a partner API key)."""
        return self.require_principal().staff_id

    @property
    def staff_id(self) -> int:
        """The staff user acting: writes, viewer state and subscriptions need one (the schema's `IsStaff`)."""
        staff_id = self.require_principal().staff_id
        if staff_id is None:
            raise Forbidden("Partner API keys are read-only")
        return staff_id

    @property
    def loaders(self) -> Loaders:
        """The dataloaders of the running operation (or subscription event): see `fresh_loaders`."""
        loaders = _LOADERS.get()
        if loaders is None or loaders.ctx is not self:
            loaders = self.fresh_loaders()
        return loaders

    def fresh_loaders(self) -> Loaders:
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
        async with club_session(self.services.read_sessions, principal.club_id) as session:
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
                        self._club = await one_by_id(session, Club, principal.club_id)
        return self._club
