"""Object types of the schema: wrappers built from domain rows, so resolvers never import schema."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar, cast

import strawberry

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
from resolvers.loaders import MISSING
from schema.arguments import After, Around, Before, First, Last, MessageAfter, SendChannel
from schema.enums import (
    Channel,
    DeliveryStatus,
    FilterOperator,
    MessageDirection,
    SmartlistFilterField,
    ThreadCategory,
    ThreadUpdateReason,
)
from schema.info import Info
from schema.selection import selects_path


@strawberry.interface(description="An object with a global id: node(id:) and nodes(ids:) load it again.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque, globally unique id; the same id always names the same object."
    )


@strawberry.type(description="Where a page stands in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether items follow this page (read them with `after`).")
    has_previous_page: bool = strawberry.field(
        description="Whether items precede this page (read them with `before`, where the list takes it).")
    start_cursor: str | None = strawberry.field(description="The first edge's cursor; null for an empty page.")
    end_cursor: str | None = strawberry.field(
        description="The last edge's cursor, to pass as `after` for the next page; null for an empty page.")

    @classmethod
    def of(cls, page: Page[Any]) -> PageInfo:
        return cls(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        )


NodeT = TypeVar("NodeT")
T = TypeVar("T")


@strawberry.type(description="One item of a page and its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(
        description="Opaque position of the item in its list; it stays valid when the item moves.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="One page of a list read by cursor (Relay connection).")
class Connection(Generic[NodeT]):
    """A page of a keyset-paginated list (strawberry names it MemberConnection, ThreadConnection...)."""

    edges: list[Edge[NodeT]] = strawberry.field(description="The page's items, in the list's order.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more items precede or follow.")
    page: strawberry.Private[Page[Any]]

    @strawberry.field(description="How many items match the list's filters in all, whatever the cursor.")
    def total_count(self, info: Info) -> int:
        if self.page.total is not None:
            return self.page.total
        return later(info.context.total_count(self.page))


def connection(page: Page[Any], wrap: Callable[[Any], NodeT]) -> Connection[NodeT]:
    """The connection of a domain page, each item wrapped in its schema type."""
    edges = [Edge(cursor=cursor, node=wrap(item)) for item, cursor in zip(page.items, page.cursors, strict=True)]
    return Connection(edges=edges, page_info=PageInfo.of(page), page=page)


@strawberry.type(description="A postal address.")
class Address:
    street: str = strawberry.field(description="Street and number.")
    postal_code: str = strawberry.field(description="Postal code, as the club platform gave it.")
    city: str = strawberry.field(description="City name.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")

    @classmethod
    def of(cls, street: str | None, postal_code: str | None, city: str | None, country: str | None) -> Address | None:
        if not any((street, postal_code, city, country)):
            return None
        return cls(street=street or "", postal_code=postal_code or "", city=city or "", country=country or "")


@strawberry.type(description="Whom to call if something happens to the member.")
class EmergencyContact:
    name: str = strawberry.field(description="The contact's name.")
    phone: str = strawberry.field(description="The contact's phone number, as the club platform gave it.")
    relationship: str | None = strawberry.field(description="How the contact relates to the member, e.g. brother.")


@strawberry.type(description="An amount of money in one currency.")
class Money:
    amount: Decimal = strawberry.field(description="The exact amount, rounded to the currency's minor unit.")
    currency: str = strawberry.field(description="ISO 4217 currency code.")


@strawberry.type(description="The caller's club (the tenant): every object of the API belongs to one.")
class Club(Node):
    name: str = strawberry.field(description="The club's display name.")
    receives_sms_replies: bool = strawberry.field(
        description="Whether members' SMS replies reach the inbox (the sms add-on, in CA, US or GB).")
    receives_email_replies: bool = strawberry.field(
        description="Whether members' email replies reach the inbox (the club has an inbound address).")
    timezone: str = strawberry.field(
        description="IANA time zone, e.g. Europe/London: the calendar's days are this zone's.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2.")
    currency: str = strawberry.field(description="ISO 4217.")
    addons: list[str] = strawberry.field(description='Enabled add-ons, e.g. ["inbox", "sms"].')

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


@strawberry.type(description="A back-office user of the club; thread state (read, favorite, muted, archived) is "
                 "per staff user.")
class Staff(Node):
    name: str = strawberry.field(description="Display name.")
    email: str = strawberry.field(description="Sign-in email address.")
    external_id: str = strawberry.field(description="The club platform's own id of this staff user (as imported).")

    @classmethod
    def from_row(cls, row: StaffRow) -> Staff:
        return cls(id=strawberry.ID(encode_id("Staff", row.id)), name=row.name, email=row.email,
                   external_id=row.external_id)


@strawberry.type(description="A customer of the club: a thread's target, a message's author, a recipient.")
class Member(Node):
    member_number: str = strawberry.field(description="The club's own member number (the 'member ID' shown to staff).")
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    full_name: str = strawberry.field(description="First name then last name.")
    email: str | None = strawberry.field(description="Email address, if the member has one.")
    phone: str | None = strawberry.field(description="E.164, e.g. +33612345678.")
    accepts_email: bool = strawberry.field(
        description="False once the member opted out of email; broadcasts then skip them.")
    accepts_sms: bool = strawberry.field(description="False once the member opted out of SMS (e.g. replied STOP).")
    registered_at: dt.date = strawberry.field(description="The day the member signed up.")
    birth_date: dt.date | None = strawberry.field(description="Date of birth, if known.")
    barcode: str | None = strawberry.field(description="The membership card's barcode number, if any.")
    photo_url: str | None = strawberry.field(description="The member's picture, if the platform has one.")
    tags: list[str] = strawberry.field(description="The member's tags (the smartlists' TAG filter reads them).")
    unpaid_invoices_count: int = strawberry.field(description="Invoices the member has not paid yet.")
    documents_count: int = strawberry.field(description="Documents on file in the club platform.")
    notes_count: int = strawberry.field(description="Staff notes on file in the club platform.")
    external_id: str = strawberry.field(description="The club platform's own id of this member (as imported).")
    pk: strawberry.Private[int]
    # The composed fields below are made only when asked for (a list page asks few of them).
    row: strawberry.Private[MemberRow]
    club: strawberry.Private[ClubRow]

    @strawberry.field(description="Postal address; null when the platform has none.")
    def address(self) -> Address | None:
        row = self.row
        return Address.of(row.address_street, row.address_postal_code, row.address_city, row.address_country)

    @strawberry.field(description="Null when none was given.")
    def emergency_contact(self) -> EmergencyContact | None:
        row = self.row
        if not row.emergency_name:
            return None
        return EmergencyContact(name=row.emergency_name, phone=row.emergency_phone or "",
                                relationship=row.emergency_relationship)

    @strawberry.field(description="Negative when the member owes money.")
    def account_balance(self) -> Money:
        currency = self.club.currency
        return Money(amount=quantize(Decimal(self.row.account_balance), currency), currency=currency)

    @strawberry.field(description="The member's profile page in the back office.")
    def profile_url(self) -> str:
        return backoffice_link(self.club, "MEMBER", self.row.external_id)

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
            tags=list(row.tags or []),
            unpaid_invoices_count=row.unpaid_invoices_count,
            documents_count=row.documents_count,
            notes_count=row.notes_count,
            external_id=row.external_id,
            row=row,
            club=club,
        )


async def thread_of_target(info: Info, category: str, target_pk: int) -> Thread | None:
    view = await info.context.loaders.threads_by_target.load((category, target_pk))
    return Thread.of(view) if view else None


# --- smartlists and sessions ---------------------------------------------------------------------

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
    date: dt.date = strawberry.field(description="The day.")
    count: int = strawberry.field(description="Sessions starting that day.")










ThreadTarget = Annotated[Member | Smartlist | Session, strawberry.union(
    "ThreadTarget", description="What a thread is a conversation with.")]
MessageAuthor = Annotated[Staff | Member, strawberry.union(
    "MessageAuthor", description="Who wrote a message: a staff user (outbound) or a member (inbound).")]


# --- threads and messages ------------------------------------------------------------------------

@strawberry.type(description="The conversation with one member, smartlist or session (at most one per target), "
                 "as the viewer sees it.")
class Thread(Node):
    category: ThreadCategory = strawberry.field(description="Its target's kind: the list it appears in.")
    activity_at: dt.datetime | None = strawberry.field(
        description="The viewer's activity date (see the muted rule); null while the thread has no message "
        "(it then sorts by createdAt).")
    unread_count: int = strawberry.field(
        description="Unread messages for the viewer (0 for a partner API key, which has no viewer state).")
    is_favorite: bool = strawberry.field(description="Pinned on top of the viewer's list.")
    is_muted: bool = strawberry.field(
        description="Muted by the viewer: others' messages do not move it up (its badge shows grey).")
    is_archived: bool = strawberry.field(
        description="Archived by the viewer: listed under ARCHIVED only, until a new message restores it.")
    created_at: dt.datetime = strawberry.field(description="When the thread was started.")
    view: strawberry.Private[ThreadView]

    @classmethod
    def of(cls, view: ThreadView) -> Thread:
        thread = view.thread
        return cls(
            id=strawberry.ID(encode_id("Thread", thread.id)), category=ThreadCategory(thread.category),
            activity_at=view.activity_at, unread_count=view.unread_count, is_favorite=view.is_favorite,
            is_muted=view.is_muted, is_archived=view.is_archived, created_at=thread.created_at,
            view=view,
        )

    @strawberry.field(
        description="The thread's place in the viewer's list: comparing two sortKeys as strings, the greater comes "
        "first\nin `threads`, under any status and search. Lets a client re-sort its list from `threadUpdated` alone.")
    def sort_key(self) -> str:
        return self.view.sort_key

    @strawberry.field(
        description="The viewer's read marker (a Message.cursor); null when the viewer never read the thread.")
    def read_cursor(self) -> str | None:
        return message_cursor(self.view.thread.id, self.view.read_seq) if self.view.has_read else None

    @strawberry.field(
        description="The newest message's cursor, or the thread's start when it is empty: always valid as "
        "messageAdded(after:).")
    def latest_cursor(self) -> str:
        return message_cursor(self.view.thread.id, self.view.thread.last_seq)

    # The next three are sync when the thread's query joined its target and last message (lists and
    # by-id loads): a list page then resolves them without one awaitable per item.
    @strawberry.field(description="The member, smartlist or session the thread is with.")
    def target(self, info: Info) -> ThreadTarget:
        club = info.context.loaded_club
        if self.view.target is not None and club is not None:
            return wrap_target(self.view.target, club)
        return later(target_of(info, self.view.thread))

    @strawberry.field(description="Display name: the member's full name, the smartlist's name, or the session's name.")
    def title(self, info: Info) -> str:
        if self.view.target is not None:
            return display_name(self.view.target)
        return later(_title_of(info, self.view.thread))

    @strawberry.field(description="The newest message (for the list's preview); null while the thread is empty.")
    def last_message(self, info: Info) -> Message | None:
        message_id = self.view.thread.last_message_id
        if message_id is None:
            return None
        if self.view.last_message is not None:
            return Message.of(self.view.last_message, info)
        return later(_message_by_id(info, message_id))

    @strawberry.field(description="Oldest first; 20 when no size is given. `last`/`before` read backwards from the "
                      "newest (what a chat view wants); `around` (a Message.cursor) returns the page centred on "
                      "that message.")
    async def messages(self, info: Info, first: First = None, after: MessageAfter = None, last: Last = None,
                       before: Before = None, around: Around = None) -> Connection[Message]:
        page = await messages_resolvers.thread_messages(
            info.context, self.view.thread, first=first, after=after, last=last, before=before, around=around,
            with_summaries=selects_path(info, "edges", "node", "deliverySummary"))
        return connection(page, lambda row: Message.of(row, info))


async def target_row(info: Info, thread: ThreadRow) -> MemberRow | SmartlistRow | SessionRow:
    """The thread's target row, through this operation's dataloaders (one query per kind and page)."""
    loaders = info.context.loaders
    if thread.category == "MEMBER":
        return await loaders.existing(loaders.members, thread.member_id)
    if thread.category == "SMARTLIST":
        return await loaders.existing(loaders.smartlists, thread.smartlist_id)
    return await loaders.existing(loaders.sessions, thread.session_id)


async def target_of(info: Info, thread: ThreadRow) -> Member | Smartlist | Session:
    return wrap_target(await target_row(info, thread), await info.context.club())


def wrap_target(row: MemberRow | SmartlistRow | SessionRow, club: ClubRow) -> Member | Smartlist | Session:
    if isinstance(row, MemberRow):
        return Member.from_row(row, club)
    if isinstance(row, SmartlistRow):
        return Smartlist.from_row(row, club)
    return Session.from_row(row, club)


def display_name(row: MemberRow | SmartlistRow | SessionRow) -> str:
    return member_full_name(row.first_name, row.last_name) if isinstance(row, MemberRow) else row.name


async def _title_of(info: Info, thread: ThreadRow) -> str:
    return display_name(await target_row(info, thread))


async def _message_by_id(info: Info, message_id: int) -> Message | None:
    row = await info.context.loaders.messages.load(message_id)
    return Message.of(row, info) if row else None


def later(awaitable: Awaitable[T]) -> T:
    """A resolver's awaitable result, typed as its value: graphql-core awaits what a sync resolver
    returns, so a field can be sync when its data is loaded and async only when it is not."""
    return cast(T, awaitable)




@strawberry.type(description="One page of the thread list, and where to follow its changes from.")
class ThreadConnection(Connection[Thread]):
    updates_cursor: str = strawberry.field(
        description="Pass to threadUpdated(after:) to receive every change made after this list was read.")

    @classmethod
    def of(cls, page: Page[ThreadView], updates_cursor: str) -> ThreadConnection:
        base = connection(page, Thread.of)
        return cls(edges=base.edges, page_info=base.page_info, page=page, updates_cursor=updates_cursor)


@strawberry.type(description="An outbound message's deliveries counted by status.")
class DeliverySummary:
    total: int = strawberry.field(description="Every delivery: one per recipient.")
    queued: int = strawberry.field(description="Deliveries QUEUED.")
    sent: int = strawberry.field(description="Deliveries SENT.")
    delivered: int = strawberry.field(description="Deliveries DELIVERED.")
    failed: int = strawberry.field(description="Deliveries FAILED.")
    skipped: int = strawberry.field(description="Deliveries SKIPPED.")

    @classmethod
    def of(cls, counts: dict[str, int]) -> DeliverySummary:
        return cls(total=sum(counts.values()), queued=counts.get("QUEUED", 0), sent=counts.get("SENT", 0),
                   delivered=counts.get("DELIVERED", 0), failed=counts.get("FAILED", 0),
                   skipped=counts.get("SKIPPED", 0))


@strawberry.type(description="One recipient's copy of an outbound message.")
class Delivery(Node):
    channel: Channel = strawberry.field(description="The channel of the message.")
    address: str | None = strawberry.field(
        description="The email address or phone number used; null when skipped for lack of one.")
    status: DeliveryStatus = strawberry.field(description="Where it stands now.")
    reason: str | None = strawberry.field(description="Why it failed or was skipped.")
    updated_at: dt.datetime = strawberry.field(description="When its status last changed.")
    row: strawberry.Private[DeliveryRow]

    @strawberry.field(description="The recipient.")
    async def member(self, info: Info) -> Member:
        loaders = info.context.loaders
        return Member.from_row(await loaders.existing(loaders.members, self.row.member_id), await info.context.club())

    @classmethod
    def from_row(cls, row: DeliveryRow) -> Delivery:
        return cls(id=strawberry.ID(encode_id("Delivery", row.id)), channel=Channel(row.channel),
                   address=row.address, status=DeliveryStatus(row.status), reason=row.reason,
                   updated_at=row.updated_at, row=row)






@strawberry.type(description="One message of a thread: sent by staff (outbound) or a member's reply (inbound).")
class Message(Node):
    direction: MessageDirection = strawberry.field(description="Who wrote it: staff (OUTBOUND) or a member (INBOUND).")
    channel: Channel = strawberry.field(description="How it was sent or received.")
    subject: str | None = strawberry.field(description="The email's subject; null for SMS.")
    body: str = strawberry.field(description="Plain text.")
    created_at: dt.datetime = strawberry.field(description="When it was sent, or received (an inbound message).")
    idempotency_key: str | None = strawberry.field(
        description="The idempotency key it was sent with, shown to its sender only (to match an optimistic copy).")
    row: strawberry.Private[MessageRow]

    @classmethod
    def of(cls, row: MessageRow, info: Info) -> Message:
        viewer_id = info.context.viewer_id
        return cls(
            id=strawberry.ID(encode_id("Message", row.id)), direction=MessageDirection(row.direction),
            channel=Channel(row.channel), subject=row.subject, body=row.body, created_at=row.created_at,
            idempotency_key=row.idempotency_key if viewer_id is not None and viewer_id == row.staff_id else None,
            row=row,
        )

    @strawberry.field(
        description="This message's position in its thread; equal to its MessageEdge.cursor; valid as `after`, "
        "`before` and `around` in Thread.messages and as `after` in messageAdded.")
    def cursor(self) -> str:
        return message_cursor(self.row.thread_id, self.row.seq)

    @strawberry.field(description="The thread it belongs to.")
    async def thread(self, info: Info) -> Thread:
        loaders = info.context.loaders
        return Thread.of(await loaders.existing(loaders.thread_views, self.row.thread_id))

    @strawberry.field(description="Null only for an imported message whose author the import did not name.")
    def author(self, info: Info) -> MessageAuthor | None:
        loaders, club = info.context.loaders, info.context.loaded_club
        if self.row.staff_id is not None:
            staff = loaders.loaded(loaders.staff, self.row.staff_id)
            if staff is not MISSING:  # the history page brought it
                return Staff.from_row(staff) if staff else None
        elif self.row.member_id is not None:
            member = loaders.loaded(loaders.members, self.row.member_id)
            if member is not MISSING and club is not None:
                return Member.from_row(member, club) if member else None
        else:
            return None
        return later(self._load_author(info))

    async def _load_author(self, info: Info) -> Staff | Member | None:
        loaders = info.context.loaders
        if self.row.staff_id is not None:
            staff = await loaders.staff.load(self.row.staff_id)
            return Staff.from_row(staff) if staff else None
        if self.row.member_id is None:  # `author` answered at once
            return None
        member = await loaders.members.load(self.row.member_id)
        return Member.from_row(member, await info.context.club()) if member else None

    @strawberry.field(description="The body's first characters, white space collapsed (for list previews).")
    def preview(self, length: Annotated[int | None, strawberry.argument(
            description="How many characters at most.")] = 140) -> str:
        return message_preview(self.row.body, 140 if length is None else length)

    @strawberry.field(description="The broadcast this inbound message answers, when known.")
    async def in_reply_to(self, info: Info) -> Message | None:
        if self.row.in_reply_to_id is None:
            return None
        row = await info.context.loaders.messages.load(self.row.in_reply_to_id)
        return Message.of(row, info) if row else None

    @strawberry.field(description="Null for inbound messages.")
    def delivery_summary(self, info: Info) -> DeliverySummary | None:
        if self.row.direction == "INBOUND":
            return None
        loaders = info.context.loaders
        counts = loaders.loaded(loaders.delivery_summaries, self.row.id)
        if counts is not MISSING:  # the history page brought them
            return DeliverySummary.of(counts)
        return later(self._load_delivery_summary(info))

    async def _load_delivery_summary(self, info: Info) -> DeliverySummary:
        return DeliverySummary.of(await info.context.loaders.delivery_summaries.load(self.row.id))

    @strawberry.field(description="One per recipient of an outbound message (none for inbound ones).")
    async def deliveries(self, info: Info, status: Annotated[list[DeliveryStatus] | None, strawberry.argument(
            description="Keeps the deliveries in one of these statuses; null or empty keeps all.")] = None,
                         first: First = None, after: After = None) -> Connection[Delivery]:
        statuses = [s.value for s in status] if status else None
        page = await messages_resolvers.message_deliveries(info.context, self.row, statuses=statuses,
                                                           first=first, after=after)
        return connection(page, Delivery.from_row)






@strawberry.type(description="Threads with at least one unread message, neither muted nor archived, for the viewer.")
class UnreadCounts:
    id: strawberry.ID = strawberry.field(
        description="The same for every read by one viewer, so a normalised client cache keeps one copy that every "
        "payload and push updates.")
    members: int = strawberry.field(description="Member threads with unread messages.")
    smartlists: int = strawberry.field(description="Smartlist threads with unread messages.")
    sessions: int = strawberry.field(description="Session threads with unread messages.")
    total: int = strawberry.field(description="The sum of the three.")

    @classmethod
    def of(cls, counts: DomainUnreadCounts, viewer_id: int) -> UnreadCounts:
        return cls(id=strawberry.ID(encode_id("UnreadCounts", viewer_id)), members=counts.members,
                   smartlists=counts.smartlists, sessions=counts.sessions, total=counts.total)


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


@strawberry.type(description="One change to a thread of the subscriber's list, with the subscriber's view of it.")
class ThreadUpdate:
    thread: Thread = strawberry.field(
        description="The thread as the subscriber sees it now (its own unread count, flags and activity date).")
    edge: Edge[Thread] = strawberry.field(
        description="Its edge in threads(category: thread.category): the cursor is valid in any status/search of it.")
    message: Message | None = strawberry.field(
        description="The new message (MESSAGE_ADDED) or the one whose deliveries changed (DELIVERY_CHANGED).")
    reason: ThreadUpdateReason = strawberry.field(description="What changed.")
    updates_cursor: str = strawberry.field(
        description="Position in the subscriber's update stream: valid as threadUpdated(after:).")


def member_connection(page: Page[MemberRow], club: ClubRow) -> Connection[Member]:
    return connection(page, lambda row: Member.from_row(row, club))
