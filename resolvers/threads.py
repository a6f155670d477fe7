"""The thread list, unread counts, starting threads and the per-viewer actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.changes import Change, club_change_seq, publish_changes
from inbox.errors import BadUserInput, Forbidden, UserError
from inbox.messages import cursor_seq
from inbox.pagination import Page, page_size
from inbox.threads import (
    ThreadView,
    UnreadCounts,
    encode_updates_cursor,
    get_or_create_thread,
    list_threads,
    load_thread_view,
    lock_thread,
    mark_thread_read,
    mark_thread_unread,
    set_flag,
    thread_change,
    unread_counts,
)
from models import Member, Session, Smartlist, Thread
from models.engine import begin_write
from resolvers.context import Context
from resolvers.ids import decode_id

TARGET_TYPES = {"Member": ("MEMBER", Member), "Smartlist": ("SMARTLIST", Smartlist), "Session": ("SESSION", Session)}


async def threads(ctx: Context, *, category: str, status: str, search: str | None, first: int | None,
                  after: str | None, with_total: bool = False) -> tuple[Page[ThreadView], str]:
    """A page of the thread list and its updates cursor; `with_total` when the client asks totalCount."""
    principal = ctx.require_principal()
    if not principal.is_staff and status != "ALL":
        raise Forbidden("Partner API keys read threads with status ALL only")
    size = page_size(first)
    async with ctx.db() as session:
        page = await list_threads(session, club_id=principal.club_id, viewer_id=principal.staff_id,
                                  category=category, status=status, search=search, first=size, after=after,
                                  with_total=with_total)
        change_seq = page.change_seq
        if change_seq is None:  # an empty page read no stamp
            change_seq = await club_change_seq(session, principal.club_id)
    return page, encode_updates_cursor(ctx.viewer_id, change_seq)


async def viewer_unread_counts(ctx: Context) -> UnreadCounts:
    principal = ctx.require_principal()
    if principal.staff_id is None:
        raise Forbidden("Unread counts need a staff user")
    async with ctx.db() as session:
        return await unread_counts(session, principal.staff_id)


async def start_thread(ctx: Context, target_id: str) -> tuple[ThreadView, bool]:
    decoded = decode_id(target_id, *TARGET_TYPES)
    if decoded is None:
        raise UserError("NOT_FOUND", "No such member, smartlist or session", ["input", "targetId"])
    category, model = TARGET_TYPES[decoded[0]]
    principal = ctx.require_principal()
    async with ctx.db() as session:
        await begin_write(session)
        target = await session.scalar(select(model.id).where(model.id == decoded[1]))
        if target is None:
            raise UserError("NOT_FOUND", "No such member, smartlist or session", ["input", "targetId"])
        thread, created = await get_or_create_thread(session, principal.club_id, category, decoded[1])
        await session.commit()
        if created:
            await publish_changes(ctx.services.bus, [thread_change(thread, "CREATED")])
        view = await load_thread_view(session, ctx.viewer_id, thread.id)
    assert view is not None
    return view, created


ThreadChange = Callable[[AsyncSession, Thread, int], Awaitable[Change | None]]


async def change_thread(ctx: Context, thread_id: str, change: ThreadChange) -> tuple[ThreadView, UnreadCounts]:
    """Apply one viewer's change to a thread in a transaction; answer its new view and unread counts."""
    principal = ctx.require_principal()
    assert principal.staff_id is not None
    decoded = decode_id(thread_id, "Thread")
    not_found = UserError("NOT_FOUND", "No such thread", ["input", "threadId"])
    if decoded is None:
        raise not_found
    async with ctx.db() as session:
        await begin_write(session)
        thread = await lock_thread(session, decoded[1])
        if thread is None:
            raise not_found
        change_made = await change(session, thread, principal.staff_id)
        await session.commit()
        await publish_changes(ctx.services.bus, [change_made])
        view = await load_thread_view(session, principal.staff_id, thread.id)
        counts = await unread_counts(session, principal.staff_id)
    assert view is not None
    return view, counts


def read_change(up_to: str | None) -> ThreadChange:
    async def change(session: AsyncSession, thread: Thread, staff_id: int) -> Change | None:
        try:
            seq = cursor_seq(thread.id, up_to)
        except BadUserInput as exc:
            message = "`upTo` is not a message cursor of this thread"
            raise UserError("INVALID_INPUT", message, ["input", "upTo"]) from exc
        return await mark_thread_read(session, thread, staff_id, seq)

    return change


async def unread_change(session: AsyncSession, thread: Thread, staff_id: int) -> Change | None:
    return await mark_thread_unread(session, thread, staff_id)


def flag_change(flag: str, value: bool) -> ThreadChange:
    async def change(session: AsyncSession, thread: Thread, staff_id: int) -> Change | None:
        return await set_flag(session, thread, staff_id, flag, value)

    return change
