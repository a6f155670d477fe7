"""The Query type."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.types import Info

import resolvers.targets as targets
import resolvers.threads as threads
from inbox.errors import UserErrors
from resolvers.members import resolve_members
from resolvers.nodes import load_node, load_nodes, load_thread
from resolvers.viewer import load_viewer
from schema.enums import ThreadCategory, ThreadStatusFilter
from schema.mutation import SmartlistFilterInput, UserError, filters_input
from schema.permissions import HasInboxAddon
from schema.types import (
    Club,
    Connection,
    Member,
    Node,
    Session,
    SessionDay,
    Smartlist,
    Staff,
    Thread,
    ThreadConnection,
    UnreadCounts,
    connection,
    member_connection,
    wrap_node,
)

INBOX = [HasInboxAddon]


@strawberry.type
class SmartlistPreview:
    member_count: int | None
    user_errors: list[UserError]


@strawberry.type
class RateLimit:
    cost: int = strawberry.field(description="Cost of the current request.")
    limit: int
    remaining: int
    reset_at: dt.datetime


@strawberry.type
class Query:
    @strawberry.field(permission_classes=INBOX)
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        row = await load_node(info.context, id)
        return wrap_node(row, await info.context.club(), info)

    @strawberry.field(permission_classes=INBOX)
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        club = await info.context.club()
        return [wrap_node(row, club, info) for row in await load_nodes(info.context, ids)]

    @strawberry.field(description="The signed-in staff user; null for an API-key client.")
    async def viewer(self, info: Info) -> Staff | None:
        row = await load_viewer(info.context)
        return Staff.from_row(row) if row else None

    @strawberry.field(description="The club of the signed-in staff user or API key.")
    async def club(self, info: Info) -> Club:
        return Club.from_row(await info.context.club())

    @strawberry.field(description="A thread of the caller's club by id; null when there is none.",
                      permission_classes=INBOX)
    async def thread(self, info: Info, id: strawberry.ID) -> Thread | None:
        view = await load_thread(info.context, id)
        return Thread.of(view) if view else None

    @strawberry.field(description=(
        "The thread list of one category: favorites first, then by the viewer's activity date, newest first.\n"
        "`status` null or omitted means ALL; `search` matches names (and, for members, email and phone),\n"
        "case- and accent-insensitively, every word on its own."), permission_classes=INBOX)
    async def threads(self, info: Info, category: ThreadCategory,
                      status: ThreadStatusFilter | None = ThreadStatusFilter.ALL, search: str | None = None,
                      first: int | None = 20, after: str | None = None) -> ThreadConnection:
        status = status or ThreadStatusFilter.ALL
        page, updates_cursor = await threads.threads(info.context, category=category.value, status=status.value,
                                                     search=search, first=first, after=after)
        return ThreadConnection.of(page, updates_cursor)

    @strawberry.field(permission_classes=INBOX)
    async def unread_counts(self, info: Info) -> UnreadCounts:
        counts = await threads.viewer_unread_counts(info.context)
        return UnreadCounts.of(counts, info.context.viewer_id)  # type: ignore[arg-type]

    @strawberry.field(description="Every member of the club, for the member picker.", permission_classes=INBOX)
    async def members(
        self, info: Info, search: str | None = None, first: int | None = 20, after: str | None = None
    ) -> Connection[Member]:
        page = await resolve_members(info.context, search=search, first=first, after=after)
        return member_connection(page, await info.context.club())

    @strawberry.field(permission_classes=INBOX)
    async def smartlists(self, info: Info, search: str | None = None, first: int | None = 20,
                         after: str | None = None) -> Connection[Smartlist]:
        page = await targets.smartlists(info.context, search=search, first=first, after=after)
        club = await info.context.club()
        return connection(page, lambda row: Smartlist.from_row(row, club))

    @strawberry.field(description="The calendar: sessions starting in [from, to), in start order.",
                      permission_classes=INBOX)
    async def sessions(self, info: Info, from_: Annotated[dt.datetime, strawberry.argument(name="from")],
                       to: dt.datetime, search: str | None = None, first: int | None = 50,
                       after: str | None = None) -> Connection[Session]:
        page = await targets.calendar(info.context, start=from_, end=to, search=search, first=first, after=after)
        club = await info.context.club()
        return connection(page, lambda row: Session.from_row(row, club))

    @strawberry.field(description="How many sessions start on each day of [from, to] (club time zone): the "
                      "calendar's month view in one request.", permission_classes=INBOX)
    async def session_days(self, info: Info, from_: Annotated[dt.date, strawberry.argument(name="from")],
                           to: dt.date) -> list[SessionDay]:
        days = await targets.calendar_days(info.context, start=from_, end=to)
        return [SessionDay(date=day, count=count) for day, count in days]

    @strawberry.field(description="Tags in use among the club's members, for the smartlist editor.",
                      permission_classes=INBOX)
    async def member_tags(self, info: Info, search: str | None = None, first: int | None = 50) -> list[str]:
        return await targets.member_tags(info.context, search=search, first=first)

    @strawberry.field(description="How many members these filters match now, before saving a smartlist.",
                      permission_classes=INBOX)
    async def smartlist_preview(self, info: Info, filters: list[SmartlistFilterInput]) -> SmartlistPreview:
        try:
            count = await targets.preview_count(info.context, filters_input(filters))
        except UserErrors as errors:
            return SmartlistPreview(member_count=None, user_errors=[UserError.of(e) for e in errors.errors])
        return SmartlistPreview(member_count=count, user_errors=[])

    @strawberry.field(description="Members, smartlists or sessions by the club platform's own ids (null where "
                      "unknown), in input order.", permission_classes=INBOX)
    async def nodes_by_external_id(self, info: Info, category: ThreadCategory,
                                   external_ids: list[str]) -> list[Node | None]:
        club = await info.context.club()
        rows = await targets.by_external_ids(info.context, category.value, external_ids)
        return [wrap_node(row, club, info) for row in rows]

    @strawberry.field(description="The caller's query-cost budget (see security: cost limits).")
    async def rate_limit(self, info: Info) -> RateLimit:
        context = info.context
        decision = context.rate_limit or await context.rate_limiter.peek(context.rate_limit_key)
        return RateLimit(cost=context.query_cost, limit=decision.limit, remaining=decision.remaining,
                         reset_at=decision.reset_at)
