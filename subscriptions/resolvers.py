"""Subscription resolvers: join the club's hub in this process, then send what it hands over.

Bus events are hints: the hub re-reads what changed after each subscriber's position, so nothing is
missed (a lost event is caught up on the next one, a bus reset, or the hub's periodic check) and
nothing is sent twice (positions only move forward).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

from inbox.changes import club_change_seq
from inbox.errors import Forbidden
from inbox.threads import decode_updates_cursor
from resolvers.context import Context
from resolvers.ids import decode_id
from subscriptions.hub import Membership, known_stamp, share_loaders
from subscriptions.mailboxes import (
    CountsRow,
    CountsSubscriber,
    MessageRow,
    MessagesSubscriber,
    NotFound,
    ThreadUpdateRow,
    UpdatesSubscriber,
)

SAFETY_CHECK_SECONDS = 20.0  # pub/sub is at-most-once: each club's hub re-reads the database this often


def _staff_id(ctx: Context) -> int:
    principal = ctx.require_principal()
    if principal.staff_id is None:
        raise Forbidden("Subscriptions need a staff token")
    return principal.staff_id


def _prepare(row: MessageRow | ThreadUpdateRow) -> None:
    """The row's dataloaders, made for the one subscriber of each group that executes it."""
    if row.event.prepare is None:
        row.event.prepare = partial(share_loaders, loaders=row.loaders, views=[row.view])


async def message_added(ctx: Context, thread_id: str, after: str | None) -> AsyncIterator[MessageRow]:
    """Each new message of a thread in order; with `after`, every message after that cursor first."""
    staff_id = _staff_id(ctx)
    decoded = decode_id(thread_id, "Thread")
    if decoded is None:
        raise NotFound("No such thread")
    subscriber = MessagesSubscriber(staff_id, decoded[1], after)
    async with Membership(ctx, subscriber, SAFETY_CHECK_SECONDS):
        while True:
            for row in await subscriber.next_batch():
                _prepare(row)
                yield row
                subscriber.delivered = row.message.seq


async def thread_updated(ctx: Context, category: str | None, after: str | None) -> AsyncIterator[ThreadUpdateRow]:
    """The subscriber's own view of each changed thread; with `after`, first one CATCH_UP per thread."""
    staff_id = _staff_id(ctx)
    position = decode_updates_cursor(staff_id, after) if after is not None else None
    live_from = None
    if position is None:  # the stamp as the client subscribes: a change it makes right after is sent
        live_from = known_stamp(ctx)  # the club's hub here knows one already (no query) ...
        if live_from is None:  # ... or this is the club's first subscriber in this process
            async with ctx.db() as session:
                live_from = await club_change_seq(session, ctx.require_principal().club_id)
    subscriber = UpdatesSubscriber(staff_id, category, position, live_from=live_from)
    async with Membership(ctx, subscriber, SAFETY_CHECK_SECONDS):
        while True:
            for update in await subscriber.next_batch():
                _prepare(update)
                yield update
                subscriber.delivered = update.change_seq


async def unread_counts_changed(ctx: Context) -> AsyncIterator[CountsRow]:
    """The current counts at once, then each change (and again after a bus reset)."""
    subscriber = CountsSubscriber(_staff_id(ctx))
    async with Membership(ctx, subscriber, SAFETY_CHECK_SECONDS):
        while True:
            for counts in await subscriber.next_batch():
                yield counts
