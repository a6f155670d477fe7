"""Message history, deliveries, and sending."""

from __future__ import annotations

from inbox import actions
from inbox.actions import Sent
from inbox.errors import BadUserInput, UserError
from inbox.messages import delivery_counts, list_deliveries, list_messages
from inbox.pagination import Page, page_size
from inbox.sending import Draft
from inbox.vocabulary import Direction
from models import Delivery, Message, Thread
from resolvers.context import Context
from resolvers.ids import decode_id


async def thread_messages(ctx: Context, thread: Thread, *, first: int | None, after: str | None, last: int | None,
                          before: str | None, around: str | None, with_summaries: bool = False) -> Page[Message]:
    """A history page; its authors (and, `with_summaries`, its delivery summaries) are handed to the
    dataloaders, so the page's fields need no further statement per kind."""
    size = page_size(first, last)
    if around is not None and (after is not None or before is not None):
        raise BadUserInput("`around` cannot be combined with `after` or `before`")
    backwards = last is not None or (before is not None and first is None)
    async with ctx.db() as session:
        page = await list_messages(session, thread, size=size, backwards=backwards, after=after, before=before,
                                   around=around)
        outbound = [m.id for m in page.items if m.direction == Direction.OUTBOUND]
        summaries = await delivery_counts(session, outbound) if with_summaries and outbound else None
    ctx.loaders.prime(page.related)
    if summaries is not None:
        for message_id in outbound:
            ctx.loaders.delivery_summaries.prime(message_id, summaries.get(message_id, {}))
    return page


async def message_deliveries(ctx: Context, message: Message, *, statuses: list[str] | None, first: int | None,
                             after: str | None) -> Page[Delivery]:
    """A message's deliveries in creation order, optionally of some statuses."""
    async with ctx.db() as session:
        return await list_deliveries(session, message.id, statuses=statuses, first=page_size(first), after=after)


def thread_pk(global_id: str) -> int | None:
    decoded = decode_id(global_id, "Thread")
    return decoded[1] if decoded else None


async def send(ctx: Context, *, thread_id: str, channel: str, body: str, subject: str | None,
               include_waitlist: bool, idempotency_key: str | None, with_counts: bool = True) -> Sent:
    principal = ctx.require_principal()
    assert principal.staff_id is not None  # the schema lets only staff tokens write
    pk = thread_pk(thread_id)
    if pk is None:
        raise UserError("NOT_FOUND", "No such thread", ["input", "threadId"])
    draft = Draft(thread_id=pk, channel=channel, body=body, subject=subject, include_waitlist=include_waitlist,
                  idempotency_key=idempotency_key)
    club = await ctx.club()
    async with ctx.write_db() as session:
        sent = await actions.send_message(session, ctx.services.bus, staff_id=principal.staff_id, club=club,
                                          draft=draft, with_counts=with_counts)
    ctx.loaders.messages.prime(sent.message.id, sent.message)
    if sent.delivery_counts is not None:
        ctx.loaders.delivery_summaries.prime(sent.message.id, sent.delivery_counts)
    return sent
