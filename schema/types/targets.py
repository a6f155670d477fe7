"""Smartlists and sessions: the broadcast targets, with their filters, teachers, rooms and calendar days."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry

import resolvers.targets as targets
from inbox.clubs import backoffice_link
from inbox.sessions import occupancy_rate
from inbox.smartlists import filter_types, filters_from_json
from models import Club as ClubRow
from models import Session as SessionRow
from models import Smartlist as SmartlistRow
from resolvers.ids import encode_id
from schema.arguments import After, First, SendChannel
from schema.enums import FilterOperator, SmartlistFilterField
from schema.info import Info
from schema.types.members import Address, Member, member_connection
from schema.types.pages import Connection, Node

if TYPE_CHECKING:  # threads.py imports this module: its resolvers import Thread when they run
    from schema.types.threads import Thread


@strawberry.type(description="One condition of a smartlist; a member must meet all of them.")
class SmartlistFilter:
    field: SmartlistFilterField = strawberry.field(description="What the condition looks at.")
    operator: FilterOperator = strawberry.field(description="How it compares (which ones a field takes: see "
                                                "SmartlistFilterField).")
    values: list[str] = strawberry.field(
        description="Operands as strings (dates ISO-8601, numbers in decimal notation); BETWEEN takes two, "
        "IN one or more.")


@strawberry.type(description="A saved, dynamic segment of members: a send reaches whoever matches its filters at "
                 "send time.")
class Smartlist(Node):
    name: str = strawberry.field(description="Display name.")
    description: str | None = strawberry.field(description="What the smartlist is for, if its author said.")
    filters: list[SmartlistFilter] = strawberry.field(description="Its conditions, ANDed; none means every member.")
    filter_types: list[SmartlistFilterField] = strawberry.field(description="The distinct fields its filters apply to.")
    url: str = strawberry.field(description="The smartlist's page in the back office.")
    external_id: str = strawberry.field(description="The club platform's own id of this smartlist.")
    row: strawberry.Private[SmartlistRow]

    @strawberry.field(description="Members matching the filters now.")
    async def member_count(self, info: Info) -> int:
        return await info.context.loaders.smartlist_counts.load((self.row.id, None))

    @strawberry.field(description="The members matching the filters now, by last name, first name, id.")
    async def members(self, info: Info, first: First = None, after: After = None) -> Connection[Member]:
        page = await targets.smartlist_members(info.context, self.row, first=first, after=after)
        return member_connection(page, await info.context.club())

    @strawberry.field(description="Members a send on this channel would reach now (address present, not opted out).")
    async def reachable_count(self, info: Info, channel: SendChannel) -> int:
        return await info.context.loaders.smartlist_counts.load((self.row.id, channel.value))

    @strawberry.field(description="The smartlist thread, if one exists.")
    async def thread(self, info: Info) -> Annotated[Thread, strawberry.lazy("schema.types.threads")] | None:
        from schema.types.threads import thread_of_target

        return await thread_of_target(info, "SMARTLIST", self.row.id)

    @classmethod
    def from_row(cls, row: SmartlistRow, club: ClubRow) -> Smartlist:
        filters = filters_from_json(row.filters or [])
        return cls(
            id=strawberry.ID(encode_id("Smartlist", row.id)), name=row.name, description=row.description,
            filters=[SmartlistFilter(field=SmartlistFilterField(f.field), operator=FilterOperator(f.operator),
                                     values=list(f.values)) for f in filters],
            filter_types=[SmartlistFilterField(name) for name in filter_types(filters)],
            url=backoffice_link(club, "SMARTLIST", row.external_id), external_id=row.external_id,
            row=row,
        )


@strawberry.type(description="Who teaches a session.")
class Teacher:
    name: str = strawberry.field(description="The teacher's name.")
    photo_url: str | None = strawberry.field(description="The teacher's picture, if the platform has one.")


@strawberry.type(description="Where a session takes place.")
class Room:
    name: str = strawberry.field(description="The room's name, e.g. Studio 2.")
    address: Address | None = strawberry.field(description="The room's address, when the platform gives one.")


@strawberry.type(description="One scheduled class of the calendar; a send reaches its booked members (and its "
                 "waitlist when asked).")
class Session(Node):
    name: str = strawberry.field(description="The class's name, e.g. Yoga Flow.")
    starts_at: dt.datetime = strawberry.field(description="When it starts (UTC).")
    ends_at: dt.datetime = strawberry.field(description="When it ends (UTC).")
    level: str | None = strawberry.field(description="The level it is meant for, e.g. All levels.")
    is_online: bool = strawberry.field(description="Whether it is held online.")
    capacity: int = strawberry.field(description="How many members can book it.")
    teacher: Teacher | None = strawberry.field(description="Null when the platform names no teacher.")
    room: Room | None = strawberry.field(description="Null when the platform names no room (e.g. online).")
    url: str = strawberry.field(description="The session's details page in the back office.")
    external_id: str = strawberry.field(description="The club platform's own id of this session.")
    row: strawberry.Private[SessionRow]

    @strawberry.field(description="Members booked on it.")
    async def booked_count(self, info: Info) -> int:
        return (await info.context.loaders.booking_counts.load(self.row.id))[0]

    @strawberry.field(description="Members on its waitlist.")
    async def waitlist_count(self, info: Info) -> int:
        return (await info.context.loaders.booking_counts.load(self.row.id))[1]

    @strawberry.field(description="bookedCount / capacity, from 0 to 1 (0 when capacity is 0; at most 1 when "
                      "overbooked).")
    async def occupancy_rate(self, info: Info) -> float:
        booked = (await info.context.loaders.booking_counts.load(self.row.id))[0]
        return occupancy_rate(booked, self.capacity)

    @strawberry.field(description="The booked members, in booking order.")
    async def bookings(self, info: Info, first: First = None, after: After = None) -> Connection[Member]:
        page = await targets.session_members_page(info.context, self.row, waitlisted=False, first=first, after=after)
        return member_connection(page, await info.context.club())

    @strawberry.field(description="The waitlisted members, by position.")
    async def waitlist(self, info: Info, first: First = None, after: After = None) -> Connection[Member]:
        page = await targets.session_members_page(info.context, self.row, waitlisted=True, first=first, after=after)
        return member_connection(page, await info.context.club())

    @strawberry.field(
        description="Booked members (and the waitlist when asked) a send on this channel would reach now.")
    async def reachable_count(self, info: Info, channel: SendChannel, include_waitlist: Annotated[
            bool | None, strawberry.argument(description="Count the waitlist too.")] = False) -> int:
        return await targets.session_reachable_count(info.context, self.row, channel.value, bool(include_waitlist))

    @strawberry.field(description="The session thread, if one exists.")
    async def thread(self, info: Info) -> Annotated[Thread, strawberry.lazy("schema.types.threads")] | None:
        from schema.types.threads import thread_of_target

        return await thread_of_target(info, "SESSION", self.row.id)

    @classmethod
    def from_row(cls, row: SessionRow, club: ClubRow) -> Session:
        room = None
        if row.room_name:
            room = Room(name=row.room_name, address=Address.of(row.room_street, row.room_postal_code,
                                                               row.room_city, row.room_country))
        return cls(
            id=strawberry.ID(encode_id("Session", row.id)), name=row.name, starts_at=row.starts_at,
            ends_at=row.ends_at, level=row.level, is_online=row.is_online, capacity=row.capacity,
            teacher=Teacher(name=row.teacher_name, photo_url=row.teacher_photo_url) if row.teacher_name else None,
            room=room, url=backoffice_link(club, "SESSION", row.external_id),
            external_id=row.external_id, row=row,
        )


@strawberry.type(description="One day of the calendar, in the club's time zone.")
class SessionDay:
    date: dt.date = strawberry.field(description="The day.")
    count: int = strawberry.field(description="Sessions starting that day.")
