"""Staff sending a message: validation, recipients, consent, the sms add-on and idempotency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.auth import Principal
from inbox.errors import UserError
from inbox.messages import DeliveryDraft, post_message
from inbox.smartlists import club_today, filter_condition, filters_from_json
from inbox.threads import lock_thread
from models import Booking, Club, Member, Message, Smartlist, Thread
from models.engine import begin_write

MAX_BODY = {"SMS": 1600, "EMAIL": 100_000}
MAX_SUBJECT = 998
NO_ADDRESS = {"EMAIL": "no email address", "SMS": "no phone number"}
OPTED_OUT = {"EMAIL": "opted out of email", "SMS": "opted out of SMS"}


@dataclass(frozen=True)
class Draft:
    thread_id: int
    channel: str
    body: str
    subject: str | None = None
    include_waitlist: bool = False
    idempotency_key: str | None = None


@dataclass(frozen=True)
class SendResult:
    message: Message
    thread: Thread
    created: bool


def _field(name: str) -> list[str]:
    return ["input", name]


def validate_draft(draft: Draft, club: Club) -> None:
    """Refuse what can never be sent, before touching the thread."""
    if draft.channel == "SMS" and "sms" not in (club.addons or []):
        raise UserError("ADDON_REQUIRED", "Sending SMS needs the club's sms add-on", _field("channel"))
    if not draft.body.strip():
        raise UserError("INVALID_INPUT", "The message is empty", _field("body"))
    limit = MAX_BODY[draft.channel]
    if len(draft.body) > limit:
        raise UserError("INVALID_INPUT", f"The message is over {limit:,} characters", _field("body"))
    if draft.subject is not None and draft.channel == "SMS":
        raise UserError("INVALID_INPUT", "An SMS has no subject", _field("subject"))
    if draft.subject is not None and len(draft.subject) > MAX_SUBJECT:
        raise UserError("INVALID_INPUT", f"The subject is over {MAX_SUBJECT} characters", _field("subject"))
    if draft.idempotency_key is not None and not 1 <= len(draft.idempotency_key) <= 200:
        raise UserError("INVALID_INPUT", "The idempotency key must have 1 to 200 characters", _field("idempotencyKey"))


def member_delivery(member: Any, channel: str) -> DeliveryDraft:
    """Where a member can be reached on a channel, or the fixed phrase saying why not."""
    address = member.email if channel == "EMAIL" else member.phone
    consents = member.accepts_email if channel == "EMAIL" else member.accepts_sms
    if not address:
        return DeliveryDraft(member.id, None, NO_ADDRESS[channel])
    if not consents:
        return DeliveryDraft(member.id, address, OPTED_OUT[channel])
    return DeliveryDraft(member.id, address)


def reachable_condition(channel: str) -> ColumnElement[bool]:
    """Members a send on this channel reaches: an address, and consent (the SQL twin of member_delivery)."""
    address = Member.email if channel == "EMAIL" else Member.phone
    consent = Member.accepts_email if channel == "EMAIL" else Member.accepts_sms
    return and_(address.isnot(None), address != "", consent.is_(True))


_CONTACT = (Member.id, Member.email, Member.phone, Member.accepts_email, Member.accepts_sms)


async def broadcast_members(session: AsyncSession, thread: Thread, club: Club, include_waitlist: bool) -> list[Any]:
    """The members a smartlist or session thread sends to, as they are now."""
    if thread.category == "SMARTLIST":
        smartlist = await session.scalar(select(Smartlist).where(Smartlist.id == thread.smartlist_id))
        assert smartlist is not None
        condition = filter_condition(filters_from_json(smartlist.filters), today=club_today(club.timezone))
        return list((await session.execute(select(*_CONTACT).where(condition).order_by(Member.id))).all())
    query = (
        select(*_CONTACT).join(Booking, Booking.member_id == Member.id)
        .where(Booking.session_id == thread.session_id)
        .order_by(Booking.waitlisted, Booking.position, Booking.id)
    )
    if not include_waitlist:
        query = query.where(Booking.waitlisted.is_(False))
    return list((await session.execute(query)).all())


async def recipients(session: AsyncSession, thread: Thread, club: Club, draft: Draft) -> list[DeliveryDraft]:
    if thread.category == "MEMBER":
        member = (await session.execute(select(*_CONTACT).where(Member.id == thread.member_id))).one()
        delivery = member_delivery(member, draft.channel)
        if delivery.skip_reason:
            raise UserError("NO_RECIPIENT_ADDRESS", f"Cannot send by {draft.channel}: {delivery.skip_reason}",
                            _field("channel"))
        return [delivery]
    members = await broadcast_members(session, thread, club, draft.include_waitlist)
    if not members:
        raise UserError("NO_RECIPIENT", "Nobody would receive this message", _field("threadId"))
    return [member_delivery(member, draft.channel) for member in members]


async def _earlier_send(session: AsyncSession, staff_id: int, draft: Draft) -> Message | None:
    """The message first sent with this idempotency key; a different send with it is refused."""
    if draft.idempotency_key is None:
        return None
    earlier = await session.scalar(
        select(Message).where(Message.staff_id == staff_id, Message.idempotency_key == draft.idempotency_key))
    if earlier is None:
        return None
    same = (earlier.thread_id, earlier.channel, earlier.body) == (draft.thread_id, draft.channel, draft.body)
    if not same:
        raise UserError("INVALID_INPUT", "This idempotency key was used for another message",
                        _field("idempotencyKey"))
    return earlier


async def send_message(session: AsyncSession, principal: Principal, club: Club, draft: Draft) -> SendResult:
    """Post a staff message and its deliveries in one transaction; a retried key returns the first."""
    assert principal.staff_id is not None
    validate_draft(draft, club)
    try:
        await begin_write(session)
        earlier = await _earlier_send(session, principal.staff_id, draft)
        thread = await lock_thread(session, draft.thread_id)
        if thread is None:
            raise UserError("NOT_FOUND", "No such thread", _field("threadId"))
        if earlier is not None:
            return SendResult(earlier, thread, created=False)
        deliveries = await recipients(session, thread, club, draft)
        subject = None
        if draft.channel == "EMAIL":
            subject = draft.subject.strip() if draft.subject and draft.subject.strip() else club.name
        message = await post_message(
            session, thread, direction="OUTBOUND", channel=draft.channel, body=draft.body, subject=subject,
            staff_id=principal.staff_id, idempotency_key=draft.idempotency_key, deliveries=deliveries,
        )
        await session.commit()
        return SendResult(message, thread, created=True)
    except IntegrityError:
        # A concurrent retry with the same key committed first: answer with its message.
        await session.rollback()
        if draft.idempotency_key is None:
            raise
        earlier = await _earlier_send(session, principal.staff_id, draft)
        if earlier is None:
            raise
        thread = await session.scalar(select(Thread).where(Thread.id == earlier.thread_id))
        assert thread is not None
        return SendResult(earlier, thread, created=False)
    except BaseException:
        await session.rollback()
        raise
