"""Changes to threads, stamped with a per-club sequence and published after commit.

The stamp orders every change of a club (taken under the club row's lock, so stamps commit in
order): `threadUpdated(after:)` catches up with the threads changed after a stamp. Events are only
hints for live subscribers: what they say is always re-read from the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.database import is_outage
from models import Club, Thread, ThreadChange
from models.base import utcnow
from models.engine import begin_write
from subscriptions.bus import MESSAGE_EVENT, THREAD_EVENT, BusEvent, club_channel, thread_channel

log = logging.getLogger("inbox.changes")


class Publisher(Protocol):
    async def publish(self, channel: str, event: BusEvent) -> bool: ...


@dataclass(frozen=True)
class Change:
    """What changed in a thread; `staff_id` is set when only that viewer's state changed."""

    club_id: int
    thread_id: int
    category: str
    reason: str
    change_seq: int
    staff_id: int | None = None
    message_id: int | None = None
    message_seq: int | None = None


async def club_change_seq(session: AsyncSession, club_id: int) -> int:
    """The club's latest change stamp."""
    return int(await session.scalar(select(Club.change_seq).where(Club.id == club_id)) or 0)


async def next_change_seq(session: AsyncSession, club_id: int) -> int:
    """The club's next change stamp; holds the club row's lock until the transaction ends."""
    result = await session.execute(
        update(Club).where(Club.id == club_id).values(change_seq=Club.change_seq + 1).returning(Club.change_seq)
        .execution_options(synchronize_session=False)
    )
    return int(result.scalar_one())


async def record_change(
    session: AsyncSession, thread: Thread, reason: str, *, staff_id: int | None = None,
    message_id: int | None = None, message_seq: int | None = None,
) -> Change:
    """Stamp a change of a thread (for every viewer, or only `staff_id`'s) and append it to the log."""
    seq = await next_change_seq(session, thread.club_id)
    if staff_id is None:
        thread.change_seq = seq
    session.add(ThreadChange(club_id=thread.club_id, seq=seq, thread_id=thread.id, staff_id=staff_id, reason=reason,
                             message_id=message_id))
    return Change(club_id=thread.club_id, thread_id=thread.id, category=thread.category, reason=reason,
                  change_seq=seq, staff_id=staff_id, message_id=message_id, message_seq=message_seq)


async def publish_changes(bus: Publisher | None, changes: Iterable[Change | None]) -> None:
    """After commit: a hint on the club's channel, and on the thread's for a new message."""
    if bus is None:
        return
    for change in changes:
        if change is None:
            continue
        await bus.publish(club_channel(change.club_id), change_event(THREAD_EVENT, change))
        if change.message_seq is not None:
            await bus.publish(thread_channel(change.club_id, change.thread_id), change_event(MESSAGE_EVENT, change))


def change_event(kind: str, change: Change) -> BusEvent:
    return BusEvent(kind=kind, club_id=change.club_id, thread_id=change.thread_id, category=change.category,
                    reason=change.reason, change_seq=change.change_seq, staff_id=change.staff_id,
                    message_id=change.message_id, message_seq=change.message_seq)


CHANGE_LOG_RETENTION = timedelta(days=7)


async def prune_change_log(sessions: async_sessionmaker[AsyncSession], *,
                           older_than: timedelta = CHANGE_LOG_RETENTION) -> int:
    """Delete old change-log rows. Only live subscribers read the log (for what happened since their
    last update, seconds ago); a resume catches up from the stamps on threads and states instead."""
    async with sessions() as session:
        await begin_write(session)
        result = cast(CursorResult[Any], await session.execute(
            delete(ThreadChange).where(ThreadChange.created_at < utcnow() - older_than)))
        await session.commit()
    return int(result.rowcount or 0)


async def prune_change_log_forever(sessions: async_sessionmaker[AsyncSession], every: float = 3600.0) -> None:
    """Prune once an hour, for the life of the process (a failure waits for the next round)."""
    while True:
        try:
            removed = await prune_change_log(sessions)
            if removed:
                log.info("pruned %d change-log rows", removed)
        except Exception as exc:
            if is_outage(exc):
                log.warning("pruning the change log: database unavailable, next round in %.0f s", every)
            else:
                log.exception("pruning the change log failed")
        await asyncio.sleep(every)
