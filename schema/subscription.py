"""The Subscription type: thin wrappers over subscriptions.resolvers."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.permission import BasePermission

import subscriptions.resolvers as live
from inbox.threads import thread_cursor
from schema.enums import ThreadCategory, ThreadUpdateReason
from schema.info import Info
from schema.permissions import HasInboxAddon, IsStaff
from schema.types import Edge, Message, Thread, ThreadUpdate, UnreadCounts
from subscriptions.grouping import shared_frames
from subscriptions.mailboxes import CountsRow, MessageRow, ThreadUpdateRow

STAFF: list[type[BasePermission]] = [HasInboxAddon, IsStaff]
R = TypeVar("R", MessageRow, ThreadUpdateRow, CountsRow)

OpenThread = Annotated[strawberry.ID, strawberry.argument(description="The thread open in the client.")]
LastMessageCursor = Annotated[str | None, strawberry.argument(
    description="The newest Message.cursor the client holds (Thread.latestCursor for an empty thread).")]
OneCategory = Annotated[ThreadCategory | None, strawberry.argument(
    description="Only threads of this category; null for all three.")]
LastUpdatesCursor = Annotated[str | None, strawberry.argument(
    description="The last updatesCursor the client holds (from `threads` or from an update).")]


@strawberry.type(description="Live updates over WebSocket (graphql-transport-ws), for staff users; each carries the "
                 "subscriber's club and view only.")
class Subscription:
    @strawberry.subscription(permission_classes=STAFF, description=(
        "Each new message of the thread, in order. With `after` (a Message.cursor), first every message\n"
        "after it, then live ones: nothing missed, nothing twice."))
    def message_added(self, info: Info, thread_id: OpenThread,
                      after: LastMessageCursor = None) -> AsyncGenerator[Message, None]:
        async def message(row: MessageRow) -> Message:
            return Message.of(row.message, info)
        return _shared(live.message_added(info.context, thread_id, after), message, info)

    @strawberry.subscription(permission_classes=STAFF, description=(
        "Changes to the subscriber's thread items, optionally of one category. With `after` (an updatesCursor),\n"
        "first one CATCH_UP update per thread changed since then, then live ones."))
    def thread_updated(self, info: Info, category: OneCategory = None,
                       after: LastUpdatesCursor = None) -> AsyncGenerator[ThreadUpdate, None]:
        async def update(row: ThreadUpdateRow) -> ThreadUpdate:
            return await _thread_update(row, info)
        updates = live.thread_updated(info.context, category.value if category else None, after)
        return _shared(updates, update, info)

    @strawberry.subscription(permission_classes=STAFF,
                             description="The subscriber's unread counts: the current value at once, then each change.")
    def unread_counts_changed(self, info: Info) -> AsyncGenerator[UnreadCounts, None]:
        async def counts(row: CountsRow) -> UnreadCounts:
            return UnreadCounts.of(row.counts, info.context.viewer_id)  # type: ignore[arg-type]
        return _shared(live.unread_counts_changed(info.context), counts, info)


def _shared(rows: AsyncIterator[R], shape: Callable[[R], Awaitable[Any]], info: Info) -> AsyncGenerator[Any, None]:
    """The subscription's event stream, returned by its resolver as is (one generator fewer per idle
    subscription): each hub row's event, shaped once for every subscriber of the row, which the schema's
    executor (subscriptions.grouping) unwraps and executes once per group; an event whose group's frame
    is already encoded is sent as it is instead."""
    raw = info._raw_info
    variables: Any = raw.variable_values  # a plain dict here, though typed as graphql-core's VariableValues
    if not isinstance(variables, dict):
        variables = variables.coerced
    return shared_frames(rows, shape, raw.operation, variables, raw.context)


async def _thread_update(update: ThreadUpdateRow, info: Info) -> ThreadUpdate:
    thread = Thread.of(update.view)
    message = None
    if update.message_id is not None:
        row = await update.loaders.messages.load(update.message_id)  # the round's, shared by every subscriber
        message = Message.of(row, info) if row else None
    return ThreadUpdate(thread=thread, edge=Edge(cursor=thread_cursor(update.view), node=thread),
                        message=message, reason=ThreadUpdateReason(update.reason),
                        updates_cursor=update.updates_cursor)
