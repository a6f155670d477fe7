"""The Mutation type: one `input` each, payloads with userErrors (object or errors, never both)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry
from strawberry.permission import BasePermission

import resolvers.messages as messages
import resolvers.targets as targets
import resolvers.threads as threads
from inbox.actions import ThreadOutcome
from inbox.errors import UserError as DomainUserError
from inbox.errors import UserErrors
from inbox.viewer_state import Flag
from schema.arguments import Input
from schema.enums import Channel, FilterOperator, SmartlistFilterField, UserErrorCode
from schema.info import Info
from schema.permissions import HasInboxAddon, IsStaff
from schema.selection import selects
from schema.types import Message, Smartlist, Thread, UnreadCounts

T = TypeVar("T")
ERRORS = "Why nothing was done; empty on success."
WRITE: list[type[BasePermission]] = [HasInboxAddon, IsStaff]


@strawberry.type(description="Why a mutation refused its input: nothing was changed.")
class UserError:
    code: UserErrorCode = strawberry.field(description="What kind of failure, for the client to branch on.")
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "body"].')
    message: str = strawberry.field(description="The failure in English, for people (not for parsing).")

    @classmethod
    def of(cls, error: DomainUserError) -> UserError:
        return cls(code=UserErrorCode(error.code), field=error.field, message=error.message)


async def user_errors(work: Awaitable[T]) -> tuple[T | None, list[UserError]]:
    """Run a mutation's work; business-rule failures become the payload's userErrors."""
    try:
        return await work, []
    except DomainUserError as error:
        return None, [UserError.of(error)]
    except UserErrors as errors:
        return None, [UserError.of(e) for e in errors.errors]


@strawberry.input(description="What to start a thread with.")
class StartThreadInput:
    target_id: strawberry.ID = strawberry.field(description="A Member, Smartlist or Session id.")


@strawberry.type(description="The result of startThread.")
class StartThreadPayload:
    thread: Thread | None = strawberry.field(description="The target's thread; null on a user error.")
    created: bool = strawberry.field(description="False when the thread already existed.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="A message to send in a thread.")
class SendMessageInput:
    thread_id: strawberry.ID = strawberry.field(description="The thread to send in.")
    channel: Channel = strawberry.field(description="EMAIL or SMS (SMS needs the sms add-on).")
    body: str = strawberry.field(
        description="Plain text, not blank: at most 100,000 characters by email, 1,600 by SMS.")
    subject: str | None = strawberry.field(default=None, description="Email only.")
    include_waitlist: bool | None = strawberry.field(default=False,
                                                     description="Session threads: also send to the waitlist.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retried send with the same key returns the first message and sends nothing again.")


@strawberry.type(description="The result of sendMessage.")
class SendMessagePayload:
    message: Message | None = strawberry.field(
        description="The message, its deliveries queued; null on a user error.")
    thread: Thread | None = strawberry.field(description="The thread after the send (read for the sender).")
    unread_counts: UnreadCounts | None = strawberry.field(description="The sender's unread counts after the send.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="The thread an action applies to.")
class ThreadInput:
    thread_id: strawberry.ID = strawberry.field(description="The thread.")
    up_to: str | None = strawberry.field(
        default=None, description="markThreadRead only: read up to this Message.cursor (default: the newest "
        "message), so a reply that arrived unseen stays unread.")


@strawberry.input(description="A per-viewer flag to set on a thread (idempotent: setting it again changes nothing).")
class SetThreadFlagInput:
    thread_id: strawberry.ID = strawberry.field(description="The thread.")
    value: bool = strawberry.field(description="True sets the flag, false clears it.")


@strawberry.type(description="The result of a thread action.")
class ThreadPayload:
    thread: Thread | None = strawberry.field(description="The thread after the action; null on a user error.")
    unread_counts: UnreadCounts | None = strawberry.field(description="The viewer's unread counts after the action.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="One condition of a smartlist (see SmartlistFilter).")
class SmartlistFilterInput:
    field: SmartlistFilterField = strawberry.field(description="What the condition looks at.")
    operator: FilterOperator = strawberry.field(description="How it compares; the field decides which ones apply.")
    values: list[str] = strawberry.field(
        description="Operands as strings: BETWEEN takes two, IN one or more, IS_SET and NOT_SET none, the others one.")


def filters_input(filters: list[SmartlistFilterInput]) -> list[dict[str, object]]:
    return [{"field": f.field.value, "operator": f.operator.value, "values": list(f.values)} for f in filters]


@strawberry.input(description="A smartlist to save.")
class CreateSmartlistInput:
    name: str = strawberry.field(description="Display name, at most 300 characters.")
    description: str | None = strawberry.field(default=None, description="Optional, at most 2,000 characters.")
    filters: list[SmartlistFilterInput] = strawberry.field(
        description="Its conditions, ANDed (at most 20); none means every member.")


@strawberry.type(description="The result of createSmartlist.")
class CreateSmartlistPayload:
    smartlist: Smartlist | None = strawberry.field(description="The new smartlist; null on a user error.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


async def thread_payload(info: Info, work: Awaitable[ThreadOutcome]) -> ThreadPayload:
    result, errors = await user_errors(work)
    if result is None:
        return ThreadPayload(thread=None, unread_counts=None, user_errors=errors)
    unread_counts = None if result.counts is None else UnreadCounts.of(result.counts, info.context.staff_id)
    return ThreadPayload(thread=Thread.of(result.view), unread_counts=unread_counts, user_errors=[])


@strawberry.type(description="Every payload holds either its object(s) or a non-empty `userErrors`, never both and "
                 "never neither.")
class Mutation:
    @strawberry.mutation(permission_classes=WRITE, description=(
        "The thread of a member, smartlist or session: the existing one, or a new empty one."))
    async def start_thread(self, info: Info, input: Input[StartThreadInput]) -> StartThreadPayload:
        result, errors = await user_errors(threads.start_thread(info.context, input.target_id))
        if result is None:
            return StartThreadPayload(thread=None, created=False, user_errors=errors)
        view, created = result
        return StartThreadPayload(thread=Thread.of(view), created=created, user_errors=[])

    @strawberry.mutation(permission_classes=WRITE, description=(
        "Posts a message and queues one delivery per recipient; returns before any provider is called."))
    async def send_message(self, info: Info, input: Input[SendMessageInput]) -> SendMessagePayload:
        result, errors = await user_errors(messages.send(
            info.context, thread_id=input.thread_id, channel=input.channel.value, body=input.body,
            subject=input.subject, include_waitlist=bool(input.include_waitlist),
            idempotency_key=input.idempotency_key, with_counts=selects(info, "unreadCounts")))
        if result is None:
            return SendMessagePayload(message=None, thread=None, unread_counts=None, user_errors=errors)
        counts = None if result.counts is None else UnreadCounts.of(result.counts, info.context.staff_id)
        return SendMessagePayload(message=Message.of(result.message, info), thread=Thread.of(result.view),
                                  unread_counts=counts, user_errors=[])

    @strawberry.mutation(permission_classes=WRITE, description=(
        "Reads the thread for the viewer (up to `upTo` when given); a muted thread takes its latest date again."))
    async def mark_thread_read(self, info: Info, input: Input[ThreadInput]) -> ThreadPayload:
        return await thread_payload(info, threads.mark_read(
            info.context, input.thread_id, input.up_to, with_counts=selects(info, "unreadCounts")))

    @strawberry.mutation(permission_classes=WRITE, description=(
        "Makes the newest message the viewer's one unread message; refused while the thread shows unread."))
    async def mark_thread_unread(self, info: Info, input: Input[ThreadInput]) -> ThreadPayload:
        return await thread_payload(info, threads.mark_unread(
            info.context, input.thread_id, with_counts=selects(info, "unreadCounts")))

    @strawberry.mutation(permission_classes=WRITE, description=(
        "Pins the thread on top of the viewer's list (value true) or unpins it."))
    async def set_thread_favorite(self, info: Info, input: Input[SetThreadFlagInput]) -> ThreadPayload:
        return await thread_payload(info, threads.set_flag(
            info.context, input.thread_id, Flag.FAVORITE, input.value, with_counts=selects(info, "unreadCounts")))

    @strawberry.mutation(permission_classes=WRITE, description=(
        "Mutes (value true) or reactivates the thread for the viewer."))
    async def set_thread_muted(self, info: Info, input: Input[SetThreadFlagInput]) -> ThreadPayload:
        return await thread_payload(info, threads.set_flag(
            info.context, input.thread_id, Flag.MUTED, input.value, with_counts=selects(info, "unreadCounts")))

    @strawberry.mutation(permission_classes=WRITE, description=(
        "Archives (value true) or restores the thread for the viewer; any new message restores it too."))
    async def set_thread_archived(self, info: Info, input: Input[SetThreadFlagInput]) -> ThreadPayload:
        return await thread_payload(info, threads.set_flag(
            info.context, input.thread_id, Flag.ARCHIVED, input.value, with_counts=selects(info, "unreadCounts")))

    @strawberry.mutation(permission_classes=WRITE, description=(
        "Saves a new smartlist (the member picker's 'create a smartlist')."))
    async def create_smartlist(self, info: Info, input: Input[CreateSmartlistInput]) -> CreateSmartlistPayload:
        result, errors = await user_errors(targets.create(
            info.context, name=input.name, description=input.description, filters=filters_input(input.filters)))
        if result is None:
            return CreateSmartlistPayload(smartlist=None, user_errors=errors)
        return CreateSmartlistPayload(smartlist=Smartlist.from_row(result, await info.context.club()), user_errors=[])
