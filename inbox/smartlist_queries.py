"""Smartlists as a catalogue: the picker's list, and member counts batched in one scan."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.pagination import Page, decode_key, keyset_page, list_digest
from inbox.search import name_search_condition
from inbox.sending import reachable_condition
from inbox.smartlists import filter_condition, filters_from_json
from models import Member, Smartlist

MAX_NAME = 200


async def list_smartlists(
    session: AsyncSession, *, search: str | None, first: int, after: str | None
) -> Page[Smartlist]:
    """Smartlists by name, then id; searchable by name."""
    digest = list_digest("smartlists", search or "")
    key = decode_key(after, digest, str, int)
    condition = name_search_condition(Smartlist.name_key, search)
    query = select(Smartlist).where(condition)
    if key is not None:
        query = query.where(tuple_(Smartlist.name_key, Smartlist.id) > tuple_(key[0], key[1]))
    rows = list((await session.scalars(query.order_by(Smartlist.name_key, Smartlist.id).limit(first + 1))).all())
    return keyset_page(rows, first, digest, lambda s: [s.name_key, s.id], after=key,
                       count_query=select(func.count(Smartlist.id)).where(condition))


async def member_counts(
    session: AsyncSession, smartlists: Sequence[Smartlist], channels: Sequence[str | None], today: Any
) -> list[int]:
    """For each (smartlist, channel) pair: its members now (channel None) or those a send would reach.

    One scan of the members, whatever the number of pairs.
    """
    if not smartlists:
        return []
    columns = []
    for smartlist, channel in zip(smartlists, channels, strict=True):
        condition = filter_condition(filters_from_json(smartlist.filters or []), today=today)
        if channel is not None:
            condition = condition & reachable_condition(channel)
        columns.append(func.count(Member.id).filter(condition))
    row = (await session.execute(select(*columns).select_from(Member))).one()
    return [int(value or 0) for value in row]
