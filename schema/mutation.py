"""The Mutation type: one `input` each, payloads with userErrors (object or errors, never both)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry
from strawberry.types import Info

import resolvers.messages as messages
import resolvers.targets as targets
import resolvers.threads as threads
from inbox.actions import ThreadOutcome
from inbox.errors import UserError as DomainUserError
from inbox.errors import UserErrors
from inbox.threads import Flag
from schema.enums import Channel, FilterOperator, SmartlistFilterField, UserErrorCode
from schema.permissions import HasInboxAddon, IsStaff
from schema.types import Message, Smartlist, Thread, UnreadCounts

T = TypeVar("T")
WRITE = [HasInboxAddon, IsStaff]


@strawberry.type
class UserError:
    code: UserErrorCode
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "body"].')
    message: str

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


@strawberry.input
class StartThreadInput:
    target_id: strawberry.ID = strawberry.field(description="A Member, Smartlist or Session id.")


@strawberry.type
class StartThreadPayload:
    thread: Thread | None
    created: bool = strawberry.field(description="False when the thread already existed.")
    user_errors: list[UserError]


@strawberry.input
class SendMessageInput:
    thread_id: strawberry.ID
    channel: Channel
    body: str
    subject: str | None = strawberry.field(default=None, description="Email only.")
    include_waitlist: bool | None = strawberry.field(default=False,
                                                     description="Session threads: also send to the waitlist.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retried send with the same key returns the first message and sends nothing again.")


@strawberry.type
class SendMessagePayload:
    message: Message | None
    thread: Thread | None
    unread_counts: UnreadCounts | None = strawberry.field(description="The sender's unread counts after the send.")
    user_errors: list[UserError]


@strawberry.input
class ThreadInput:
    thread_id: strawberry.ID
    up_to: str | None = strawberry.field(
        default=None, description="markThreadRead only: read up to this Message.cursor (default: the newest "
        "message), so a reply that arrived unseen stays unread.")


@strawberry.input
class SetThreadFlagInput:
    thread_id: strawberry.ID
    value: bool


@strawberry.type
class ThreadPayload:
    thread: Thread | None
    unread_counts: UnreadCounts | None = strawberry.field(description="The viewer's unread counts after the action.")
    user_errors: list[UserError]


@strawberry.input
class SmartlistFilterInput:
    field: SmartlistFilterField
    operator: FilterOperator
    values: list[str]


def filters_input(filters: list[SmartlistFilterInput]) -> list[dict[str, object]]:
    return [{"field": f.field.value, "operator": f.operator.value, "values": list(f.values)} for f in filters]


@strawberry.input
class CreateSmartlistInput:
    name: str
    description: str | None = None
    filters: list[SmartlistFilterInput]


@strawberry.type
class CreateSmartlistPayload:
    smartlist: Smartlist | None
    user_errors: list[UserError]


async def thread_payload(work: Awaitable[ThreadOutcome]) -> ThreadPayload:
    result, errors = await user_errors(work)
    if result is None:
        return ThreadPayload(thread=None, unread_counts=None, user_errors=errors)
    return ThreadPayload(thread=Thread.of(result.view), unread_counts=UnreadCounts.of(result.counts), user_errors=[])


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=WRITE)
    async def start_thread(self, info: Info, input: StartThreadInput) -> StartThreadPayload:
        result, errors = await user_errors(threads.start_thread(info.context, input.target_id))
        if result is None:
            return StartThreadPayload(thread=None, created=False, user_errors=errors)
        view, created = result
        return StartThreadPayload(thread=Thread.of(view), created=created, user_errors=[])

    @strawberry.mutation(permission_classes=WRITE)
    async def send_message(self, info: Info, input: SendMessageInput) -> SendMessagePayload:
        result, errors = await user_errors(messages.send(
            info.context, thread_id=input.thread_id, channel=input.channel.value, body=input.body,
            subject=input.subject, include_waitlist=bool(input.include_waitlist),
            idempotency_key=input.idempotency_key))
        if result is None:
            return SendMessagePayload(message=None, thread=None, unread_counts=None, user_errors=errors)
        return SendMessagePayload(message=Message.of(result.message, info), thread=Thread.of(result.view),
                                  unread_counts=UnreadCounts.of(result.counts), user_errors=[])

    @strawberry.mutation(permission_classes=WRITE)
    async def mark_thread_read(self, info: Info, input: ThreadInput) -> ThreadPayload:
        return await thread_payload(threads.mark_read(info.context, input.thread_id, input.up_to))

    @strawberry.mutation(permission_classes=WRITE)
    async def mark_thread_unread(self, info: Info, input: ThreadInput) -> ThreadPayload:
        return await thread_payload(threads.mark_unread(info.context, input.thread_id))

    @strawberry.mutation(permission_classes=WRITE)
    async def set_thread_favorite(self, info: Info, input: SetThreadFlagInput) -> ThreadPayload:
        return await thread_payload(threads.set_flag(info.context, input.thread_id, Flag.FAVORITE, input.value))

    @strawberry.mutation(permission_classes=WRITE)
    async def set_thread_muted(self, info: Info, input: SetThreadFlagInput) -> ThreadPayload:
        return await thread_payload(threads.set_flag(info.context, input.thread_id, Flag.MUTED, input.value))

    @strawberry.mutation(permission_classes=WRITE)
    async def set_thread_archived(self, info: Info, input: SetThreadFlagInput) -> ThreadPayload:
        return await thread_payload(threads.set_flag(info.context, input.thread_id, Flag.ARCHIVED, input.value))

    @strawberry.mutation(permission_classes=WRITE)
    async def create_smartlist(self, info: Info, input: CreateSmartlistInput) -> CreateSmartlistPayload:
        result, errors = await user_errors(targets.create(
            info.context, name=input.name, description=input.description, filters=filters_input(input.filters)))
        if result is None:
            return CreateSmartlistPayload(smartlist=None, user_errors=errors)
        return CreateSmartlistPayload(smartlist=Smartlist.from_row(result, await info.context.club()), user_errors=[])
