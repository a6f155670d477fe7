"""A viewer's own state on a thread (read marker, forced unread, flags): the rules as values, and the
locked read and the one upsert that every write of it goes through (`inbox.actions`, sending).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inbox.errors import UserError
from inbox.threads import ThreadView, viewer_join
from inbox.vocabulary import Direction, UpdateReason
from models import Member, Message, Thread, ThreadState
from models.upsert import dialect_insert, is_postgresql


class Flag(StrEnum):
    """A viewer's flags on a thread, by their column."""

    FAVORITE = "is_favorite"
    MUTED = "is_muted"
    ARCHIVED = "is_archived"


FLAG_REASONS = {Flag.FAVORITE: UpdateReason.FAVORITE_CHANGED, Flag.MUTED: UpdateReason.MUTE_CHANGED,
                Flag.ARCHIVED: UpdateReason.ARCHIVE_CHANGED}
_STATE_DEFAULTS: dict[str, Any] = {"read_seq": 0, "read_inbound_count": 0, "forced_unread": False, "is_favorite": False,
                                   "is_muted": False, "muted_activity_at": None, "is_archived": False, "change_seq": 0}


@dataclass(frozen=True)
class Contact:
    """Where a member thread's member can be reached, and whether they accept it."""

    id: int
    email: str | None
    phone: str | None
    accepts_email: bool
    accepts_sms: bool


@dataclass
class LockedThread:
    """A thread locked for the transaction, with what the write needs to know of it, read at once."""

    thread: Thread
    state: ThreadState | None
    staff_id: int | None
    anyone_archived: bool = False
    contact: Contact | None = None

    @property
    def view(self) -> ThreadView:
        return ThreadView(self.thread, self.state, self.staff_id)


async def lock_thread(session: AsyncSession, thread_id: int, staff_id: int | None = None, *,
                      with_contact: bool = False) -> LockedThread | None:
    """The thread row locked for this transaction (PostgreSQL; SQLite writers are serialised), in one
    statement with the viewer's state, whether anyone archived it, and (`with_contact`) its member's
    addresses. Every writer of a thread's states locks the thread first, so what is read stays true."""
    anyone = aliased(ThreadState)
    archived = select(anyone.thread_id).where(anyone.thread_id == Thread.id, anyone.is_archived.is_(True)).exists()
    columns: list[Any] = [Thread, ThreadState, archived.label("anyone_archived")]
    if with_contact:
        columns += [Member.id, Member.email, Member.phone, Member.accepts_email, Member.accepts_sms]
    query = viewer_join(select(*columns), staff_id)
    if with_contact:
        query = query.outerjoin(Member, Member.id == Thread.member_id)
    query = query.where(Thread.id == thread_id)
    if is_postgresql(session):
        query = query.with_for_update(of=Thread)
    row = (await session.execute(query.execution_options(populate_existing=True))).one_or_none()
    if row is None:
        return None
    contact = Contact(*row[3:]) if with_contact and row[3] is not None else None
    return LockedThread(row[0], row[1], staff_id, bool(row[2]), contact)


def state_values(state: ThreadState | None) -> dict[str, Any]:
    """The viewer's state as column values (the defaults when they never touched the thread)."""
    if state is None:
        return dict(_STATE_DEFAULTS)
    return {name: getattr(state, name) for name in _STATE_DEFAULTS}


def changed(before: ThreadState | None, changes: dict[str, Any]) -> dict[str, Any]:
    """The changes that differ from the current state (empty: the action is a no-op)."""
    current = state_values(before)
    return {name: value for name, value in changes.items() if current[name] != value}


async def save_viewer_state(session: AsyncSession, locked: LockedThread, changes: dict[str, Any]) -> ThreadState:
    """Write the viewer's new state in one upsert; answer it as the view shows it (not read back)."""
    thread, staff_id = locked.thread, locked.staff_id
    assert staff_id is not None
    values = {**state_values(locked.state), **changes}
    if changes:
        await session.execute(
            dialect_insert(session, ThreadState)
            .values(club_id=thread.club_id, thread_id=thread.id, staff_id=staff_id, **values)
            .on_conflict_do_update(index_elements=[ThreadState.thread_id, ThreadState.staff_id], set_=changes)
        )
    locked.state = ThreadState(club_id=thread.club_id, thread_id=thread.id, staff_id=staff_id, **values)
    return locked.state


async def inbound_count_up_to(session: AsyncSession, thread: Thread, seq: int) -> int:
    if seq >= thread.last_seq:
        return thread.inbound_count
    return int(await session.scalar(
        select(func.count(Message.id)).where(Message.thread_id == thread.id, Message.seq <= seq,
                                             Message.direction == Direction.INBOUND)) or 0)


async def read_changes(session: AsyncSession, locked: LockedThread, up_to_seq: int | None = None) -> dict[str, Any]:
    """Read up to a message (default: the newest); a marker forced back by "unread" may move back."""
    thread, state = locked.thread, state_values(locked.state)
    target = thread.last_seq if up_to_seq is None else max(0, min(up_to_seq, thread.last_seq))
    new_seq = target if state["forced_unread"] else max(target, state["read_seq"])
    inbound = await inbound_count_up_to(session, thread, new_seq)
    changes: dict[str, Any] = {"read_seq": new_seq, "read_inbound_count": inbound, "forced_unread": False}
    if state["is_muted"]:
        changes["muted_activity_at"] = thread.last_message_at
    return changed(locked.state, changes)


def unread_changes(locked: LockedThread) -> dict[str, Any]:
    """Mark as unread: only with at least one message and nothing unread; then exactly 1 unread."""
    thread = locked.thread
    if thread.last_seq == 0:
        raise UserError("INVALID_INPUT", "A thread without messages cannot be marked as unread", ["input", "threadId"])
    if locked.view.unread_count > 0:
        raise UserError("THREAD_HAS_UNREAD", "The thread already has unread messages", ["input", "threadId"])
    # Everything is read; the marker moves just before the newest message, which shows as the 1 unread.
    return changed(locked.state, {"read_seq": thread.last_seq - 1, "read_inbound_count": thread.inbound_count,
                                  "forced_unread": True})


def flag_changes(locked: LockedThread, flag: Flag, value: bool) -> dict[str, Any]:
    """Favorite, mute or archive; muting freezes the viewer's activity date, unmuting releases it."""
    state = state_values(locked.state)
    changes: dict[str, Any] = {flag.value: value}
    if flag is Flag.MUTED and not value:
        changes["muted_activity_at"] = None
    elif flag is Flag.MUTED and not state["is_muted"]:
        changes["muted_activity_at"] = locked.view.activity_at
    return changed(locked.state, changes)


async def restore_for_everyone(session: AsyncSession, thread_id: int) -> None:
    """Any new message un-archives the thread for every viewer who had archived it."""
    await session.execute(
        update(ThreadState).where(ThreadState.thread_id == thread_id, ThreadState.is_archived.is_(True))
        .values(is_archived=False)
    )
