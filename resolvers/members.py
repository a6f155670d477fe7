"""The member picker."""

from __future__ import annotations

from inbox.members import list_members
from inbox.pagination import Page, page_size
from models import Member
from resolvers.context import Context


async def resolve_members(ctx: Context, *, search: str | None, first: int | None, after: str | None) -> Page[Member]:
    size = page_size(first)
    async with ctx.db() as session:
        return await list_members(session, search=search, first=size, after=after)
