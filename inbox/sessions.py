"""Sessions (scheduled classes): the calendar, days with sessions, and who is booked or waiting."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.errors import BadUserInput
from inbox.pagination import Page, decode_key, keyset_page, list_digest
from inbox.search import name_search_condition
from inbox.sending import reachable_condition
from models import Booking, Member, Session
from models.base import UTCDateTime

MAX_CALENDAR_DAYS = 400


async def reachable_count(session: AsyncSession, session_id: int, channel: str, *, include_waitlist: bool) -> int:
    """Booked members (and the waitlist when asked) a send on this channel would reach now."""
    query = (select(func.count(Member.id)).join(Booking, Booking.member_id == Member.id)
             .where(Booking.session_id == session_id, reachable_condition(channel)))
    if not include_waitlist:
        query = query.where(Booking.waitlisted.is_(False))
    return int(await session.scalar(query) or 0)


async def booking_counts(session: AsyncSession, session_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(booked, waitlisted) of each session that has bookings."""
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    rows = await session.execute(
        select(Booking.session_id, Booking.waitlisted, func.count(Booking.id))
        .where(Booking.session_id.in_(set(session_ids)))
        .group_by(Booking.session_id, Booking.waitlisted))
    for session_id, waitlisted, count in rows:
        counts[session_id][1 if waitlisted else 0] = count
    return {session_id: (booked, waitlisted) for session_id, (booked, waitlisted) in counts.items()}


def occupancy_rate(booked: int, capacity: int) -> float:
    """Booked over capacity, from 0 to 1: 0 without capacity, at most 1 when overbooked."""
    return 0.0 if capacity <= 0 else min(1.0, booked / capacity)


async def list_sessions(
    session: AsyncSession, *, start: datetime, end: datetime, search: str | None, first: int, after: str | None
) -> Page[Session]:
    """Sessions starting in [start, end), by start time then id."""
    if end < start:
        raise BadUserInput("`to` is before `from`")
    digest = list_digest("sessions", start.isoformat(), end.isoformat(), search or "")
    key = decode_key(after, digest, datetime, int)
    in_range = (Session.starts_at >= start) & (Session.starts_at < end)
    condition = in_range & name_search_condition(Session.name_key, search)
    query = select(Session).where(condition)
    if key is not None:
        query = query.where(tuple_(Session.starts_at, Session.id) > tuple_(_utc(key[0]), key[1]))
    rows = list((await session.scalars(query.order_by(Session.starts_at, Session.id).limit(first + 1))).all())
    return keyset_page(rows, first, digest, lambda s: [s.starts_at.isoformat(), s.id], after=key,
                       count_query=lambda: select(func.count(Session.id)).where(condition))


def _utc(moment: datetime) -> ColumnElement[datetime]:
    return literal(moment, UTCDateTime)


async def session_days(session: AsyncSession, *, start: date, end: date, timezone_name: str) -> list[tuple[date, int]]:
    """How many sessions start on each day of [start, end] in the club's time zone (days with none omitted)."""
    if end < start:
        raise BadUserInput("`to` is before `from`")
    if (end - start).days > MAX_CALENDAR_DAYS:
        raise BadUserInput(f"At most {MAX_CALENDAR_DAYS} days at once")
    zone = ZoneInfo(timezone_name)
    lower = datetime.combine(start, time.min, zone)
    upper = datetime.combine(end + timedelta(days=1), time.min, zone)
    starts = (await session.scalars(
        select(Session.starts_at).where(Session.starts_at >= lower, Session.starts_at < upper))).all()
    counts: dict[date, int] = {}
    for moment in starts:
        day = moment.astimezone(zone).date()
        counts[day] = counts.get(day, 0) + 1
    return sorted(counts.items())


async def session_members(
    session: AsyncSession, session_id: int, *, waitlisted: bool, first: int, after: str | None
) -> Page[Member]:
    """Booked members in booking order, or the waitlist by position."""
    digest = list_digest("session-members", session_id, waitlisted)
    key = decode_key(after, digest, int, int)
    condition = (Booking.session_id == session_id) & (Booking.waitlisted.is_(waitlisted))
    query = select(Member, Booking.position, Booking.id).join(Booking, Booking.member_id == Member.id).where(condition)
    if key is not None:
        query = query.where(tuple_(Booking.position, Booking.id) > tuple_(key[0], key[1]))
    rows = (await session.execute(query.order_by(Booking.position, Booking.id).limit(first + 1))).all()
    page = keyset_page(rows, first, digest, lambda row: [row[1], row[2]], after=key,
                       count_query=lambda: select(func.count(Booking.id)).where(condition))
    return Page(items=[member for member, _, _ in page.items], cursors=page.cursors, has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page, count_query=page.count_query)
