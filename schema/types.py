"""Object types of the schema: wrappers built from domain rows, so resolvers never import schema."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from strawberry.types import Info

import resolvers.messages as messages_resolvers
import resolvers.targets as targets
from inbox.barcodes import barcode_svg
from inbox.clubs import backoffice_link, receives_sms_replies
from inbox.members import member_full_name
from inbox.messages import message_cursor, message_preview
from inbox.money import quantize
from inbox.pagination import Page
from inbox.sessions import occupancy_rate
from inbox.smartlists import filter_types, filters_from_json
from inbox.threads import ThreadView
from inbox.threads import UnreadCounts as DomainUnreadCounts
from models import Club as ClubRow
from models import Delivery as DeliveryRow
from models import Member as MemberRow
from models import Message as MessageRow
from models import Session as SessionRow
from models import Smartlist as SmartlistRow
from models import Staff as StaffRow
from models import Thread as ThreadRow
from resolvers.ids import encode_id
from schema.enums import (
    Channel,
    DeliveryStatus,
    FilterOperator,
    MessageDirection,
    SmartlistFilterField,
    ThreadCategory,
    ThreadUpdateReason,
)


@strawberry.interface
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque, globally unique id; the same id always names the same object."
    )


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, page: Page[Any]) -> PageInfo:
        return cls(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        )


NodeT = TypeVar("NodeT")


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    """A page of a keyset-paginated list (strawberry names it MemberConnection, ThreadConnection...)."""

    edges: list[Edge[NodeT]]
    page_info: PageInfo
    page: strawberry.Private[Page[Any]]

    @strawberry.field
    async def total_count(self, info: Info) -> int:
        return await info.context.total_count(self.page)


def connection(page: Page[Any], wrap: Callable[[Any], NodeT]) -> Connection[NodeT]:
    """The connection of a domain page, each item wrapped in its schema type."""
    edges = [Edge(cursor=cursor, node=wrap(item)) for item, cursor in zip(page.items, page.cursors, strict=True)]
    return Connection(edges=edges, page_info=PageInfo.of(page), page=page)


@strawberry.type
class Address:
    street: str
    postal_code: str
    city: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")

    @classmethod
    def of(cls, street: str | None, postal_code: str | None, city: str | None, country: str | None) -> Address | None:
        if not any((street, postal_code, city, country)):
            return None
        return cls(street=street or "", postal_code=postal_code or "", city=city or "", country=country or "")


@strawberry.type
class EmergencyContact:
    name: str
    phone: str
    relationship: str | None


@strawberry.type
class Money:
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217 currency code.")


@strawberry.type
class Club(Node):
    name: str
    receives_sms_replies: bool = strawberry.field(
        description="Whether members' SMS replies reach the inbox (the sms add-on, in CA, US or GB).")
    receives_email_replies: bool = strawberry.field(
        description="Whether members' email replies reach the inbox (the club has an inbound address).")
    timezone: str
    country: str
    currency: str
    addons: list[str]

    @classmethod
    def from_row(cls, row: ClubRow) -> Club:
        addons = list(row.addons or [])
        return cls(
            id=strawberry.ID(encode_id("Club", row.id)),
            name=row.name,
            receives_sms_replies=receives_sms_replies(row),
            receives_email_replies=row.inbound_email is not None,
            timezone=row.timezone,
            country=row.country,
            currency=row.currency,
            addons=addons,
        )


@strawberry.type
class Staff(Node):
    name: str
    email: str
    external_id: str

    @classmethod
    def from_row(cls, row: StaffRow) -> Staff:
        return cls(id=strawberry.ID(encode_id("Staff", row.id)), name=row.name, email=row.email,
                   external_id=row.external_id)


@strawberry.type
class Member(Node):
    member_number: str = strawberry.field(description="The club's own member number (the 'member ID' shown to staff).")
    first_name: str
    last_name: str
    full_name: str
    email: str | None
    phone: str | None = strawberry.field(description="E.164, e.g. +33612345678.")
    accepts_email: bool
    accepts_sms: bool
    registered_at: dt.date
    birth_date: dt.date | None
    barcode: str | None
    photo_url: str | None
    address: Address | None
    emergency_contact: EmergencyContact | None
    tags: list[str]
    account_balance: Money = strawberry.field(description="Negative when the member owes money.")
    unpaid_invoices_count: int
    documents_count: int
    notes_count: int
    profile_url: str
    external_id: str = strawberry.field(description="The club platform's own id of this member (as imported).")
    pk: strawberry.Private[int]

    @strawberry.field(
        description="The barcode rendered as an SVG document, generated by the server (safe to display as an image)."
    )
    def barcode_svg(self) -> str | None:
        return barcode_svg(self.barcode) if self.barcode else None

    @strawberry.field(description="The member thread, if one exists.")
    async def thread(self, info: Info) -> Thread | None:
        return await thread_of_target(info, "MEMBER", self.pk)

    @classmethod
    def from_row(cls, row: MemberRow, club: ClubRow) -> Member:
        emergency = (
            EmergencyContact(name=row.emergency_name, phone=row.emergency_phone or "",
                             relationship=row.emergency_relationship)
            if row.emergency_name else None
        )
        return cls(
            id=strawberry.ID(encode_id("Member", row.id)),
            pk=row.id,
            member_number=row.member_number,
            first_name=row.first_name,
            last_name=row.last_name,
            full_name=member_full_name(row.first_name, row.last_name),
            email=row.email,
            phone=row.phone,
            accepts_email=row.accepts_email,
            accepts_sms=row.accepts_sms,
            registered_at=row.registered_at,
            birth_date=row.birth_date,
            barcode=row.barcode,
            photo_url=row.photo_url,
            address=Address.of(row.address_street, row.address_postal_code, row.address_city, row.address_country),
            emergency_contact=emergency,
            tags=list(row.tags or []),
            account_balance=Money(amount=quantize(Decimal(row.account_balance), club.currency), currency=club.currency),
            unpaid_invoices_count=row.unpaid_invoices_count,
            documents_count=row.documents_count,
            notes_count=row.notes_count,
            profile_url=backoffice_link(club, "MEMBER", row.external_id),
            external_id=row.external_id,
        )






async def thread_of_target(info: Info, category: str, target_pk: int) -> Thread | None:
    view = await info.context.loaders.threads_by_target.load((category, target_pk))
    return Thread.of(view) if view else None


# --- smartlists and sessions ---------------------------------------------------------------------

@strawberry.type
class SmartlistFilter:
    field: SmartlistFilterField
    operator: FilterOperator
    values: list[str] = strawberry.field(
        description="Operands as strings (dates ISO-8601, numbers in decimal notation); BETWEEN takes two, "
        "IN one or more.")


@strawberry.type
class Smartlist(Node):
    name: str
    description: str | None
    filters: list[SmartlistFilter]
    filter_types: list[SmartlistFilterField] = strawberry.field(description="The distinct fields its filters apply to.")
    url: str
    external_id: str
    row: strawberry.Private[SmartlistRow]

    @strawberry.field(description="Members matching the filters now.")
    async def member_count(self, info: Info) -> int:
        return await info.context.loaders.smartlist_counts.load((self.row.id, None))

    @strawberry.field
    async def members(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[Member]:
        page = await targets.smartlist_members(info.context, self.row, first=first, after=after)
        return member_connection(page, await info.context.club())

    @strawberry.field(description="Members a send on this channel would reach now (address present, not opted out).")
    async def reachable_count(self, info: Info, channel: Channel) -> int:
        return await info.context.loaders.smartlist_counts.load((self.row.id, channel.value))

    @strawberry.field
    async def thread(self, info: Info) -> Thread | None:
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


@strawberry.type
class Teacher:
    name: str
    photo_url: str | None


@strawberry.type
class Room:
    name: str
    address: Address | None


@strawberry.type
class Session(Node):
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    level: str | None
    is_online: bool
    capacity: int
    teacher: Teacher | None
    room: Room | None
    url: str
    external_id: str
    row: strawberry.Private[SessionRow]

    @strawberry.field
    async def booked_count(self, info: Info) -> int:
        return (await info.context.loaders.booking_counts.load(self.row.id))[0]

    @strawberry.field
    async def waitlist_count(self, info: Info) -> int:
        return (await info.context.loaders.booking_counts.load(self.row.id))[1]

    @strawberry.field(description="bookedCount / capacity, from 0 to 1 (0 when capacity is 0; at most 1 when "
                      "overbooked).")
    async def occupancy_rate(self, info: Info) -> float:
        booked = (await info.context.loaders.booking_counts.load(self.row.id))[0]
        return occupancy_rate(booked, self.capacity)

    @strawberry.field
    async def bookings(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[Member]:
        page = await targets.session_members_page(info.context, self.row, waitlisted=False, first=first, after=after)
        return member_connection(page, await info.context.club())

    @strawberry.field
    async def waitlist(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[Member]:
        page = await targets.session_members_page(info.context, self.row, waitlisted=True, first=first, after=after)
        return member_connection(page, await info.context.club())

    @strawberry.field(
        description="Booked members (and the waitlist when asked) a send on this channel would reach now.")
    async def reachable_count(self, info: Info, channel: Channel, include_waitlist: bool | None = False) -> int:
        return await targets.session_reachable_count(info.context, self.row, channel.value, bool(include_waitlist))

    @strawberry.field
    async def thread(self, info: Info) -> Thread | None:
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
    date: dt.date
    count: int










ThreadTarget = Annotated[Member | Smartlist | Session, strawberry.union(
    "ThreadTarget", description="What a thread is a conversation with.")]
MessageAuthor = Annotated[Staff | Member, strawberry.union(
    "MessageAuthor", description="Who wrote a message: a staff user (outbound) or a member (inbound).")]


# --- threads and messages ------------------------------------------------------------------------

@strawberry.type
class Thread(Node):
    category: ThreadCategory
    activity_at: dt.datetime | None = strawberry.field(
        description="The viewer's activity date (see the muted rule); null while the thread has no message "
        "(it then sorts by createdAt).")
    unread_count: int = strawberry.field(
        description="Unread messages for the viewer (0 for a partner API key, which has no viewer state).")
    is_favorite: bool
    is_muted: bool
    is_archived: bool
    created_at: dt.datetime
    sort_key: str
    read_cursor: str | None = strawberry.field(
        description="The viewer's read marker (a Message.cursor); null when the viewer never read the thread.")
    latest_cursor: str = strawberry.field(
        description="The newest message's cursor, or the thread's start when it is empty: always valid as "
        "messageAdded(after:).")
    view: strawberry.Private[ThreadView]

    @classmethod
    def of(cls, view: ThreadView) -> Thread:
        thread = view.thread
        return cls(
            id=strawberry.ID(encode_id("Thread", thread.id)), category=ThreadCategory(thread.category),
            activity_at=view.activity_at, unread_count=view.unread_count, is_favorite=view.is_favorite,
            is_muted=view.is_muted, is_archived=view.is_archived, created_at=thread.created_at,
            sort_key=view.sort_key,
            read_cursor=message_cursor(thread.id, view.read_seq) if view.has_read else None,
            latest_cursor=message_cursor(thread.id, thread.last_seq), view=view,
        )

    @strawberry.field
    async def target(self, info: Info) -> ThreadTarget:
        return await target_of(info, self.view.thread)

    @strawberry.field(description="Display name: the member's full name, the smartlist's name, or the session's name.")
    async def title(self, info: Info) -> str:
        row = await target_row(info, self.view.thread)
        return member_full_name(row.first_name, row.last_name) if isinstance(row, MemberRow) else row.name

    @strawberry.field
    async def last_message(self, info: Info) -> Message | None:
        message_id = self.view.thread.last_message_id
        if message_id is None:
            return None
        row = await info.context.loaders.messages.load(message_id)
        return Message.of(row, info) if row else None

    @strawberry.field(description="Oldest first; 20 when no size is given. `last`/`before` read backwards from the "
                      "newest (what a chat view wants); `around` (a Message.cursor) returns the page centred on "
                      "that message.")
    async def messages(self, info: Info, first: int | None = None, after: str | None = None,
                       last: int | None = None, before: str | None = None,
                       around: str | None = None) -> Connection[Message]:
        page = await messages_resolvers.thread_messages(
            info.context, self.view.thread, first=first, after=after, last=last, before=before, around=around)
        return connection(page, lambda row: Message.of(row, info))


async def target_row(info: Info, thread: ThreadRow) -> MemberRow | SmartlistRow | SessionRow:
    """The thread's target row, through this operation's dataloaders (one query per kind and page)."""
    loaders = info.context.loaders
    if thread.category == "MEMBER":
        return await loaders.members.load(thread.member_id)
    if thread.category == "SMARTLIST":
        return await loaders.smartlists.load(thread.smartlist_id)
    return await loaders.sessions.load(thread.session_id)


async def target_of(info: Info, thread: ThreadRow) -> Member | Smartlist | Session:
    row, club = await target_row(info, thread), await info.context.club()
    if isinstance(row, MemberRow):
        return Member.from_row(row, club)
    if isinstance(row, SmartlistRow):
        return Smartlist.from_row(row, club)
    return Session.from_row(row, club)




@strawberry.type
class ThreadConnection(Connection[Thread]):
    updates_cursor: str = strawberry.field(
        description="Pass to threadUpdated(after:) to receive every change made after this list was read.")

    @classmethod
    def of(cls, page: Page[ThreadView], updates_cursor: str) -> ThreadConnection:
        base = connection(page, Thread.of)
        return cls(edges=base.edges, page_info=base.page_info, page=page, updates_cursor=updates_cursor)


@strawberry.type
class DeliverySummary:
    total: int
    queued: int
    sent: int
    delivered: int
    failed: int
    skipped: int

    @classmethod
    def of(cls, counts: dict[str, int]) -> DeliverySummary:
        return cls(total=sum(counts.values()), queued=counts.get("QUEUED", 0), sent=counts.get("SENT", 0),
                   delivered=counts.get("DELIVERED", 0), failed=counts.get("FAILED", 0),
                   skipped=counts.get("SKIPPED", 0))


@strawberry.type
class Delivery(Node):
    channel: Channel
    address: str | None = strawberry.field(
        description="The email address or phone number used; null when skipped for lack of one.")
    status: DeliveryStatus
    reason: str | None = strawberry.field(description="Why it failed or was skipped.")
    updated_at: dt.datetime
    row: strawberry.Private[DeliveryRow]

    @strawberry.field
    async def member(self, info: Info) -> Member:
        return Member.from_row(await info.context.loaders.members.load(self.row.member_id), await info.context.club())

    @classmethod
    def from_row(cls, row: DeliveryRow) -> Delivery:
        return cls(id=strawberry.ID(encode_id("Delivery", row.id)), channel=Channel(row.channel),
                   address=row.address, status=DeliveryStatus(row.status), reason=row.reason,
                   updated_at=row.updated_at, row=row)






@strawberry.type
class Message(Node):
    direction: MessageDirection
    channel: Channel
    subject: str | None
    body: str
    created_at: dt.datetime
    cursor: str = strawberry.field(
        description="This message's position in its thread; equal to its MessageEdge.cursor; valid as `after`, "
        "`before` and `around` in Thread.messages and as `after` in messageAdded.")
    idempotency_key: str | None = strawberry.field(
        description="The idempotency key it was sent with, shown to its sender only (to match an optimistic copy).")
    row: strawberry.Private[MessageRow]

    @classmethod
    def of(cls, row: MessageRow, info: Info) -> Message:
        viewer_id = info.context.viewer_id
        return cls(
            id=strawberry.ID(encode_id("Message", row.id)), direction=MessageDirection(row.direction),
            channel=Channel(row.channel), subject=row.subject, body=row.body, created_at=row.created_at,
            cursor=message_cursor(row.thread_id, row.seq),
            idempotency_key=row.idempotency_key if viewer_id is not None and viewer_id == row.staff_id else None,
            row=row,
        )

    @strawberry.field
    async def thread(self, info: Info) -> Thread:
        view = await info.context.loaders.thread_views.load(self.row.thread_id)
        return Thread.of(view)

    @strawberry.field
    async def author(self, info: Info) -> MessageAuthor | None:
        loaders = info.context.loaders
        if self.row.staff_id is not None:
            staff = await loaders.staff.load(self.row.staff_id)
            return Staff.from_row(staff) if staff else None
        if self.row.member_id is not None:
            member = await loaders.members.load(self.row.member_id)
            return Member.from_row(member, await info.context.club()) if member else None
        return None

    @strawberry.field(description="The body's first characters, white space collapsed (for list previews).")
    def preview(self, length: int | None = 140) -> str:
        return message_preview(self.row.body, 140 if length is None else length)

    @strawberry.field(description="The broadcast this inbound message answers, when known.")
    async def in_reply_to(self, info: Info) -> Message | None:
        if self.row.in_reply_to_id is None:
            return None
        row = await info.context.loaders.messages.load(self.row.in_reply_to_id)
        return Message.of(row, info) if row else None

    @strawberry.field(description="Null for inbound messages.")
    async def delivery_summary(self, info: Info) -> DeliverySummary | None:
        if self.row.direction == "INBOUND":
            return None
        return DeliverySummary.of(await info.context.loaders.delivery_summaries.load(self.row.id))

    @strawberry.field
    async def deliveries(self, info: Info, status: list[DeliveryStatus] | None = None, first: int | None = None,
                         after: str | None = None) -> Connection[Delivery]:
        statuses = [s.value for s in status] if status else None
        page = await messages_resolvers.message_deliveries(info.context, self.row, statuses=statuses,
                                                           first=first, after=after)
        return connection(page, Delivery.from_row)






@strawberry.type(description="Threads with at least one unread message, neither muted nor archived, for the viewer.")
class UnreadCounts:
    members: int
    smartlists: int
    sessions: int
    total: int

    @classmethod
    def of(cls, counts: DomainUnreadCounts) -> UnreadCounts:
        return cls(members=counts.members, smartlists=counts.smartlists, sessions=counts.sessions,
                   total=counts.total)


def wrap_node(row: Any, club: ClubRow, info: Info) -> Node | None:
    """The schema type for a domain row (union and interface members must be strawberry objects)."""
    if row is None:
        return None
    if isinstance(row, ThreadView):
        return Thread.of(row)
    wrappers: dict[type, Any] = {
        MemberRow: lambda: Member.from_row(row, club),
        SmartlistRow: lambda: Smartlist.from_row(row, club),
        SessionRow: lambda: Session.from_row(row, club),
        StaffRow: lambda: Staff.from_row(row),
        ClubRow: lambda: Club.from_row(row),
        MessageRow: lambda: Message.of(row, info),
        DeliveryRow: lambda: Delivery.from_row(row),
    }
    return wrappers[type(row)]()


@strawberry.type
class ThreadUpdate:
    thread: Thread = strawberry.field(
        description="The thread as the subscriber sees it now (its own unread count, flags and activity date).")
    edge: Edge[Thread] = strawberry.field(
        description="Its edge in threads(category: thread.category): the cursor is valid in any status/search of it.")
    message: Message | None = strawberry.field(
        description="The new message (MESSAGE_ADDED) or the one whose deliveries changed (DELIVERY_CHANGED).")
    reason: ThreadUpdateReason
    updates_cursor: str = strawberry.field(
        description="Position in the subscriber's update stream: valid as threadUpdated(after:).")


def member_connection(page: Page[MemberRow], club: ClubRow) -> Connection[Member]:
    return connection(page, lambda row: Member.from_row(row, club))
