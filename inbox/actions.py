"""The inbox's writes, one action each (Zulip's `do_*` functions): lock, apply the rule, commit, then
publish, and answer what the caller shows next.

Resolvers, webhooks, the command line and the demo translate their input and call one of these;
nothing else commits a change to a thread. Each takes a session of the caller's club (tenancy is the
session's) and the bus; an event is published only after its commit, and a failed publish never fails
the action (the change is committed; subscribers catch up from the stamps). What an action wrote it
knows: the answer's thread view is built from it, never read back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox import dispatcher
from inbox.changes import Change, Publisher, publish_changes, record_change
from inbox.errors import BadUserInput, UserError, UserErrors
from inbox.messages import cursor_seq, post_message
from inbox.sending import Draft, earlier_send, email_subject, no_recipient, recipients, validate_draft
from inbox.smartlists import filters_to_json, validate_filters
from inbox.text import fold
from inbox.threads import ThreadView, UnreadCounts, get_or_create_thread, load_thread_view, thread_change, unread_counts
from inbox.viewer_state import (
    FLAG_REASONS,
    Flag,
    LockedThread,
    flag_changes,
    lock_thread,
    read_changes,
    save_viewer_state,
    unread_changes,
)
from inbox.vocabulary import TARGETS, Category, DeliveryStatus, Direction, UpdateReason
from models import Club, Member, Message, Smartlist
from models.engine import begin_write

log = logging.getLogger("inbox.actions")

MAX_SMARTLIST_NAME = 200


@dataclass(frozen=True)
class ThreadOutcome:
    """A viewer's thread after their action, and their unread counts (None when not asked for)."""

    view: ThreadView
    counts: UnreadCounts | None


@dataclass(frozen=True)
class Sent:
    """A sent message (or the first one sent with its idempotency key: `created` False), the sender's
    unread counts when asked for, and its deliveries per status when the action knows them (a member
    thread's one queued delivery; a broadcast's are counted when asked)."""

    message: Message
    view: ThreadView
    counts: UnreadCounts | None
    created: bool
    delivery_counts: dict[str, int] | None = None


async def publish(bus: Publisher | None, changes: Sequence[Change | None]) -> None:
    """After commit; the change is already durable, so a bus failure is logged, not raised."""
    try:
        await publish_changes(bus, changes)
    except Exception:
        log.exception("publishing %d change(s) failed; subscribers catch up from the stamps", len(changes))


def _thread_not_found() -> UserError:
    return UserError("NOT_FOUND", "No such thread", ["input", "threadId"])


# --- starting a thread ----------------------------------------------------------------------------

async def start_thread(session: AsyncSession, bus: Publisher | None, *, club_id: int, viewer_id: int | None,
                       category: str, target_id: int) -> tuple[ThreadView, bool]:
    """The target's thread, created when it has none; answers (view, created)."""
    model = TARGETS[Category(category)].model
    await begin_write(session)
    if await session.scalar(select(model.id).where(model.id == target_id)) is None:
        raise UserError("NOT_FOUND", "No such member, smartlist or session", ["input", "targetId"])
    thread, created = await get_or_create_thread(session, club_id, category, target_id)
    await session.commit()
    if created:
        await publish(bus, [thread_change(thread, UpdateReason.CREATED)])
        return ThreadView(thread, None, viewer_id), True
    view = await load_thread_view(session, viewer_id, thread.id)
    assert view is not None
    return view, False


# --- sending --------------------------------------------------------------------------------------

async def send_message(session: AsyncSession, bus: Publisher | None, *, staff_id: int, club: Club,
                       draft: Draft, with_counts: bool = True) -> Sent:
    """Post a staff message and its deliveries in one transaction; a retried key answers the first.
    The sender's unread counts are read after commit, `with_counts` only (a statement)."""
    validate_draft(draft, club)
    try:
        await begin_write(session)
        earlier = await earlier_send(session, staff_id, draft)
        locked = await lock_thread(session, draft.thread_id, staff_id, with_contact=True)
        if locked is None:
            raise _thread_not_found()
        if earlier is not None:
            await session.commit()  # nothing written; a rollback would expire what was read
            return Sent(earlier, locked.view, await _counts(session, staff_id, with_counts), created=False)
        message, change, delivered = await post_message(
            session, locked, direction=Direction.OUTBOUND, channel=draft.channel, body=draft.body,
            subject=email_subject(draft, club), idempotency_key=draft.idempotency_key,
            deliveries=await recipients(session, locked, club, draft),
        )
        if not delivered:
            raise no_recipient()
        await session.commit()
    except IntegrityError:
        # A concurrent retry with the same key committed first: answer with its message.
        await session.rollback()
        earlier = await earlier_send(session, staff_id, draft) if draft.idempotency_key is not None else None
        if earlier is None:
            raise
        return await _sent_before(session, staff_id, earlier, with_counts)
    except BaseException:
        await session.rollback()
        raise
    await publish(bus, [change])
    # A member thread's one delivery is queued (`recipients` selects its member only when reachable).
    known = {DeliveryStatus.QUEUED.value: 1} if locked.thread.category == Category.MEMBER else None
    counts = await _counts(session, staff_id, with_counts)
    return Sent(message, locked.view, counts, created=True, delivery_counts=known)


async def _counts(session: AsyncSession, staff_id: int, wanted: bool) -> UnreadCounts | None:
    return await unread_counts(session, staff_id) if wanted else None


async def _sent_before(session: AsyncSession, staff_id: int, earlier: Message, with_counts: bool) -> Sent:
    view = await load_thread_view(session, staff_id, earlier.thread_id)
    assert view is not None
    return Sent(earlier, view, await _counts(session, staff_id, with_counts), created=False)


# --- one viewer's state: read, unread, flags ------------------------------------------------------

ViewerRule = Callable[[AsyncSession, LockedThread], Any]


async def _change_viewer_state(session: AsyncSession, bus: Publisher | None, staff_id: int, thread_id: int,
                               reason: str, rule: ViewerRule, with_counts: bool) -> ThreadOutcome:
    """Lock the thread with the viewer's state, apply the rule, and when it changes anything stamp
    and write the state in one upsert (a no-op writes and pushes nothing)."""
    try:
        await begin_write(session)
        locked = await lock_thread(session, thread_id, staff_id)
        if locked is None:
            raise _thread_not_found()
        changes = await rule(session, locked)
        change = None
        if changes:
            change = await record_change(session, locked.thread, reason, staff_id=staff_id)
            await save_viewer_state(session, locked, {**changes, "change_seq": change.change_seq})
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    await publish(bus, [change])
    return ThreadOutcome(locked.view, await _counts(session, staff_id, with_counts))


async def mark_thread_read(session: AsyncSession, bus: Publisher | None, *, staff_id: int, thread_id: int,
                           up_to: str | None = None, with_counts: bool = True) -> ThreadOutcome:
    """Read up to a message cursor of the thread (default: its newest message)."""
    async def rule(session: AsyncSession, locked: LockedThread) -> dict[str, Any]:
        try:
            up_to_seq = cursor_seq(thread_id, up_to)
        except BadUserInput as exc:
            message = "`upTo` is not a message cursor of this thread"
            raise UserError("INVALID_INPUT", message, ["input", "upTo"]) from exc
        return await read_changes(session, locked, up_to_seq)

    return await _change_viewer_state(session, bus, staff_id, thread_id, UpdateReason.READ, rule, with_counts)


async def mark_thread_unread(session: AsyncSession, bus: Publisher | None, *, staff_id: int,
                             thread_id: int, with_counts: bool = True) -> ThreadOutcome:
    async def rule(session: AsyncSession, locked: LockedThread) -> dict[str, Any]:
        return unread_changes(locked)

    return await _change_viewer_state(session, bus, staff_id, thread_id, UpdateReason.UNREAD, rule, with_counts)


async def set_thread_flag(session: AsyncSession, bus: Publisher | None, *, staff_id: int, thread_id: int,
                          flag: Flag, value: bool, with_counts: bool = True) -> ThreadOutcome:
    """Favorite, mute or archive for one viewer (idempotent)."""
    async def rule(session: AsyncSession, locked: LockedThread) -> dict[str, Any]:
        return flag_changes(locked, flag, value)

    return await _change_viewer_state(session, bus, staff_id, thread_id, FLAG_REASONS[flag], rule, with_counts)


# --- smartlists -----------------------------------------------------------------------------------

async def create_smartlist(session: AsyncSession, *, club_id: int, name: str, description: str | None,
                           filters: Sequence[Any]) -> Smartlist:
    """Validate everything (all problems at once), then store the smartlist."""
    rules, errors = validate_filters(filters)
    if not name.strip():
        errors.insert(0, UserError("INVALID_INPUT", "The smartlist needs a name", ["input", "name"]))
    elif len(name.strip()) > MAX_SMARTLIST_NAME:
        errors.insert(0, UserError("INVALID_INPUT", f"The name is over {MAX_SMARTLIST_NAME} characters",
                                   ["input", "name"]))
    if errors:
        raise UserErrors(errors)
    await begin_write(session)
    smartlist = Smartlist(
        club_id=club_id, external_id=f"inbox-{uuid.uuid4().hex[:12]}", name=name.strip(),
        name_key=fold(name), description=(description or "").strip() or None, filters=filters_to_json(rules),
    )
    session.add(smartlist)
    await session.commit()
    return smartlist


# --- what providers tell us: members' replies, delivery reports ----------------------------------

async def record_member_reply(
    session: AsyncSession, club_id: int, member_id: int, *, channel: str, body: str, subject: str | None = None,
    provider_message_id: str | None = None, in_reply_to_id: int | None = None, accepts_sms: bool | None = None,
    bus: Publisher | None = None,
) -> Message | None:
    """Store a member's message in their thread (created when they have none), commit, then publish.

    The thread's unread, mute and archive rules apply through `post_message`. `accepts_sms` (an
    opt-out or opt-in keyword) changes the member's consent in the same transaction. A provider
    message id already stored (the unique index decides, even under concurrent retries) changes
    nothing and returns None.
    """
    try:
        await begin_write(session)
        thread, _ = await get_or_create_thread(session, club_id, Category.MEMBER, member_id)
        locked = await lock_thread(session, thread.id)
        assert locked is not None
        message, change, _ = await post_message(
            session, locked, direction=Direction.INBOUND, channel=channel, body=body, subject=subject,
            member_id=member_id, provider_message_id=provider_message_id, in_reply_to_id=in_reply_to_id,
        )
        if accepts_sms is not None:
            await session.execute(update(Member).where(Member.id == member_id).values(accepts_sms=accepts_sms))
        await session.commit()
    except IntegrityError:
        await session.rollback()
        if provider_message_id is None or not await _stored(session, provider_message_id):
            raise
        return None
    except BaseException:
        await session.rollback()
        raise
    await publish(bus, [change])
    return message


async def _stored(session: AsyncSession, provider_message_id: str) -> bool:
    found = await session.scalar(select(Message.id).where(Message.provider_message_id == provider_message_id))
    return found is not None


async def record_delivery_report(
    sessions: async_sessionmaker[AsyncSession], *, token: str | None, provider_message_id: str | None,
    status: str, reason: str | None, on_change: Callable[[int], None] | None = None,
) -> bool:
    """A provider's delivery report (DELIVERED or FAILED) applied and committed by the dispatcher's
    rules, which own a delivery's life; the messages it changed go to `on_change`, the notifier that
    publishes at most one DELIVERY_CHANGED per message and second."""
    return await dispatcher.report_delivery(sessions, token=token, provider_message_id=provider_message_id,
                                            status=status, reason=reason, on_change=on_change)
