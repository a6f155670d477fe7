"""The tables. Every one carries `club_id`; unique keys are per club."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, ClubScoped, UTCDateTime, utcnow

# Enumerations are stored as short strings (portable, and new values need no migration).
DELIVERY_STATUSES = ("QUEUED", "SENT", "DELIVERED", "FAILED", "SKIPPED")


def _partial(condition: str) -> dict[str, Any]:
    """A partial index on both databases (with one dialect's option alone, the other builds a full index)."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


class Club(Base):
    __tablename__ = "club"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    backoffice_url: Mapped[str] = mapped_column(String(500))
    addons: Mapped[list[str]] = mapped_column(JSON, default=list)
    sms_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    inbound_email: Mapped[str | None] = mapped_column(String(320), unique=True)
    # The newest change stamp pruned from the club's log (at least): the club's stamp is the greater
    # of it and the log's newest (inbox.changes.club_stamp).
    pruned_change_seq: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Staff(ClubScoped, Base):
    __tablename__ = "staff"
    __table_args__ = (
        UniqueConstraint("club_id", "external_id"),
        Index("ix_staff_email", "email_normalized"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    email_normalized: Mapped[str] = mapped_column(String(320))


class ApiKey(ClubScoped, Base):
    """A partner dashboard's read-only key; only its SHA-256 is stored."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Member(ClubScoped, Base):
    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("club_id", "external_id"),
        Index("ix_member_list_order", "club_id", "last_name_key", "first_name_key", "id"),
        Index("ix_member_email", "club_id", "email_normalized"),
        Index("ix_member_phone", "club_id", "phone"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100))
    member_number: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    accepts_email: Mapped[bool] = mapped_column(Boolean, default=True)
    accepts_sms: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[date] = mapped_column(Date)
    birth_date: Mapped[date | None] = mapped_column(Date)
    barcode: Mapped[str | None] = mapped_column(String(100))
    photo_url: Mapped[str | None] = mapped_column(String(1000))
    address_street: Mapped[str | None] = mapped_column(String(300))
    address_postal_code: Mapped[str | None] = mapped_column(String(30))
    address_city: Mapped[str | None] = mapped_column(String(200))
    address_country: Mapped[str | None] = mapped_column(String(2))
    emergency_name: Mapped[str | None] = mapped_column(String(200))
    emergency_phone: Mapped[str | None] = mapped_column(String(32))
    emergency_relationship: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    account_balance: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=Decimal(0))
    unpaid_invoices_count: Mapped[int] = mapped_column(Integer, default=0)
    documents_count: Mapped[int] = mapped_column(Integer, default=0)
    notes_count: Mapped[int] = mapped_column(Integer, default=0)
    # Maintained by the application (inbox.text): casefolded, accents stripped.
    last_name_key: Mapped[str] = mapped_column(String(200))
    first_name_key: Mapped[str] = mapped_column(String(200))
    email_normalized: Mapped[str | None] = mapped_column(String(320))
    city_key: Mapped[str | None] = mapped_column(String(200))
    search_text: Mapped[str] = mapped_column(Text)
    phone_digits: Mapped[str] = mapped_column(String(100), default="")


class MemberTag(ClubScoped, Base):
    """One tag of a member, for filtering; `Member.tags` keeps the display list."""

    __tablename__ = "member_tag"
    __table_args__ = (Index("ix_member_tag_tag", "club_id", "tag"),)

    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)


class Session(ClubScoped, Base):
    """A scheduled class (a 'séance'); named so in the product, not an ORM session."""

    __tablename__ = "class_session"
    __table_args__ = (
        UniqueConstraint("club_id", "external_id"),
        Index("ix_class_session_calendar", "club_id", "starts_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    level: Mapped[str | None] = mapped_column(String(100))
    is_online: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int] = mapped_column(Integer)
    teacher_name: Mapped[str | None] = mapped_column(String(200))
    teacher_photo_url: Mapped[str | None] = mapped_column(String(1000))
    room_name: Mapped[str | None] = mapped_column(String(200))
    room_street: Mapped[str | None] = mapped_column(String(300))
    room_postal_code: Mapped[str | None] = mapped_column(String(30))
    room_city: Mapped[str | None] = mapped_column(String(200))
    room_country: Mapped[str | None] = mapped_column(String(2))


class Booking(ClubScoped, Base):
    """A member booked on a session, or waiting for a place (`waitlisted`), in order."""

    __tablename__ = "booking"
    __table_args__ = (
        UniqueConstraint("session_id", "member_id"),
        Index("ix_booking_order", "session_id", "waitlisted", "position"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(BigId, ForeignKey("class_session.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("member.id", ondelete="CASCADE"))
    waitlisted: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer)


class Smartlist(ClubScoped, Base):
    __tablename__ = "smartlist"
    __table_args__ = (
        UniqueConstraint("club_id", "external_id"),
        Index("ix_smartlist_list_order", "club_id", "name_key", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    filters: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Thread(ClubScoped, Base):
    """The conversation with one target; at most one per target in a club."""

    __tablename__ = "thread"
    __table_args__ = (
        Index("uq_thread_member", "club_id", "member_id", unique=True, **_partial("member_id IS NOT NULL")),
        Index("uq_thread_smartlist", "club_id", "smartlist_id", unique=True, **_partial("smartlist_id IS NOT NULL")),
        Index("uq_thread_session", "club_id", "session_id", unique=True, **_partial("session_id IS NOT NULL")),
        Index("ix_thread_list_order", "club_id", "category", "sort_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    category: Mapped[str] = mapped_column(String(10))
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("member.id", ondelete="CASCADE"))
    smartlist_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("smartlist.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("class_session.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The newest message: its sequence number, time and id (0/null while empty).
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message_id: Mapped[int | None] = mapped_column(BigId)
    # Activity date for a viewer who has not muted it: last_message_at, or created_at while empty.
    sort_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Inbound messages so far, so unread counts are a subtraction, not a count.
    inbound_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Imported history is read for every staff user, including those added later.
    history_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    history_inbound_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    change_seq: Mapped[int] = mapped_column(BigId, default=0, server_default="0")

    @property
    def target_id(self) -> int:
        """The id of what the thread is about: its category sets exactly one of the three columns."""
        target_id = self.member_id or self.smartlist_id or self.session_id
        if target_id is None:
            raise ValueError(f"thread {self.id} names no target")
        return target_id


class ThreadState(ClubScoped, Base):
    """One staff user's view of one thread: read marker and flags."""

    __tablename__ = "thread_state"
    __table_args__ = (Index("ix_thread_state_staff", "club_id", "staff_id", "thread_id"),)

    thread_id: Mapped[int] = mapped_column(BigId, ForeignKey("thread.id", ondelete="CASCADE"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    read_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    read_inbound_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    forced_unread: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    is_favorite: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    is_muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # While muted: the activity date frozen for this viewer (null while the thread is empty).
    muted_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    change_seq: Mapped[int] = mapped_column(BigId, default=0, server_default="0")


class Message(ClubScoped, Base):
    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("thread_id", "seq"),
        Index("uq_message_provider_id", "club_id", "provider_message_id", unique=True,
              **_partial("provider_message_id IS NOT NULL")),
        Index("uq_message_idempotency", "club_id", "staff_id", "idempotency_key", unique=True,
              **_partial("idempotency_key IS NOT NULL")),
        Index("uq_message_external_id", "club_id", "external_id", unique=True,
              **_partial("external_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    thread_id: Mapped[int] = mapped_column(BigId, ForeignKey("thread.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(5))
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="SET NULL"))
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("member.id", ondelete="SET NULL"))
    subject: Mapped[str | None] = mapped_column(String(998))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    provider_message_id: Mapped[str | None] = mapped_column(String(300))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    in_reply_to_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("message.id", ondelete="SET NULL"))
    # The id it had in the system it was imported from.
    external_id: Mapped[str | None] = mapped_column(String(100))


class Delivery(ClubScoped, Base):
    """One outbound message to one member: the outbox row the dispatcher sends."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("message_id", "member_id"),
        Index("uq_delivery_token", "token", unique=True),
        Index("ix_delivery_queue", "status", "next_attempt_at", **_partial("status = 'QUEUED'")),
        Index("ix_delivery_member", "club_id", "member_id", "updated_at"),
        Index("ix_delivery_provider_id", "provider_message_id", **_partial("provider_message_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("message.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("member.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(5))
    address: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(10), default="QUEUED")
    reason: Mapped[str | None] = mapped_column(String(500))
    token: Mapped[str] = mapped_column(String(64))
    provider_message_id: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The dispatcher holding the row, until when; `sending_at` is set just before the provider is
    # called, so a claim that expires with it set is a send whose outcome is unknown (inbox.dispatcher).
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UnmatchedInbound(Base):
    """An inbound message no member (or no club) could be matched to; kept for operators."""

    __tablename__ = "unmatched_inbound"
    __table_args__ = (
        Index("uq_unmatched_provider_id", "channel", "provider_message_id", unique=True,
              **_partial("provider_message_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    club_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("club.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(5))
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(998))
    body: Mapped[str] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailgunToken(Base):
    """A Mailgun webhook token already accepted: each is accepted once, except for a provider retry
    of the same `message_id` (the inbound Message-Id, or the event's id). Not per club: Mailgun signs
    with one account-wide key, before any club is known."""

    __tablename__ = "mailgun_token"
    __table_args__ = (Index("ix_mailgun_token_signed_at", "signed_at"),)

    token: Mapped[str] = mapped_column(String(200), primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(300))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ThreadChange(ClubScoped, Base):
    """The club's change log: one row per change of a thread, in stamp order (threadUpdated reads it).
    Its unique (club_id, seq) is what hands out the stamps (inbox.changes.append_change)."""

    __tablename__ = "thread_change"
    __table_args__ = (UniqueConstraint("club_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigId)
    thread_id: Mapped[int] = mapped_column(BigId, ForeignKey("thread.id", ondelete="CASCADE"))
    # Set when only this staff user's view changed (read, flags); null when every viewer's did.
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("message.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
