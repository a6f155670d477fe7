"""Dataloaders: per-item lookups of a page batched into one statement per kind.

Created per operation (an HTTP request, or one subscription event): never shared across a
WebSocket connection's operations (which share one context).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

from strawberry.dataloader import DataLoader

from inbox.messages import delivery_counts
from inbox.sessions import booking_counts
from inbox.threads import ThreadView, load_thread_views, load_thread_views_by_target
from models import Member, Message, Session, Smartlist, Staff
from models.lookups import Row, rows_by_id
from models.rows import model_of
from resolvers.context import Context
from resolvers.targets import smartlist_counts

MISSING = object()
_BY_ID_LOADER: dict[type, str] = {Member: "members", Smartlist: "smartlists", Session: "sessions", Staff: "staff",
                                  Message: "messages"}
Value = TypeVar("Value")


class _ById(Generic[Row]):
    """A by-id loader of one model, made when first used and then kept on the operation's `Loaders`."""

    def __init__(self, model: type[Row]) -> None:
        self.model: type[Row] = model

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, loaders: Loaders, owner: type | None = None) -> DataLoader[int, Row | None]:
        loader: DataLoader[int, Row | None] = loaders._by_id(self.model)
        loaders.__dict__[self.name] = loader  # read from the instance from now on (a non-data descriptor)
        return loader


class Loaders:
    """One operation's dataloaders, each made when first used (most operations use none or one)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    members = _ById(Member)
    smartlists = _ById(Smartlist)
    sessions = _ById(Session)
    staff = _ById(Staff)
    messages = _ById(Message)

    @cached_property
    def thread_views(self) -> DataLoader[int, ThreadView | None]:
        return DataLoader(self._load_thread_views)

    @cached_property
    def threads_by_target(self) -> DataLoader[tuple[str, int], ThreadView | None]:
        return DataLoader(self._load_by_target)

    @cached_property
    def delivery_summaries(self) -> DataLoader[int, dict[str, int]]:
        return DataLoader(self._load_delivery_summaries)

    @cached_property
    def booking_counts(self) -> DataLoader[int, tuple[int, int]]:
        return DataLoader(self._load_booking_counts)

    @cached_property
    def smartlist_counts(self) -> DataLoader[tuple[int, str | None], int]:
        ctx = self.ctx
        return DataLoader(lambda keys: smartlist_counts(ctx, keys))

    def prime(self, rows: Sequence[Any]) -> None:
        """Keep rows a list's statement already loaded (its items' authors...) for the by-id loaders."""
        for row in rows:
            getattr(self, _BY_ID_LOADER[model_of(row)]).prime(row.id, row)

    @staticmethod
    def loaded(loader: DataLoader[Any, Any], key: Any) -> Any:
        """The value `loader` already holds for `key` (primed or loaded), else MISSING: a resolver can
        then answer at once instead of awaiting a future that is already there."""
        future = loader.cache_map.get(key)
        if future is None or not future.done() or future.cancelled() or future.exception() is not None:
            return MISSING
        return future.result()

    @staticmethod
    async def existing(loader: DataLoader[int, Value | None], key: int | None) -> Value:
        """The row a foreign key names (a thread's target or view, a delivery's member): the database keeps it."""
        value = None if key is None else await loader.load(key)
        if value is None:
            raise LookupError(f"no row {key} behind a foreign key")
        return value

    @staticmethod
    async def existing_many(loader: DataLoader[int, Value | None], keys: Sequence[int]) -> list[Value]:
        """Rows that other rows name (the smartlists of counts asked for): the database keeps them."""
        values = await loader.load_many(keys)
        found = [value for value in values if value is not None]
        if len(found) != len(values):
            raise LookupError("a row behind a foreign key is missing")
        return found

    def _by_id(self, model: type[Row]) -> DataLoader[int, Row | None]:
        async def load(ids: Sequence[int]) -> list[Row | None]:
            async with self.ctx.db() as session:
                rows = await rows_by_id(session, model, ids)
            return [rows.get(i) for i in ids]

        return DataLoader(load)

    async def _load_thread_views(self, ids: Sequence[int]) -> list[ThreadView | None]:
        async with self.ctx.db() as session:
            views = await load_thread_views(session, self.ctx.viewer_id, ids)
        return [views.get(i) for i in ids]

    async def _load_by_target(self, keys: Sequence[tuple[str, int]]) -> list[ThreadView | None]:
        wanted: dict[str, set[int]] = defaultdict(set)
        for category, target_id in keys:
            wanted[category].add(target_id)
        found: dict[tuple[str, int], ThreadView] = {}
        async with self.ctx.db() as session:
            for category, ids in wanted.items():
                views = await load_thread_views_by_target(session, self.ctx.viewer_id, category, ids)
                found.update(((category, target_id), view) for target_id, view in views.items())
        return [found.get(key) for key in keys]

    async def _load_delivery_summaries(self, message_ids: Sequence[int]) -> list[dict[str, int]]:
        async with self.ctx.db() as session:
            counts = await delivery_counts(session, message_ids)
        return [counts.get(i, {}) for i in message_ids]

    async def _load_booking_counts(self, session_ids: Sequence[int]) -> list[tuple[int, int]]:
        """(booked, waitlisted) per session."""
        async with self.ctx.db() as session:
            counts = await booking_counts(session, session_ids)
        return [counts.get(i, (0, 0)) for i in session_ids]


