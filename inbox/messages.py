"""Messages: posting one (the single path for staff sends and members' replies) and reading history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import BigInteger, CursorResult, Select, Table, bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.changes import Change, record_change
from inbox.errors import BadUserInput
from inbox.pagination import Page, decode_key, encode_cursor, keyset_page, list_digest
from inbox.text import collapse_spaces
from inbox.viewer_state import LockedThread, changed, restore_for_everyone, save_viewer_state
from inbox.vocabulary import Direction, UpdateReason
from models import Delivery, Member, Message, Staff, Thread
from models.base import UTCDateTime, utcnow
from models.rows import ColumnsStatement, spread

# A send's delivery rows are one INSERT … SELECT (see `inbox.sending.delivery_rows`): its SELECT names
# the new message and its time by these parameters, and gives the columns in this order.
MESSAGE_ID, SENT_AT = bindparam("message_id", type_=BigInteger), bindparam("sent_at", type_=UTCDateTime)
DELIVERY_COLUMNS = ("club_id", "message_id", "member_id", "channel", "address", "status", "reason", "token",
                    "attempts", "next_attempt_at", "updated_at")


async def post_message(
    session: AsyncSession,
    locked: LockedThread,
    *,
    direction: str,
    channel: str,
    body: str,
    subject: str | None = None,
    member_id: int | None = None,
    idempotency_key: str | None = None,
    provider_message_id: str | None = None,
    in_reply_to_id: int | None = None,
    deliveries: Select[Any] | None = None,
) -> tuple[Message, Change, int]:
    """Add a message to a thread locked by `inbox.viewer_state.lock_thread` (with the sender as its viewer
    for a staff message), in the caller's transaction.

    The thread's next sequence number, its activity, unread (inbound messages), un-archiving for every
    viewer, the sending staff user's read marker (and activity date when they muted it), and the
    delivery rows (the outbox): one statement each, and the thread's row written once, last.
    """
    thread, staff_id = locked.thread, locked.staff_id if direction == Direction.OUTBOUND else None
    now = utcnow()
    if thread.last_message_at is not None and now < thread.last_message_at:
        now = thread.last_message_at  # a clock step back must not reorder the thread
    message = Message(
        club_id=thread.club_id, thread_id=thread.id, seq=thread.last_seq + 1, direction=direction,
        channel=channel, staff_id=staff_id, member_id=member_id, subject=subject, body=body, created_at=now,
        idempotency_key=idempotency_key, provider_message_id=provider_message_id, in_reply_to_id=in_reply_to_id,
    )
    session.add(message)
    await session.flush()
    delivered = await _insert_deliveries(session, message, deliveries, now)
    if locked.anyone_archived:
        await restore_for_everyone(session, thread.id)
    inbound_count = thread.inbound_count + (1 if direction == Direction.INBOUND else 0)
    if staff_id is not None:
        muted = locked.state is not None and locked.state.is_muted
        await save_viewer_state(session, locked, changed(locked.state, {
            "read_seq": message.seq, "read_inbound_count": inbound_count, "forced_unread": False,
            "is_archived": False, **({"muted_activity_at": now} if muted else {})}))
    # Last: the club's next stamp waits for this commit, so the long part above does not hold it up.
    change = await record_change(session, thread, UpdateReason.MESSAGE_ADDED, message_id=message.id,
                                 message_seq=message.seq)
    thread.last_seq, thread.last_message_at, thread.last_message_id = message.seq, now, message.id
    thread.sort_at, thread.inbound_count = now, inbound_count
    await session.flush()
    return message, change, delivered


async def _insert_deliveries(session: AsyncSession, message: Message, rows: Select[Any] | None,
                             now: datetime) -> int:
    """One set-based statement whatever the number of recipients: no row goes through Python."""
    if rows is None:
        return 0
    statement = insert(cast(Table, Delivery.__table__)).from_select(DELIVERY_COLUMNS, rows)
    result = cast(CursorResult[Any], await session.execute(statement, {"message_id": message.id, "sent_at": now}))
    return int(result.rowcount)


def message_preview(body: str, length: int = 140) -> str:
    """The body's first `length` characters, white space collapsed.

    Collapsing a prefix gives a prefix of the collapsed body (less at most a trailing space), so a
    long email's preview collapses only its start, unless that start is mostly white space."""
    length = max(0, length)
    window = 2 * length + 64
    if len(body) > window:
        start = collapse_spaces(body[:window])
        if len(start) >= length:
            return start[:length]
    return collapse_spaces(body)[:length]


# --- history --------------------------------------------------------------------------------------

@lru_cache(maxsize=4096)  # each cursor of a history page names its thread's list
def messages_digest(thread_id: int) -> str:
    return list_digest("messages", thread_id)


def message_cursor(thread_id: int, seq: int) -> str:
    """A position in a thread: `seq` 0 is the thread's start (before its first message)."""
    return encode_cursor(messages_digest(thread_id), [seq])


def cursor_seq(thread_id: int, cursor: str | None) -> int | None:
    key = decode_key(cursor, messages_digest(thread_id), int)
    if key is None:
        return None
    if key[0] < 0:
        raise BadUserInput("Malformed cursor")
    return int(key[0])


async def list_messages(
    session: AsyncSession, thread: Thread, *, size: int, backwards: bool,
    after: str | None = None, before: str | None = None, around: str | None = None,
) -> Page[Message]:
    """Oldest first. `backwards` reads the newest `size` (before `before`); `around` centres a page."""
    after_seq, before_seq = cursor_seq(thread.id, after), cursor_seq(thread.id, before)
    around_seq = cursor_seq(thread.id, around)
    values = {"thread_id": thread.id, "after_seq": after_seq, "before_seq": before_seq, "around_seq": around_seq}
    bounds = (after_seq is not None, before_seq is not None)
    related: list[Any] = []

    async def read(part: str, limit: int) -> list[Message]:
        rows = await _history_statement(*bounds, part).rows(session, {**values, "history_limit": limit})
        related.extend(author for _, staff, member in rows for author in (staff, member) if author is not None)
        return [message for message, _, _ in rows]

    if around_seq is not None:
        older = await read("older", size // 2 + 1)
        newer = await read("newer", size - size // 2 + 1)
        keep_older = older[: size // 2]
        keep_newer = newer[: size - len(keep_older)]
        items = list(reversed(keep_older)) + keep_newer
        has_previous, has_next = len(older) > len(keep_older), len(newer) > len(keep_newer)
    elif backwards:
        rows = await read("newest", size + 1)
        items = list(reversed(rows[:size]))
        has_previous, has_next = len(rows) > size, before_seq is not None and before_seq <= thread.last_seq
    else:
        rows = await read("oldest", size + 1)
        items = rows[:size]
        has_previous, has_next = after_seq is not None and after_seq > 0, len(rows) > size

    def count_query() -> Any:
        return select(func.count(Message.id)).where(Message.thread_id == thread.id)

    return Page(items=items, cursors=[message_cursor(thread.id, m.seq) for m in items],
                has_next_page=has_next, has_previous_page=has_previous, count_query=count_query, related=related)


@lru_cache(maxsize=16)
def _history_statement(after: bool, before: bool, part: str) -> ColumnsStatement:
    """A page of a thread's messages, each with its author (staff or member), built once per kind of
    page: `part` is "oldest" or "newest" first, or the "older"/"newer" half around a message."""
    query = (select(Message, Staff, Member).outerjoin(Staff, Staff.id == Message.staff_id)
             .outerjoin(Member, Member.id == Message.member_id).where(Message.thread_id == bindparam("thread_id")))
    if after:
        query = query.where(Message.seq > bindparam("after_seq"))
    if before:
        query = query.where(Message.seq < bindparam("before_seq"))
    if part == "older":
        query = query.where(Message.seq < bindparam("around_seq"))
    elif part == "newer":
        query = query.where(Message.seq >= bindparam("around_seq"))
    order = Message.seq.desc() if part in ("older", "newest") else Message.seq
    return spread(query.order_by(order).limit(bindparam("history_limit")))


async def delivery_counts(session: AsyncSession, message_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Deliveries per status of some messages, in one statement (messages without any are left out)."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    ids = set(message_ids)
    if not ids:
        return counts
    rows = await _delivery_counts_statement().rows(session, {"ids": sorted(ids)})
    for message_id, status, count in rows:
        counts[message_id][status] = count
    return counts


@lru_cache(maxsize=1)
def _delivery_counts_statement() -> ColumnsStatement:
    return spread(select(Delivery.message_id, Delivery.status, func.count(Delivery.id))
                  .where(Delivery.message_id.in_(bindparam("ids", expanding=True)))
                  .group_by(Delivery.message_id, Delivery.status))


async def list_deliveries(session: AsyncSession, message_id: int, *, statuses: Sequence[str] | None, first: int,
                          after: str | None) -> Page[Delivery]:
    """A message's deliveries in creation order, optionally of some statuses."""
    digest = list_digest("deliveries", message_id, sorted(statuses or []))
    key = decode_key(after, digest, int)
    condition = Delivery.message_id == message_id
    if statuses:
        condition = condition & Delivery.status.in_(statuses)
    query = select(Delivery).where(condition)
    if key is not None:
        query = query.where(Delivery.id > key[0])
    rows = list((await session.scalars(query.order_by(Delivery.id).limit(first + 1))).all())
    return keyset_page(rows, first, digest, lambda d: [d.id], after=key,
                       count_query=lambda: select(func.count(Delivery.id)).where(condition))
