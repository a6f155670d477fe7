"""Staff sending a message, its rules: validation, recipients, consent, the sms add-on and idempotency
(`inbox.actions.send_message` applies them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.errors import UserError
from inbox.messages import MESSAGE_ID, SENT_AT
from inbox.smartlists import club_today, filter_condition, filters_from_json
from inbox.viewer_state import LockedThread
from inbox.vocabulary import Category, Channel, DeliveryStatus
from models import Booking, Club, Member, Message, Smartlist
from models.functions import random_token

MAX_BODY: dict[str, int] = {Channel.SMS: 1600, Channel.EMAIL: 100_000}
MAX_SUBJECT = 998
NO_ADDRESS: dict[str, str] = {Channel.EMAIL: "no email address", Channel.SMS: "no phone number"}
OPTED_OUT: dict[str, str] = {Channel.EMAIL: "opted out of email", Channel.SMS: "opted out of SMS"}


@dataclass(frozen=True)
class Draft:
    thread_id: int
    channel: str
    body: str
    subject: str | None = None
    include_waitlist: bool = False
    idempotency_key: str | None = None


def _field(name: str) -> list[str]:
    return ["input", name]


def validate_draft(draft: Draft, club: Club) -> None:
    """Refuse what can never be sent, before touching the thread."""
    if draft.channel == Channel.SMS and "sms" not in (club.addons or []):
        raise UserError("ADDON_REQUIRED", "Sending SMS needs the club's sms add-on", _field("channel"))
    if not draft.body.strip():
        raise UserError("INVALID_INPUT", "The message is empty", _field("body"))
    limit = MAX_BODY[draft.channel]
    if len(draft.body) > limit:
        raise UserError("INVALID_INPUT", f"The message is over {limit:,} characters", _field("body"))
    if draft.subject is not None and draft.channel == Channel.SMS:
        raise UserError("INVALID_INPUT", "An SMS has no subject", _field("subject"))
    if draft.subject is not None and len(draft.subject) > MAX_SUBJECT:
        raise UserError("INVALID_INPUT", f"The subject is over {MAX_SUBJECT} characters", _field("subject"))
    if draft.idempotency_key is not None and not 1 <= len(draft.idempotency_key) <= 200:
        raise UserError("INVALID_INPUT", "The idempotency key must have 1 to 200 characters", _field("idempotencyKey"))


@dataclass(frozen=True)
class DeliveryDraft:
    """One recipient of an outbound message: an address to send to, or the reason it is skipped."""

    member_id: int
    address: str | None
    skip_reason: str | None = None


def member_delivery(member: Any, channel: str) -> DeliveryDraft:
    """Where a member can be reached on a channel, or the fixed phrase saying why not."""
    address = member.email if channel == Channel.EMAIL else member.phone
    consents = member.accepts_email if channel == Channel.EMAIL else member.accepts_sms
    if not address:
        return DeliveryDraft(member.id, None, NO_ADDRESS[channel])
    if not consents:
        return DeliveryDraft(member.id, address, OPTED_OUT[channel])
    return DeliveryDraft(member.id, address)


def reachable_condition(channel: str) -> ColumnElement[bool]:
    """Members a send on this channel reaches: an address, and consent (the SQL twin of member_delivery)."""
    address = Member.email if channel == Channel.EMAIL else Member.phone
    consent = Member.accepts_email if channel == Channel.EMAIL else Member.accepts_sms
    return and_(address.isnot(None), address != "", consent.is_(True))


def delivery_rows(channel: str) -> list[Any]:
    """A send's delivery row per member, as the columns of `inbox.messages.DELIVERY_COLUMNS`: QUEUED
    when the member can be reached, else SKIPPED with the fixed phrase (the SQL twin of member_delivery)."""
    address = func.nullif(Member.email if channel == Channel.EMAIL else Member.phone, "")
    reachable = reachable_condition(channel)
    reason = case((address.is_(None), literal(NO_ADDRESS[channel])), (~reachable, literal(OPTED_OUT[channel])),
                  else_=null())
    status = case((reachable, literal(DeliveryStatus.QUEUED.value)), else_=literal(DeliveryStatus.SKIPPED.value))
    return [Member.club_id, MESSAGE_ID, Member.id, literal(channel), address, status, reason, random_token(),
            literal(0), case((reachable, SENT_AT), else_=null()), SENT_AT]


async def recipients(session: AsyncSession, locked: LockedThread, club: Club, draft: Draft) -> Select[Any]:
    """The SELECT of a send's delivery rows, in delivery order: the thread's member (whose addresses
    were read with the lock, so an unreachable one is refused before anything is written), or a
    broadcast's members as they are now. Tenancy is explicit: an INSERT … SELECT is not filtered."""
    thread, rows = locked.thread, delivery_rows(draft.channel)
    if thread.category == Category.MEMBER:
        assert locked.contact is not None
        delivery = member_delivery(locked.contact, draft.channel)
        if delivery.skip_reason:
            raise UserError("NO_RECIPIENT_ADDRESS", f"Cannot send by {draft.channel}: {delivery.skip_reason}",
                            _field("channel"))
        # Reachable again in the statement: the one row is QUEUED, whatever changed since the lock's read.
        return select(*rows).where(Member.id == locked.contact.id, Member.club_id == thread.club_id,
                                   reachable_condition(draft.channel))
    if thread.category == Category.SMARTLIST:
        smartlist = await session.scalar(select(Smartlist).where(Smartlist.id == thread.smartlist_id))
        assert smartlist is not None
        condition = filter_condition(filters_from_json(smartlist.filters), today=club_today(club.timezone))
        return select(*rows).where(Member.club_id == thread.club_id, condition).order_by(Member.id)
    query = (
        select(*rows).join(Booking, Booking.member_id == Member.id)
        .where(Booking.session_id == thread.session_id, Member.club_id == thread.club_id)
        .order_by(Booking.waitlisted, Booking.position, Booking.id)
    )
    return query if draft.include_waitlist else query.where(Booking.waitlisted.is_(False))


def no_recipient() -> UserError:
    return UserError("NO_RECIPIENT", "Nobody would receive this message", _field("threadId"))


def email_subject(draft: Draft, club: Club) -> str | None:
    """An email's subject: the one typed, else the club's name; an SMS has none."""
    if draft.channel != Channel.EMAIL:
        return None
    return draft.subject.strip() if draft.subject and draft.subject.strip() else club.name


async def earlier_send(session: AsyncSession, staff_id: int, draft: Draft) -> Message | None:
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
