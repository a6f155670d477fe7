"""`node` / `nodes`: load objects by global id, one query per type, invisible across clubs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from inbox.threads import ThreadView, load_thread_views
from models import Delivery, Member, Message, Session, Smartlist, Staff
from models.lookups import rows_by_id
from resolvers.context import Context
from resolvers.ids import decode_id

NODE_MODELS: dict[str, Any] = {"Member": Member, "Staff": Staff, "Smartlist": Smartlist, "Session": Session,
                               "Message": Message, "Delivery": Delivery}


async def load_nodes(ctx: Context, ids: Sequence[str]) -> list[Any | None]:
    """The rows named by `ids`, in order; None for malformed, unknown or other clubs' ids."""
    decoded = [decode_id(global_id) for global_id in ids]
    wanted: dict[str, set[int]] = defaultdict(set)
    for item in decoded:
        if item:
            wanted[item[0]].add(item[1])
    found: dict[tuple[str, int], Any] = {}
    principal = ctx.require_principal()
    if principal.club_id in wanted.pop("Club", set()):
        found[("Club", principal.club_id)] = await ctx.club()
    async with ctx.db() as session:
        for pk, view in (await load_thread_views(session, ctx.viewer_id, list(wanted.pop("Thread", set())))).items():
            found[("Thread", pk)] = view
        for type_name, pks in wanted.items():
            model = NODE_MODELS.get(type_name)
            if model is None:
                continue
            for row_id, row in (await rows_by_id(session, model, pks)).items():
                found[(type_name, row_id)] = row
    return [found.get(item) if item else None for item in decoded]


async def load_node(ctx: Context, global_id: str) -> Any | None:
    return (await load_nodes(ctx, [global_id]))[0]


async def load_thread(ctx: Context, global_id: str) -> ThreadView | None:
    """The thread named by `global_id`; None when it is malformed, unknown, of another club or not a thread's."""
    if decode_id(global_id, "Thread") is None:
        return None
    return await load_node(ctx, global_id)
