"""Subscription resolvers: register the live listener, catch up from the database, then go live.

Bus events are hints: on each one the subscriber re-reads what changed after the last thing it
delivered, so nothing is missed (a lost event is caught up on the next one, a bus reset, or the
periodic check) and nothing is sent twice (positions only move forward).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from inbox.errors import DomainError, Forbidden
from inbox.messages import cursor_seq
from inbox.threads import (
    ThreadView,
    UnreadCounts,
    change_log_since,
    decode_updates_cursor,
    encode_updates_cursor,
    load_thread_views,
    threads_changed_since,
    unread_counts,
)
from models import Club, Message, Thread
from resolvers.context import Context
from resolvers.ids import decode_id
from subscriptions.bus import OVERFLOW, RESET, club_channel, thread_channel

SAFETY_CHECK_SECONDS = 20.0  # pub/sub is at-most-once: re-read the database at least this often
CATCH_UP_BATCH = 500


class NotFound(DomainError):
    code = "NOT_FOUND"


@dataclass(frozen=True)
class ThreadUpdateRow:
    view: ThreadView
    reason: str
    change_seq: int
    message_id: int | None
    updates_cursor: str


def _staff_id(ctx: Context) -> int:
    principal = ctx.require_principal()
    if principal.staff_id is None:
        raise Forbidden("Subscriptions need a staff token")
    return principal.staff_id


async def _events(ctx: Context, channel: str) -> AsyncIterator[Any]:
    """The channel's events, plus a None at least every SAFETY_CHECK_SECONDS (time to re-check)."""
    metrics = ctx.services.metrics
    async with ctx.services.bus.subscribe(channel) as events:
        with metrics.subscription() if metrics else nullcontext():
            iterator = events.__aiter__()
            yield None  # subscribed: the caller catches up now
            pending: asyncio.Future[Any] | None = None
            try:
                while True:
                    # Wait without cancelling the read (that would end the bus iterator).
                    pending = pending or asyncio.ensure_future(iterator.__anext__())
                    done, _ = await asyncio.wait({pending}, timeout=SAFETY_CHECK_SECONDS)
                    if not done:
                        yield None
                        continue
                    event, pending = pending.result(), None
                    yield event
            finally:
                if pending is not None:
                    pending.cancel()


async def message_added(ctx: Context, thread_id: str, after: str | None) -> AsyncIterator[Message]:
    """Each new message of a thread in order; with `after`, every message after that cursor first."""
    _staff_id(ctx)
    decoded = decode_id(thread_id, "Thread")
    async with ctx.db() as session:
        thread = await session.scalar(select(Thread).where(Thread.id == decoded[1])) if decoded else None
    if thread is None:
        raise NotFound("No such thread")
    last_seq = cursor_seq(thread.id, after) if after is not None else thread.last_seq
    async for _ in _events(ctx, thread_channel(thread.club_id, thread.id)):
        while True:
            rows = await _messages_after(ctx, thread.id, last_seq)
            for message in rows:
                ctx.fresh_loaders()
                last_seq = message.seq
                yield message
            if len(rows) < CATCH_UP_BATCH:
                break


_IN_FLIGHT: dict[tuple[int, int], asyncio.Future[list[Message]]] = {}


async def _messages_after(ctx: Context, thread_id: int, after_seq: int) -> list[Message]:
    """A thread's messages after a position, read once for all the subscribers that wait for the same
    ones (every subscriber of a thread wakes on the same event): the shaping work is shared."""
    key = (thread_id, after_seq)
    shared = _IN_FLIGHT.get(key)
    if shared is not None:
        return await asyncio.shield(shared)
    future: asyncio.Future[list[Message]] = asyncio.get_running_loop().create_future()
    future.add_done_callback(lambda done: done.cancelled() or done.exception())  # never "not retrieved"
    _IN_FLIGHT[key] = future
    try:
        async with ctx.db() as session:
            rows = list((await session.scalars(
                select(Message).where(Message.thread_id == thread_id, Message.seq > after_seq)
                .order_by(Message.seq).limit(CATCH_UP_BATCH))).all())
    except Exception as exc:
        future.set_exception(exc)
        raise
    except BaseException:
        future.cancel()
        raise
    else:
        future.set_result(rows)
        return rows
    finally:
        _IN_FLIGHT.pop(key, None)


async def thread_updated(ctx: Context, category: str | None, after: str | None) -> AsyncIterator[ThreadUpdateRow]:
    """The subscriber's own view of each changed thread; with `after`, first one CATCH_UP per thread."""
    staff_id = _staff_id(ctx)
    club = await ctx.club()
    if after is not None:
        last_seq = decode_updates_cursor(staff_id, after)
    else:
        async with ctx.db() as session:
            last_seq = await _club_change_seq(session, club.id)
    resync = after is not None
    async for event in _events(ctx, club_channel(club.id)):
        kind = event.get("kind") if event is not None else None
        if kind == "thread" and not _concerns(event or {}, staff_id, category):
            continue
        if resync or kind in (RESET, OVERFLOW):
            updates = _catch_up(ctx, staff_id, category, last_seq)
        else:
            updates = _live_changes(ctx, staff_id, category, last_seq)
        async for update in updates:
            last_seq = update.change_seq
            ctx.fresh_loaders()
            yield update
        resync = False


async def _catch_up(
    ctx: Context, staff_id: int, category: str | None, after_seq: int
) -> AsyncIterator[ThreadUpdateRow]:
    """One CATCH_UP per thread changed since a stamp (a resume, or after the bus lost events)."""
    while True:
        async with ctx.db() as session:
            changed = await threads_changed_since(session, staff_id, after_seq, category, CATCH_UP_BATCH)
        for view, seq in changed:
            after_seq = seq
            yield ThreadUpdateRow(view, "CATCH_UP", seq, None, encode_updates_cursor(staff_id, seq))
        if len(changed) < CATCH_UP_BATCH:
            return


async def _live_changes(ctx: Context, staff_id: int, category: str | None,
                        after_seq: int) -> AsyncIterator[ThreadUpdateRow]:
    """Each logged change since a stamp, with its reason and message, as the viewer sees it now."""
    while True:
        async with ctx.db() as session:
            entries = await change_log_since(session, staff_id, after_seq, category, CATCH_UP_BATCH)
            views = await load_thread_views(session, staff_id, [entry.thread_id for entry in entries])
        for entry in entries:
            after_seq = entry.seq
            view = views.get(entry.thread_id)
            if view is not None:
                yield ThreadUpdateRow(view, entry.reason, entry.seq, entry.message_id,
                                      encode_updates_cursor(staff_id, entry.seq))
        if len(entries) < CATCH_UP_BATCH:
            return


def _concerns(event: dict[str, Any], staff_id: int, category: str | None) -> bool:
    """A thread event this subscriber sees: everyone's (a message), or their own state change."""
    if event.get("staff_id") not in (None, staff_id):
        return False
    return category is None or event.get("category") == category


async def _club_change_seq(session: Any, club_id: int) -> int:
    return int(await session.scalar(select(Club.change_seq).where(Club.id == club_id)) or 0)


async def unread_counts_changed(ctx: Context) -> AsyncIterator[UnreadCounts]:
    """The current counts at once, then each change (and again after a bus reset)."""
    staff_id = _staff_id(ctx)
    club = await ctx.club()
    last: UnreadCounts | None = None
    async for event in _events(ctx, club_channel(club.id)):
        if event is not None and event.get("kind") == "thread" and not _concerns(event, staff_id, None):
            continue
        async with ctx.db() as session:
            counts = await unread_counts(session, staff_id)
        reset = event is not None and event.get("kind") != "thread"
        if counts != last or reset:
            last = counts
            yield counts

