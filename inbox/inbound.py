"""Inbound webhooks, the domain side: verify the provider's signature, then store members' replies and
apply delivery reports.

The signature is checked before any other field is read. The receiving number or address chooses
the club; the normalised sender chooses the member; the message goes through
`inbox.actions.record_member_reply`, so the thread rules apply and a provider message id is stored
once. What cannot be matched is kept in `unmatched_inbound` with the reason, never dropped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses, parseaddr
from enum import StrEnum
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.actions import record_delivery_report, record_member_reply
from inbox.changes import Publisher
from inbox.clubs import has_two_way_sms_country
from inbox.errors import DomainError, Forbidden
from inbox.phones import try_e164
from inbox.transports import bare_message_id, split_reply_address, token_of_message_id, twilio_reason
from models import Club, Delivery, Member, UnmatchedInbound
from models.base import utcnow
from models.engine import begin_write, club_session
from models.tables import MailgunToken
from models.upsert import dialect_insert

Fields = Sequence[tuple[str, str]]
Sessions = async_sessionmaker[AsyncSession]

SIGNATURE_MAX_AGE = timedelta(minutes=5)
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
MAX_SUBJECT = 998
MAX_PROVIDER_ID = 300  # the columns' length
MAX_MAILGUN_TOKEN = 200  # the column's length; Mailgun's are 50 characters
MAX_RECIPIENTS = 10  # addresses of a `recipient` field looked at to find the club
MAX_ADDRESS = 320
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # what PostgreSQL cannot store in text

# Why an inbound message was kept unmatched (fixed phrases, listed by `inbox unmatched`).
NO_CLUB_NUMBER = "no club receives SMS at this number"
NO_CLUB_ADDRESS = "no club receives email at this address"
NO_INBOX_ADDON = "the club has no inbox add-on"
NO_SMS_ADDON = "the club has no sms add-on"
NO_TWO_WAY_SMS = "two-way SMS is only for clubs in Canada, the United States and the United Kingdom"
UNKNOWN_SENDER = "unknown sender"


class InvalidSignature(Forbidden):
    """The request is not the provider's (or is a replay): refused, nothing stored."""


class BadWebhook(DomainError):
    """A signed request without a field the provider always sends."""

    code = "BAD_REQUEST"


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    UNMATCHED = "unmatched"
    UPDATED = "updated"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Inbound:
    """A member's message as received, before it is matched."""

    channel: str
    sender: str
    recipient: str
    body: str
    subject: str | None = None
    provider_message_id: str | None = None


# --- signatures ------------------------------------------------------------------------------------

def twilio_signature(auth_token: str, url: str, fields: Fields) -> str:
    """Base64 HMAC-SHA1 of the URL followed by every field's name and value, sorted."""
    payload = url + "".join(name + value for name, value in sorted(fields))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def verify_twilio(auth_token: str | None, url: str, fields: Fields, signature: str | None) -> None:
    if not auth_token or not signature:
        raise InvalidSignature("missing Twilio signature")
    if not hmac.compare_digest(twilio_signature(auth_token, url, fields).encode(), signature.encode()):
        raise InvalidSignature("bad Twilio signature")


def mailgun_signature(signing_key: str, timestamp: str, token: str) -> str:
    return hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def verify_mailgun(signing_key: str | None, timestamp: Any, token: Any, signature: Any, now: datetime) -> datetime:
    """The signing time of a genuine, fresh Mailgun request (within 5 minutes of `now`)."""
    if not (signing_key and isinstance(timestamp, str) and isinstance(token, str) and isinstance(signature, str)):
        raise InvalidSignature("missing Mailgun signature")
    if not hmac.compare_digest(mailgun_signature(signing_key, timestamp, token).encode(), signature.encode()):
        raise InvalidSignature("bad Mailgun signature")
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidSignature("bad Mailgun timestamp") from None
    if abs(now - signed_at) > SIGNATURE_MAX_AGE:
        raise InvalidSignature("stale Mailgun timestamp")
    return signed_at


async def accept_mailgun_token(sessions: Sessions, token: str, signed_at: datetime, message_id: str | None,
                               now: datetime) -> None:
    """Each token is accepted once; a token seen before passes only with the `message_id` it first came
    with (the provider retrying the same message or event, which dedupe then turns into a no-op)."""
    async with sessions() as session:
        await begin_write(session)
        # Tokens signed before the freshness window can never pass again: forget them.
        await session.execute(delete(MailgunToken).where(MailgunToken.signed_at < now - 2 * SIGNATURE_MAX_AGE))
        inserted = cast(CursorResult[Any], await session.execute(
            dialect_insert(session, MailgunToken)
            .values(token=token, message_id=message_id, signed_at=signed_at)
            .on_conflict_do_nothing(index_elements=[MailgunToken.token])
        ))
        first_message_id = None
        if not inserted.rowcount:
            first_message_id = await session.scalar(select(MailgunToken.message_id).where(MailgunToken.token == token))
        await session.commit()
    if not inserted.rowcount and (message_id is None or first_message_id != message_id):
        raise InvalidSignature("Mailgun token already used")


# --- members' replies ------------------------------------------------------------------------------

def sms_consent(body: str) -> bool | None:
    """False for an opt-out keyword, True for an opt-in one (the whole text, any case), else None."""
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return False
    if word in OPT_IN_KEYWORDS:
        return True
    return None


def sms_refusal(club: Club) -> str | None:
    """Why a club does not receive SMS replies, or None when it does."""
    addons = club.addons or []
    if "inbox" not in addons:
        return NO_INBOX_ADDON
    if "sms" not in addons:
        return NO_SMS_ADDON
    if not has_two_way_sms_country(club):
        return NO_TWO_WAY_SMS
    return None


async def receive_sms(sessions: Sessions, *, auth_token: str | None, url: str, fields: Fields,
                      signature: str | None, bus: Publisher | None = None) -> Outcome:
    """A Twilio incoming message (`From`, `To`, `Body`, `MessageSid`) posted to `url`."""
    verify_twilio(auth_token, url, fields, signature)
    form = _storable(fields)
    inbound = Inbound("SMS", sender=_required(form, "From"), recipient=_required(form, "To"),
                      body=form.get("Body", ""), provider_message_id=_provider_id(_required(form, "MessageSid")))
    number = try_e164(inbound.recipient, None) or inbound.recipient
    async with sessions() as session:
        club = await session.scalar(select(Club).where(Club.sms_number == number))
    if club is None:
        return await keep_unmatched(sessions, inbound, None, NO_CLUB_NUMBER)
    sender = try_e164(inbound.sender, club.country)
    async with club_session(sessions, club.id) as session:
        member_id = await match_member(session, "SMS", sender) if sender else None
    consent = sms_consent(inbound.body)
    refusal = sms_refusal(club)
    if refusal is not None or member_id is None:
        # A member's opt-out counts even where replies are not received: consent is never ignored.
        return await keep_unmatched(sessions, inbound, club.id, refusal or UNKNOWN_SENDER,
                                    member_id=member_id, accepts_sms=consent)
    async with club_session(sessions, club.id) as session:
        stored = await record_member_reply(
            session, club.id, member_id, channel="SMS", body=inbound.body,
            provider_message_id=inbound.provider_message_id, accepts_sms=consent, bus=bus,
        )
    return Outcome.STORED if stored else Outcome.DUPLICATE


async def receive_email(sessions: Sessions, *, signing_key: str | None, fields: Fields,
                        now: datetime | None = None, bus: Publisher | None = None) -> Outcome:
    """A Mailgun inbound route's post (`sender`, `recipient`, `subject`, `body-plain`, `stripped-text`,
    `Message-Id`, `In-Reply-To`, signed with `timestamp`, `token`, `signature`)."""
    now = now or utcnow()
    form = dict(fields)
    signed_at = verify_mailgun(signing_key, form.get("timestamp"), form.get("token"), form.get("signature"), now)
    form = _storable(fields)
    message_id = _provider_id(bare_message_id(form.get("Message-Id")))
    await accept_mailgun_token(sessions, _mailgun_token(form["token"]), signed_at, message_id, now)
    stripped = form.get("stripped-text", "")
    inbound = Inbound(
        "EMAIL", sender=parseaddr(form.get("sender") or form.get("from") or "")[1].strip(),
        recipient=_required(form, "recipient"), body=stripped if stripped.strip() else form.get("body-plain", ""),
        subject=(form.get("subject") or "")[:MAX_SUBJECT] or None, provider_message_id=message_id,
    )
    async with sessions() as session:
        club, token = await _club_by_address(session, inbound.recipient)
    if club is None:
        return await keep_unmatched(sessions, inbound, None, NO_CLUB_ADDRESS)
    if "inbox" not in (club.addons or []):
        return await keep_unmatched(sessions, inbound, club.id, NO_INBOX_ADDON)
    async with club_session(sessions, club.id) as session:
        # The delivery answered: from the plus-tagged address, else from In-Reply-To (our Message-ID).
        # The club session only finds the club's own deliveries: a token never links across clubs.
        answered = (await _delivery_by_token(session, token)
                    or await _delivery_by_token(session, token_of_message_id(form.get("In-Reply-To"))))
        member_id = await match_member(session, "EMAIL", inbound.sender.casefold(),
                                       preferred=answered.member_id if answered else None)
    if member_id is None:
        return await keep_unmatched(sessions, inbound, club.id, UNKNOWN_SENDER)
    async with club_session(sessions, club.id) as session:
        stored = await record_member_reply(
            session, club.id, member_id, channel="EMAIL", body=inbound.body, subject=inbound.subject,
            provider_message_id=message_id, in_reply_to_id=answered.message_id if answered else None, bus=bus,
        )
    return Outcome.STORED if stored else Outcome.DUPLICATE


async def match_member(
    session: AsyncSession, channel: str, address: str, *, preferred: int | None = None
) -> int | None:
    """The member a normalised sender address (E.164 phone, casefolded email) belongs to.

    Several members sharing it (a family): `preferred` when among them (the member whose delivery
    the message answers), else the one who most recently received a delivery there, else the most
    recently registered.
    """
    column = Member.phone if channel == "SMS" else Member.email_normalized
    candidates = list((await session.scalars(
        select(Member.id).where(column == address).order_by(Member.registered_at.desc(), Member.id.desc())
    )).all())
    if preferred in candidates:
        return preferred
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    delivered_address = Delivery.address if channel == "SMS" else func.lower(Delivery.address)
    recent = await session.scalar(
        select(Delivery.member_id)
        .where(Delivery.member_id.in_(candidates), Delivery.channel == channel, delivered_address == address,
               Delivery.status.in_(("SENT", "DELIVERED")))
        .order_by(Delivery.id.desc()).limit(1)
    )
    return recent if recent is not None else candidates[0]


async def keep_unmatched(sessions: Sessions, inbound: Inbound, club_id: int | None, reason: str, *,
                         member_id: int | None = None, accepts_sms: bool | None = None) -> Outcome:
    """Keep what no member (or no club) takes, once per provider message id; a matched member's
    opt-out or opt-in still applies, in the same transaction."""
    async with sessions() as session:
        await begin_write(session)
        inserted = cast(CursorResult[Any], await session.execute(
            dialect_insert(session, UnmatchedInbound)
            .values(club_id=club_id, channel=inbound.channel, sender=inbound.sender[:320],
                    recipient=inbound.recipient[:320], subject=inbound.subject, body=inbound.body,
                    provider_message_id=inbound.provider_message_id, reason=reason, received_at=utcnow())
            .on_conflict_do_nothing(index_elements=[UnmatchedInbound.channel, UnmatchedInbound.provider_message_id],
                                    index_where=UnmatchedInbound.provider_message_id.isnot(None))
        ))
        if inserted.rowcount and member_id is not None and accepts_sms is not None:
            await session.execute(update(Member).where(Member.id == member_id).values(accepts_sms=accepts_sms))
        await session.commit()
    return Outcome.UNMATCHED if inserted.rowcount else Outcome.DUPLICATE


async def _club_by_address(session: AsyncSession, recipients: str) -> tuple[Club | None, str | None]:
    """The club receiving at one of the addresses, and the delivery token of a plus-tagged one."""
    for _, address in getaddresses([recipients])[:MAX_RECIPIENTS]:
        if "@" not in address or len(address) > MAX_ADDRESS:
            continue
        tagged = split_reply_address(address)
        candidates = {address.strip().lower(): None, **({tagged[0]: tagged[1]} if tagged else {})}
        club = await session.scalar(select(Club).where(Club.inbound_email.in_(list(candidates))))
        if club is not None and club.inbound_email is not None:
            return club, candidates[club.inbound_email]
    return None, None


async def _delivery_by_token(session: AsyncSession, token: str | None) -> Delivery | None:
    if not token:
        return None
    return await session.scalar(select(Delivery).where(Delivery.token == token))


def _storable(fields: Fields) -> dict[str, str]:
    """The fields as a dict, without the characters PostgreSQL cannot store (read after the signature
    is verified: it covers the values as sent)."""
    return {name: _UNSTORABLE.sub("", value) for name, value in fields}


def _mailgun_token(token: str) -> str:
    if len(token) > MAX_MAILGUN_TOKEN:
        raise BadWebhook("the token field is too long")
    return token


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise BadWebhook(f"the {name} field is missing")
    return value


# --- delivery reports ------------------------------------------------------------------------------

async def receive_sms_status(sessions: Sessions, *, auth_token: str | None, url: str, fields: Fields,
                             signature: str | None, on_change: Callable[[int], None] | None = None) -> Outcome:
    """A Twilio status callback (`MessageSid`, `MessageStatus`, `ErrorCode`); "undelivered" is failed.
    Our callback URL carries the delivery token, which finds the delivery even before its sid is known."""
    verify_twilio(auth_token, url, fields, signature)
    form = _storable(fields)
    status = form.get("MessageStatus", "").lower()
    if status == "delivered":
        new_status, reason = "DELIVERED", None
    elif status in ("failed", "undelivered"):
        new_status, reason = "FAILED", twilio_reason(form.get("ErrorCode"), form.get("ErrorMessage"))
    else:
        return Outcome.IGNORED
    token = next(iter(parse_qs(urlsplit(url).query).get("token", [])), None)
    updated = await record_delivery_report(sessions, token=token,
                                           provider_message_id=_provider_id(form.get("MessageSid")),
                                           status=new_status, reason=reason, on_change=on_change)
    return Outcome.UPDATED if updated else Outcome.IGNORED


async def receive_email_event(sessions: Sessions, *, signing_key: str | None, payload: Any,
                              now: datetime | None = None, on_change: Callable[[int], None] | None = None) -> Outcome:
    """A Mailgun event webhook (JSON: `signature`, `event-data`): delivered, or failed for good."""
    now = now or utcnow()
    if not isinstance(payload, dict):
        raise InvalidSignature("missing Mailgun signature")
    signature = _mapping(payload.get("signature"))
    signed_at = verify_mailgun(signing_key, signature.get("timestamp"), signature.get("token"),
                               signature.get("signature"), now)
    event = _mapping(payload.get("event-data"))
    await accept_mailgun_token(sessions, _mailgun_token(_UNSTORABLE.sub("", signature["token"])), signed_at,
                               _provider_id(_text(event.get("id"))), now)
    kind = event.get("event")
    if kind == "delivered":
        new_status, reason = "DELIVERED", None
    elif kind == "failed" and event.get("severity") == "permanent":
        new_status, reason = "FAILED", _mailgun_reason(event)
    else:
        return Outcome.IGNORED  # opened, clicked, a temporary failure Mailgun retries itself...
    headers = _mapping(_mapping(event.get("message")).get("headers"))
    message_id = _provider_id(bare_message_id(_text(headers.get("message-id"))))
    updated = await record_delivery_report(sessions, token=token_of_message_id(message_id),
                                           provider_message_id=message_id, status=new_status, reason=reason,
                                           on_change=on_change)
    return Outcome.UPDATED if updated else Outcome.IGNORED


def _mailgun_reason(event: dict[str, Any]) -> str:
    status = _mapping(event.get("delivery-status"))
    code = status.get("code") or event.get("reason") or "?"
    text = status.get("message") or status.get("description") or event.get("reason") or "failed"
    return _UNSTORABLE.sub("", f"Mailgun {code}: {text}")


def _mapping(value: Any) -> dict[str, Any]:
    """A JSON object of a signed payload, or an empty one when the provider sent something else."""
    return value if isinstance(value, dict) else {}


def _provider_id(value: str | None) -> str | None:
    return value[:MAX_PROVIDER_ID] if value else None


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return _UNSTORABLE.sub("", value) or None


# --- operators -------------------------------------------------------------------------------------

async def list_unmatched(session: AsyncSession, *, club_slug: str | None = None,
                         limit: int = 50) -> list[tuple[UnmatchedInbound, str | None]]:
    """The latest inbound messages that matched no member, newest first, with their club's slug."""
    query = (
        select(UnmatchedInbound, Club.slug).outerjoin(Club, Club.id == UnmatchedInbound.club_id)
        .order_by(UnmatchedInbound.id.desc()).limit(limit)
    )
    if club_slug is not None:
        club_id = await session.scalar(select(Club.id).where(Club.slug == club_slug))
        if club_id is None:
            raise DomainError(f"no club with slug {club_slug!r}")
        query = query.where(UnmatchedInbound.club_id == club_id)
    return [(row, slug) for row, slug in (await session.execute(query)).all()]
