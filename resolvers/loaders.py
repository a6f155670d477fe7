"""Dataloaders: per-item lookups of a page batched into one statement per kind.

Created per operation (an HTTP request, or one subscription event): never shared across a
WebSocket connection's operations (which share one context).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from inbox.threads import ThreadView, load_thread_views, load_thread_views_by_target
from models import Booking, Delivery, Member, Message, Session, Smartlist, Staff
from resolvers.context import Context
from resolvers.targets import smartlist_counts


class Loaders:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.members = self._by_id(Member)
        self.smartlists = self._by_id(Smartlist)
        self.sessions = self._by_id(Session)
        self.staff = self._by_id(Staff)
        self.messages = self._by_id(Message)
        self.thread_views: DataLoader[int, ThreadView | None] = DataLoader(self._load_thread_views)
        self.threads_by_target: DataLoader[tuple[str, int], ThreadView | None] = DataLoader(self._load_by_target)
        self.delivery_summaries: DataLoader[int, dict[str, int]] = DataLoader(self._load_delivery_summaries)
        self.booking_counts: DataLoader[int, tuple[int, int]] = DataLoader(self._load_booking_counts)
        self.smartlist_counts: DataLoader[tuple[int, str | None], int] = DataLoader(
            lambda keys: smartlist_counts(ctx, keys))

    def prime(self, rows: Sequence[Any]) -> None:
        """Keep rows a list's statement already loaded (its items' authors...) for the by-id loaders."""
        by_model = {Member: self.members, Smartlist: self.smartlists, Session: self.sessions, Staff: self.staff,
                    Message: self.messages}
        for row in rows:
            by_model[type(row)].prime(row.id, row)

    def _by_id(self, model: Any) -> DataLoader[int, Any]:
        async def load(ids: Sequence[int]) -> list[Any]:
            async with self.ctx.db() as session:
                rows = {row.id: row for row in await session.scalars(select(model).where(model.id.in_(set(ids))))}
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
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        async with self.ctx.db() as session:
            rows = await session.execute(
                select(Delivery.message_id, Delivery.status, func.count(Delivery.id))
                .where(Delivery.message_id.in_(set(message_ids)))
                .group_by(Delivery.message_id, Delivery.status))
            for message_id, status, count in rows:
                counts[message_id][status] = count
        return [counts.get(i, {}) for i in message_ids]

    async def _load_booking_counts(self, session_ids: Sequence[int]) -> list[tuple[int, int]]:
        """(booked, waitlisted) per session."""
        counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        async with self.ctx.db() as session:
            rows = await session.execute(
                select(Booking.session_id, Booking.waitlisted, func.count(Booking.id))
                .where(Booking.session_id.in_(set(session_ids)))
                .group_by(Booking.session_id, Booking.waitlisted))
            for session_id, waitlisted, count in rows:
                counts[session_id][1 if waitlisted else 0] = count
        return [(counts[i][0], counts[i][1]) if i in counts else (0, 0) for i in session_ids]


