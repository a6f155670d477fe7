"""Changes to threads, stamped with a per-club sequence and published after commit.

The stamp orders every change of a club: each change is a row of the club's log, numbered after the
log's newest (see `append_change`: stamps commit in order, without gaps), and `threadUpdated(after:)`
catches up with the threads changed after a stamp. Events are only hints for live subscribers: what
they say is always re-read from the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any, Protocol, cast

from sqlalchemy import BigInteger, ColumnElement, CursorResult, Table, bindparam, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.database import is_outage
from models import Club, Thread, ThreadChange
from models.base import utcnow
from models.engine import begin_write
from models.functions import greatest
from models.upsert import dialect_name, insert_of
from subscriptions.bus import MESSAGE_EVENT, THREAD_EVENT, BusEvent, club_channel, thread_channel

log = logging.getLogger("inbox.changes")

THREAD_CHANGE = cast(Table, ThreadChange.__table__)


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


def club_stamp(club_id: Any) -> ColumnElement[int]:
    """The club's latest change stamp, as SQL: its log's newest, or the newest that pruning removed
    (an idle club's log may be empty)."""
    logged = select(func.max(ThreadChange.seq)).where(ThreadChange.club_id == club_id).scalar_subquery()
    pruned = select(Club.pruned_change_seq).where(Club.id == club_id).scalar_subquery()
    return greatest(func.coalesce(logged, 0), func.coalesce(pruned, 0))


async def club_change_seq(session: AsyncSession, club_id: int) -> int:
    """The club's latest change stamp."""
    return int(await session.scalar(select(club_stamp(club_id))) or 0)


@lru_cache(maxsize=2)
def _append_statement(dialect: str) -> Any:
    """The log's next row under the club's next stamp, or nothing when another writer took that stamp."""
    club_id = bindparam("club_id", type_=BigInteger)
    return (
        insert_of(dialect, THREAD_CHANGE)
        .values(club_id=club_id, seq=club_stamp(club_id) + 1, thread_id=bindparam("thread_id"),
                staff_id=bindparam("staff_id"), reason=bindparam("reason"), message_id=bindparam("message_id"))
        .on_conflict_do_nothing(index_elements=[THREAD_CHANGE.c.club_id, THREAD_CHANGE.c.seq])
        .returning(THREAD_CHANGE.c.seq)
    )


async def append_change(session: AsyncSession, *, club_id: int, thread_id: int, reason: str,
                        staff_id: int | None = None, message_id: int | None = None) -> int:
    """Append a change to the club's log under the next stamp, in one statement, and answer the stamp.

    The stamp is the newest visible one plus one, unique per club. On PostgreSQL (read committed) a
    concurrent writer's stamp that is not committed yet makes the insert wait for that commit, then
    do nothing, and the next try reads past it; SQLite serialises writers. So a stamp is taken only
    once the one before it is committed: stamps commit in order and none is skipped, and the club's
    row is not written. Every action takes its stamp last, after its thread's lock (one lock order),
    and a waiter runs the statement again only when another writer of its club committed first.
    """
    values = {"club_id": club_id, "thread_id": thread_id, "staff_id": staff_id, "reason": reason,
              "message_id": message_id}
    statement = _append_statement(dialect_name(session))
    while True:
        seq = (await session.execute(statement, values)).scalar()
        if seq is not None:
            return int(seq)


async def record_change(
    session: AsyncSession, thread: Thread, reason: str, *, staff_id: int | None = None,
    message_id: int | None = None, message_seq: int | None = None,
) -> Change:
    """Stamp a change of a thread (for every viewer, or only `staff_id`'s) and append it to the log."""
    seq = await append_change(session, club_id=thread.club_id, thread_id=thread.id, reason=reason,
                              staff_id=staff_id, message_id=message_id)
    if staff_id is None:
        thread.change_seq = seq
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
    last update, seconds ago); a resume catches up from the stamps on threads and states instead.
    Each club keeps the newest stamp removed, so its next stamp still follows it."""
    old = ThreadChange.created_at < utcnow() - older_than
    newest_old = select(func.max(ThreadChange.seq)).where(ThreadChange.club_id == Club.id, old).scalar_subquery()
    async with sessions() as session:
        await begin_write(session)
        await session.execute(
            update(Club).where(exists().where(ThreadChange.club_id == Club.id, old))
            .values(pruned_change_seq=greatest(Club.pruned_change_seq, newest_old))
            .execution_options(synchronize_session=False)
        )
        result = cast(CursorResult[Any], await session.execute(delete(ThreadChange).where(old)))
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
