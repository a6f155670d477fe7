"""What the live-update hub reads besides the change log and the viewers' views (inbox.threads): the
threads subscribers watch, and the messages after the positions they hold, for all of them at once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Message, Thread
from models.lookups import rows_by_id


async def threads_by_id(session: AsyncSession, thread_ids: Iterable[int]) -> dict[int, Thread]:
    ids = set(thread_ids)
    return await rows_by_id(session, Thread, ids) if ids else {}


async def threads_with_new_messages(session: AsyncSession, positions: Mapping[int, int]) -> set[int]:
    """Of the threads given with the last seq a subscriber holds, those with a later message (one statement)."""
    if not positions:
        return set()
    heads = (await session.execute(select(Thread.id, Thread.last_seq).where(Thread.id.in_(set(positions))))).all()
    return {thread_id for thread_id, last in heads if last > positions[thread_id]}


async def messages_after(session: AsyncSession, positions: Mapping[int, int], limit: int) -> dict[int, list[Message]]:
    """Each thread's messages after the seq given for it, oldest first, at most `limit` per thread."""
    found: dict[int, list[Message]] = {}
    for thread_id, after in positions.items():
        found[thread_id] = list((await session.scalars(
            select(Message).where(Message.thread_id == thread_id, Message.seq > after)
            .order_by(Message.seq).limit(limit))).all())
    return found
