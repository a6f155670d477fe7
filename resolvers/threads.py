"""The thread list, unread counts, starting threads and the per-viewer actions."""

from __future__ import annotations

from inbox import actions
from inbox.actions import ThreadOutcome
from inbox.changes import club_change_seq
from inbox.errors import Forbidden, UserError
from inbox.pagination import Page, page_size
from inbox.threads import ThreadView, UnreadCounts, encode_updates_cursor, list_threads, unread_counts
from inbox.viewer_state import Flag
from inbox.vocabulary import CATEGORY_OF_TYPE
from resolvers.context import Context
from resolvers.ids import decode_id


async def threads(ctx: Context, *, category: str, status: str, search: str | None, first: int | None,
                  after: str | None, with_total: bool = False,
                  member_columns: frozenset[str] | None = None) -> tuple[Page[ThreadView], str]:
    """A page of the thread list and its updates cursor; `with_total` when the client asks totalCount,
    `member_columns` when its selection reads only those of the members (None: all of them)."""
    principal = ctx.require_principal()
    if not principal.is_staff and status != "ALL":
        raise Forbidden("Partner API keys read threads with status ALL only")
    size = page_size(first)
    async with ctx.db() as session:
        page = await list_threads(session, viewer_id=principal.staff_id, category=category, status=status,
                                  search=search, first=size, after=after, with_total=with_total,
                                  member_columns=member_columns)
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
    decoded = decode_id(target_id, *CATEGORY_OF_TYPE)
    if decoded is None:
        raise UserError("NOT_FOUND", "No such member, smartlist or session", ["input", "targetId"])
    principal = ctx.require_principal()
    async with ctx.write_db() as session:
        return await actions.start_thread(session, ctx.services.bus, club_id=principal.club_id,
                                          viewer_id=principal.staff_id, category=CATEGORY_OF_TYPE[decoded[0]],
                                          target_id=decoded[1])


def _thread_pk(thread_id: str) -> int:
    decoded = decode_id(thread_id, "Thread")
    if decoded is None:
        raise UserError("NOT_FOUND", "No such thread", ["input", "threadId"])
    return decoded[1]


def _staff_id(ctx: Context) -> int:
    staff_id = ctx.require_principal().staff_id
    assert staff_id is not None  # the schema lets only staff tokens write
    return staff_id


async def mark_read(ctx: Context, thread_id: str, up_to: str | None, *, with_counts: bool = True) -> ThreadOutcome:
    pk = _thread_pk(thread_id)
    async with ctx.write_db() as session:
        return await actions.mark_thread_read(session, ctx.services.bus, staff_id=_staff_id(ctx), thread_id=pk,
                                              up_to=up_to, with_counts=with_counts)


async def mark_unread(ctx: Context, thread_id: str, *, with_counts: bool = True) -> ThreadOutcome:
    pk = _thread_pk(thread_id)
    async with ctx.write_db() as session:
        return await actions.mark_thread_unread(session, ctx.services.bus, staff_id=_staff_id(ctx), thread_id=pk,
                                                with_counts=with_counts)


async def set_flag(ctx: Context, thread_id: str, flag: Flag, value: bool, *, with_counts: bool = True) -> ThreadOutcome:
    pk = _thread_pk(thread_id)
    async with ctx.write_db() as session:
        return await actions.set_thread_flag(session, ctx.services.bus, staff_id=_staff_id(ctx), thread_id=pk,
                                             flag=flag, value=value, with_counts=with_counts)
