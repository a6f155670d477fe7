"""Message history, deliveries, and sending."""

from __future__ import annotations

from sqlalchemy import func, select

from inbox.changes import publish_changes
from inbox.errors import BadUserInput, UserError
from inbox.messages import list_messages
from inbox.pagination import Page, decode_cursor, encode_cursor, list_digest, page_size
from inbox.sending import Draft, SendResult, send_message
from inbox.threads import ThreadView, UnreadCounts, load_thread_view, thread_change, unread_counts
from models import Delivery, Message, Thread
from resolvers.context import Context
from resolvers.ids import decode_id


async def thread_messages(ctx: Context, thread: Thread, *, first: int | None, after: str | None, last: int | None,
                          before: str | None, around: str | None) -> Page[Message]:
    size = page_size(first, last)
    if around is not None and (after is not None or before is not None):
        raise BadUserInput("`around` cannot be combined with `after` or `before`")
    backwards = last is not None or (before is not None and first is None)
    async with ctx.db() as session:
        return await list_messages(session, thread, size=size, backwards=backwards, after=after, before=before,
                                   around=around)


async def message_deliveries(ctx: Context, message: Message, *, statuses: list[str] | None, first: int | None,
                             after: str | None) -> Page[Delivery]:
    """A message's deliveries in creation order, optionally of some statuses."""
    size = page_size(first)
    digest = list_digest("deliveries", message.id, sorted(statuses or []))
    key = decode_cursor(after, digest)
    condition = Delivery.message_id == message.id
    if statuses:
        condition = condition & Delivery.status.in_(statuses)
    query = select(Delivery).where(condition)
    if key is not None:
        if len(key) != 1 or not isinstance(key[0], int):
            raise BadUserInput("Malformed cursor")
        query = query.where(Delivery.id > key[0])
    async with ctx.db() as session:
        rows = list((await session.scalars(query.order_by(Delivery.id).limit(size + 1))).all())

    count_query = select(func.count(Delivery.id)).where(condition)
    items = rows[:size]
    return Page(items=items, cursors=[encode_cursor(digest, [d.id]) for d in items],
                has_next_page=len(rows) > size, has_previous_page=key is not None, count_query=count_query)


def thread_pk(global_id: str) -> int | None:
    decoded = decode_id(global_id, "Thread")
    return decoded[1] if decoded else None


async def send(ctx: Context, *, thread_id: str, channel: str, body: str, subject: str | None,
               include_waitlist: bool, idempotency_key: str | None) -> tuple[SendResult, ThreadView, UnreadCounts]:
    principal = ctx.require_principal()
    pk = thread_pk(thread_id)
    if pk is None:
        raise UserError("NOT_FOUND", "No such thread", ["input", "threadId"])
    draft = Draft(thread_id=pk, channel=channel, body=body, subject=subject, include_waitlist=include_waitlist,
                  idempotency_key=idempotency_key)
    club = await ctx.club()
    async with ctx.db() as session:
        result = await send_message(session, principal, club, draft)
    if result.created:
        await publish_changes(ctx.services.bus, [thread_change(result.thread, "MESSAGE_ADDED", message=result.message)])
    async with ctx.db() as session:
        view = await load_thread_view(session, ctx.viewer_id, result.thread.id)
        counts = await unread_counts(session, principal.staff_id or 0)
    assert view is not None
    return result, view, counts
