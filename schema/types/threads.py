"""Threads as the viewer sees them, their targets, the unread counts, the subscription's update, and
`wrap_node` for `node(id:)`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry

import resolvers.messages as messages_resolvers
from inbox.members import member_full_name
from inbox.messages import message_cursor
from inbox.pagination import Page
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
from models.rows import model_of
from resolvers.ids import encode_id
from schema.arguments import Around, Before, First, Last, MessageAfter
from schema.enums import ThreadCategory, ThreadUpdateReason, member_by_value
from schema.info import Info
from schema.selection import selects_path
from schema.types.members import Club, Member, Staff
from schema.types.messages import Delivery, Message
from schema.types.pages import Connection, Edge, Node, connection, later
from schema.types.targets import Session, Smartlist

ThreadTarget = Annotated[Member | Smartlist | Session, strawberry.union(
    "ThreadTarget", description="What a thread is a conversation with.")]


_category = member_by_value(ThreadCategory)


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
            id=strawberry.ID(encode_id("Thread", thread.id)), category=_category(thread.category),
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


async def thread_of_target(info: Info, category: str, target_pk: int) -> Thread | None:
    view = await info.context.loaders.threads_by_target.load((category, target_pk))
    return Thread.of(view) if view else None


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


@strawberry.type(description="One page of the thread list, and where to follow its changes from.")
class ThreadConnection(Connection[Thread]):
    updates_cursor: str = strawberry.field(
        description="Pass to threadUpdated(after:) to receive every change made after this list was read.")

    @classmethod
    def of(cls, page: Page[ThreadView], updates_cursor: str) -> ThreadConnection:
        base = connection(page, Thread.of)
        return cls(edges=base.edges, page_info=base.page_info, page=page, updates_cursor=updates_cursor)


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
    return wrappers[model_of(row)]()


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
