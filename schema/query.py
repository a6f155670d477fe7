"""The Query type."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.permission import BasePermission

import resolvers.targets as targets
import resolvers.threads as threads
from inbox.errors import UserErrors
from resolvers.members import resolve_members
from resolvers.nodes import load_node, load_nodes, load_thread
from resolvers.viewer import load_viewer
from schema.arguments import After, First, SearchMembers, SearchNames
from schema.enums import ThreadCategory, ThreadStatusFilter
from schema.info import Info
from schema.mutation import SmartlistFilterInput, UserError, filters_input
from schema.permissions import HasInboxAddon
from schema.selection import selected_fields, selects
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
    member_columns,
    member_connection,
    wrap_node,
)

INBOX: list[type[BasePermission]] = [HasInboxAddon]


@strawberry.type(description="What unsaved smartlist filters would match.")
class SmartlistPreview:
    member_count: int | None = strawberry.field(description="Members matching now; null when the filters are invalid.")
    user_errors: list[UserError] = strawberry.field(description="Why the filters are invalid; empty when they are not.")


@strawberry.type(description="The caller's query-cost budget: a leaky bucket that refills over time.")
class RateLimit:
    cost: int = strawberry.field(description="Cost of the current request.")
    limit: int = strawberry.field(description="The budget when full, in cost points.")
    remaining: int = strawberry.field(description="Points left now; a request costing more is RATE_LIMITED.")
    reset_at: dt.datetime = strawberry.field(description="When the budget will be full again.")


GlobalId = Annotated[strawberry.ID, strawberry.argument(description="A global id (Node.id).")]
GlobalIds = Annotated[list[strawberry.ID], strawberry.argument(description="Global ids (Node.id), at most 100.")]
ThreadId = Annotated[strawberry.ID, strawberry.argument(description="A Thread.id.")]
ListCategory = Annotated[ThreadCategory, strawberry.argument(
    description="The list to read: member, smartlist or session threads.")]
Status = Annotated[ThreadStatusFilter | None, strawberry.argument(description="The filter; null means ALL.")]
SearchThreads = Annotated[str | None, strawberry.argument(
    description="Words every thread must match (see the field), at most 200 characters; empty is no filter.")]
StartsFrom = Annotated[dt.datetime, strawberry.argument(
    name="from", description="The first instant, included; without an offset it is read in the club's time zone.")]
StartsBefore = Annotated[dt.datetime, strawberry.argument(
    description="The end, excluded; without an offset it is read in the club's time zone; not before `from`.")]
FirstDay = Annotated[dt.date, strawberry.argument(name="from", description="The first day, included.")]
LastDay = Annotated[dt.date, strawberry.argument(description="The last day, included.")]
TagCount = Annotated[int | None, strawberry.argument(description="How many tags at most, from 1 to 100.")]
Filters = Annotated[list[SmartlistFilterInput], strawberry.argument(
    description="The filters as createSmartlist takes them.")]
TargetCategory = Annotated[ThreadCategory, strawberry.argument(description="Which kind of object the ids name.")]
ExternalIds = Annotated[list[str], strawberry.argument(description="The club platform's own ids, at most 100.")]


@strawberry.type(description="Reads: every one sees the caller's club only.")
class Query:
    @strawberry.field(description="Any object by its global id; null when it is unknown or of another club.",
                      permission_classes=INBOX)
    async def node(self, info: Info, id: GlobalId) -> Node | None:
        row = await load_node(info.context, id)
        return wrap_node(row, await info.context.club(), info)

    @strawberry.field(description="Objects by global id, in input order, null where unknown (at most 100 ids).",
                      permission_classes=INBOX)
    async def nodes(self, info: Info, ids: GlobalIds) -> list[Node | None]:
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
    async def thread(self, info: Info, id: ThreadId) -> Thread | None:
        view = await load_thread(info.context, id)
        return Thread.of(view) if view else None

    @strawberry.field(description=(
        "The thread list of one category: favorites first, then by the viewer's activity date, newest first.\n"
        "`status` null or omitted means ALL; `search` matches names (and, for members, email and phone),\n"
        "case- and accent-insensitively, every word on its own."), permission_classes=INBOX)
    async def threads(self, info: Info, category: ListCategory, status: Status = ThreadStatusFilter.ALL,
                      search: SearchThreads = None, first: First = 20, after: After = None) -> ThreadConnection:
        status = status or ThreadStatusFilter.ALL
        targets = selected_fields(info, "edges", "node", "target", on="Member")
        page, updates_cursor = await threads.threads(info.context, category=category.value, status=status.value,
                                                     search=search, first=first, after=after,
                                                     with_total=selects(info, "totalCount"),
                                                     member_columns=member_columns(targets))
        return ThreadConnection.of(page, updates_cursor)

    @strawberry.field(description="The viewer's unread counts per category (a staff user only).",
                      permission_classes=INBOX)
    async def unread_counts(self, info: Info) -> UnreadCounts:
        counts = await threads.viewer_unread_counts(info.context)
        return UnreadCounts.of(counts, info.context.staff_id)

    @strawberry.field(description="Every member of the club, for the member picker.", permission_classes=INBOX)
    async def members(self, info: Info, search: SearchMembers = None, first: First = 20,
                      after: After = None) -> Connection[Member]:
        page = await resolve_members(info.context, search=search, first=first, after=after)
        return member_connection(page, await info.context.club())

    @strawberry.field(description="The club's smartlists by name, for the smartlist picker.",
                      permission_classes=INBOX)
    async def smartlists(self, info: Info, search: SearchNames = None, first: First = 20,
                         after: After = None) -> Connection[Smartlist]:
        page = await targets.smartlists(info.context, search=search, first=first, after=after)
        club = await info.context.club()
        return connection(page, lambda row: Smartlist.from_row(row, club))

    @strawberry.field(description="The calendar: sessions starting in [from, to), in start order.",
                      permission_classes=INBOX)
    async def sessions(self, info: Info, from_: StartsFrom, to: StartsBefore, search: SearchNames = None,
                       first: First = 50, after: After = None) -> Connection[Session]:
        page = await targets.calendar(info.context, start=from_, end=to, search=search, first=first, after=after)
        club = await info.context.club()
        return connection(page, lambda row: Session.from_row(row, club))

    @strawberry.field(description="How many sessions start on each day of [from, to] (club time zone): the "
                      "calendar's month view in one request.", permission_classes=INBOX)
    async def session_days(self, info: Info, from_: FirstDay, to: LastDay) -> list[SessionDay]:
        days = await targets.calendar_days(info.context, start=from_, end=to)
        return [SessionDay(date=day, count=count) for day, count in days]

    @strawberry.field(description="Tags in use among the club's members, for the smartlist editor.",
                      permission_classes=INBOX)
    async def member_tags(self, info: Info, search: SearchNames = None, first: TagCount = 50) -> list[str]:
        return await targets.member_tags(info.context, search=search, first=first)

    @strawberry.field(description="How many members these filters match now, before saving a smartlist.",
                      permission_classes=INBOX)
    async def smartlist_preview(self, info: Info, filters: Filters) -> SmartlistPreview:
        try:
            count = await targets.preview_count(info.context, filters_input(filters))
        except UserErrors as errors:
            return SmartlistPreview(member_count=None, user_errors=[UserError.of(e) for e in errors.errors])
        return SmartlistPreview(member_count=count, user_errors=[])

    @strawberry.field(description="Members, smartlists or sessions by the club platform's own ids (null where "
                      "unknown), in input order.", permission_classes=INBOX)
    async def nodes_by_external_id(self, info: Info, category: TargetCategory,
                                   external_ids: ExternalIds) -> list[Node | None]:
        club = await info.context.club()
        rows = await targets.by_external_ids(info.context, category.value, external_ids)
        return [wrap_node(row, club, info) for row in rows]

    @strawberry.field(description="The caller's query-cost budget (see security: cost limits).")
    async def rate_limit(self, info: Info) -> RateLimit:
        context = info.context
        decision = context.rate_limit or await context.rate_limiter.peek(context.require_principal().budget_key)
        return RateLimit(cost=context.query_cost, limit=decision.limit, remaining=decision.remaining,
                         reset_at=decision.reset_at)
