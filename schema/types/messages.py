"""Messages and their deliveries."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry

import resolvers.messages as messages_resolvers
from inbox.messages import message_cursor, message_preview
from models import Delivery as DeliveryRow
from models import Message as MessageRow
from resolvers.ids import encode_id
from resolvers.loaders import MISSING
from schema.arguments import After, First
from schema.enums import Channel, DeliveryStatus, MessageDirection
from schema.info import Info
from schema.types.columns import column
from schema.types.members import Member, Staff
from schema.types.pages import Connection, Node, connection, later

if TYPE_CHECKING:  # threads.py imports this module: its resolvers import Thread when they run
    from schema.types.threads import Thread


MessageAuthor = Annotated[Staff | Member, strawberry.union(
    "MessageAuthor", description="Who wrote a message: a staff user (outbound) or a member (inbound).")]


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
    channel: Channel = column("channel", "The channel of the message.", Channel)
    address: str | None = column("address",
                                 "The email address or phone number used; null when skipped for lack of one.")
    status: DeliveryStatus = column("status", "Where it stands now.", DeliveryStatus)
    reason: str | None = column("reason", "Why it failed or was skipped.")
    updated_at: dt.datetime = column("updated_at", "When its status last changed.")
    row: strawberry.Private[DeliveryRow]

    @strawberry.field(description="The recipient.")
    async def member(self, info: Info) -> Member:
        loaders = info.context.loaders
        return Member.from_row(await loaders.existing(loaders.members, self.row.member_id), await info.context.club())

    @classmethod
    def from_row(cls, row: DeliveryRow) -> Delivery:
        return cls(id=strawberry.ID(encode_id("Delivery", row.id)), row=row)


@strawberry.type(description="One message of a thread: sent by staff (outbound) or a member's reply (inbound).")
class Message(Node):
    direction: MessageDirection = column("direction", "Who wrote it: staff (OUTBOUND) or a member (INBOUND).",
                                         MessageDirection)
    channel: Channel = column("channel", "How it was sent or received.", Channel)
    subject: str | None = column("subject", "The email's subject; null for SMS.")
    body: str = column("body", "Plain text.")
    created_at: dt.datetime = column("created_at", "When it was sent, or received (an inbound message).")
    idempotency_key: str | None = strawberry.field(
        description="The idempotency key it was sent with, shown to its sender only (to match an optimistic copy).")
    row: strawberry.Private[MessageRow]

    @classmethod
    def of(cls, row: MessageRow, info: Info) -> Message:
        viewer_id = info.context.viewer_id
        return cls(
            id=strawberry.ID(encode_id("Message", row.id)),
            idempotency_key=row.idempotency_key if viewer_id is not None and viewer_id == row.staff_id else None,
            row=row,
        )

    @strawberry.field(
        description="This message's position in its thread; equal to its MessageEdge.cursor; valid as `after`, "
        "`before` and `around` in Thread.messages and as `after` in messageAdded.")
    def cursor(self) -> str:
        return message_cursor(self.row.thread_id, self.row.seq)

    @strawberry.field(description="The thread it belongs to.")
    async def thread(self, info: Info) -> Annotated[Thread, strawberry.lazy("schema.types.threads")]:
        from schema.types.threads import Thread

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
