"""Members: the member picker's list, lookups by id, names and tags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.pagination import Page, decode_key, keyset_page, list_digest
from inbox.search import member_search_condition
from inbox.text import fold
from models import Member, MemberTag, Session, Smartlist


def member_full_name(first_name: str, last_name: str) -> str:
    """How a member is named everywhere (a thread's title, the member's fullName)."""
    return f"{first_name} {last_name}".strip()


def member_order_key(member: Member) -> list[object]:
    return [member.last_name_key, member.first_name_key, member.id]


async def list_members(
    session: AsyncSession, *, search: str | None, first: int, after: str | None,
    condition: ColumnElement[bool] | None = None, list_name: tuple[object, ...] = ("members",),
) -> Page[Member]:
    """Members by last name, first name, id; narrowed by the search rules of docs/rules.md and, for a
    smartlist, by its `condition` (`list_name` then names that list in cursors)."""
    digest = list_digest(*list_name, search or "")
    key = decode_key(after, digest, str, str, int)
    condition = and_(member_search_condition(search), true() if condition is None else condition)
    query = select(Member).where(condition)
    if key is not None:
        query = query.where(tuple_(Member.last_name_key, Member.first_name_key, Member.id) > tuple(key))
    query = query.order_by(Member.last_name_key, Member.first_name_key, Member.id).limit(first + 1)
    rows = list((await session.scalars(query)).all())
    return keyset_page(rows, first, digest, member_order_key, after=key,
                       count_query=lambda: select(func.count()).select_from(Member).where(condition))



async def tags_in_use(session: AsyncSession, search: str | None, size: int) -> list[str]:
    """Tags in use, alphabetically; a search narrows them (case- and accent-insensitive)."""
    tags = (await session.scalars(select(MemberTag.tag).distinct().order_by(MemberTag.tag))).all()
    words = fold(search).split()
    return [tag for tag in tags if all(word in fold(tag) for word in words)][:size]


async def targets_by_external_id(session: AsyncSession, category: str, external_ids: Sequence[str]) -> list[Any]:
    """Members, smartlists or sessions by the club platform's ids, in the order asked (None: unknown)."""
    model: Any = {"MEMBER": Member, "SMARTLIST": Smartlist, "SESSION": Session}[category]
    rows = {row.external_id: row for row in await session.scalars(
        select(model).where(model.external_id.in_(set(external_ids))))}
    return [rows.get(external_id) for external_id in external_ids]
