"""Smartlists, sessions and the pickers: resolvers over the domain's queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from inbox import actions
from inbox.errors import BadUserInput, UserErrors
from inbox.members import list_members, tags_in_use, targets_by_external_id
from inbox.pagination import Page, page_size
from inbox.sessions import list_sessions, reachable_count, session_days, session_members
from inbox.smartlist_queries import list_smartlists, member_counts
from inbox.smartlists import club_today, count_members, filter_condition, filters_from_json, validate_filters
from models import Member, Session, Smartlist
from resolvers.context import Context

MAX_TAGS = 100


async def smartlist_members(
    ctx: Context, smartlist: Smartlist, *, first: int | None, after: str | None
) -> Page[Member]:
    club = await ctx.club()
    condition = filter_condition(filters_from_json(smartlist.filters or []), today=club_today(club.timezone))
    async with ctx.db() as session:
        return await list_members(session, search=None, first=page_size(first), after=after, condition=condition,
                                  list_name=("smartlist", smartlist.id))


async def session_members_page(ctx: Context, row: Session, *, waitlisted: bool, first: int | None,
                               after: str | None) -> Page[Member]:
    async with ctx.db() as session:
        return await session_members(session, row.id, waitlisted=waitlisted, first=page_size(first), after=after)


async def session_reachable_count(ctx: Context, row: Session, channel: str, include_waitlist: bool) -> int:
    async with ctx.db() as session:
        return await reachable_count(session, row.id, channel, include_waitlist=include_waitlist)


async def smartlist_counts(ctx: Context, keys: Sequence[tuple[int, str | None]]) -> list[int]:
    """Batched: member (or reachable) counts of several smartlists in one statement."""
    smartlists = await ctx.loaders.existing_many(ctx.loaders.smartlists, [smartlist_id for smartlist_id, _ in keys])
    club = await ctx.club()
    async with ctx.db() as session:
        return await member_counts(session, smartlists, [channel for _, channel in keys], club_today(club.timezone))


async def smartlists(ctx: Context, *, search: str | None, first: int | None, after: str | None) -> Page[Smartlist]:
    async with ctx.db() as session:
        return await list_smartlists(session, search=search, first=page_size(first), after=after)


async def create(ctx: Context, *, name: str, description: str | None, filters: list[dict[str, Any]]) -> Smartlist:
    principal = ctx.require_principal()
    async with ctx.write_db() as session:
        return await actions.create_smartlist(session, club_id=principal.club_id, name=name, description=description,
                                              filters=filters)


async def preview_count(ctx: Context, filters: list[dict[str, Any]]) -> int:
    """Members matching unsaved filters (raises UserErrors when they are invalid)."""
    rules, errors = validate_filters(filters, path=("filters",))
    if errors:
        raise UserErrors(errors)
    club = await ctx.club()
    async with ctx.db() as session:
        return await count_members(session, rules, club_today(club.timezone))


async def club_datetime(ctx: Context, value: datetime) -> datetime:
    """An input date-time; without an offset it is read in the club's time zone (as the calendar shows it)."""
    if value.tzinfo is None:
        club = await ctx.club()
        return value.replace(tzinfo=ZoneInfo(club.timezone))
    return value


async def calendar(ctx: Context, *, start: datetime, end: datetime, search: str | None, first: int | None,
                   after: str | None) -> Page[Session]:
    start, end = await club_datetime(ctx, start), await club_datetime(ctx, end)
    async with ctx.db() as session:
        return await list_sessions(session, start=start, end=end, search=search, first=page_size(first, default=50),
                                   after=after)


async def calendar_days(ctx: Context, *, start: date, end: date) -> list[tuple[date, int]]:
    club = await ctx.club()
    async with ctx.db() as session:
        return await session_days(session, start=start, end=end, timezone_name=club.timezone)


async def member_tags(ctx: Context, *, search: str | None, first: int | None) -> list[str]:
    """Tags in use, alphabetically; a search narrows them (case- and accent-insensitive)."""
    size = 50 if first is None else first
    if not 1 <= size <= MAX_TAGS:
        raise BadUserInput(f"`first` must be between 1 and {MAX_TAGS}, got {size}")
    async with ctx.db() as session:
        return await tags_in_use(session, search, size)


async def by_external_ids(ctx: Context, category: str, external_ids: Sequence[str]) -> list[Any | None]:
    if len(external_ids) > 100:
        raise BadUserInput("At most 100 ids at once")
    async with ctx.db() as session:
        return await targets_by_external_id(session, category, external_ids)
