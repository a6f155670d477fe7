"""Smartlists as a catalogue: the picker's list, and member counts batched in one scan."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.pagination import Page, decode_key, keyset_page, list_digest
from inbox.search import name_search_condition
from inbox.sending import reachable_condition
from inbox.smartlists import filter_condition, filters_from_json, parameter_count
from models import Member, Smartlist

MAX_NAME = 200
# Bound parameters per counting statement: well below the drivers' limits (32,767), above what the
# largest smartlist the size limits allow compiles to (20 filters x 500 values).
MAX_PARAMETERS = 12_000


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
                       count_query=lambda: select(func.count(Smartlist.id)).where(condition))


async def member_counts(
    session: AsyncSession, smartlists: Sequence[Smartlist], channels: Sequence[str | None], today: Any
) -> list[int]:
    """For each (smartlist, channel) pair: its members now (channel None) or those a send would reach.

    One scan of the members per batch of pairs; a batch holds as many pairs as `MAX_PARAMETERS` allows,
    so one smartlist with many filters never makes the statement of the others fail.
    """
    batches: list[list[Any]] = []
    budget = 0
    for smartlist, channel in zip(smartlists, channels, strict=True):
        filters = filters_from_json(smartlist.filters or [])
        condition = filter_condition(filters, today=today)
        if channel is not None:
            condition = condition & reachable_condition(channel)
        cost = parameter_count(filters) + 4
        if not batches or budget + cost > MAX_PARAMETERS:
            batches.append([])
            budget = 0
        batches[-1].append(func.count(Member.id).filter(condition))
        budget += cost
    counts: list[int] = []
    for columns in batches:
        row = (await session.execute(select(*columns).select_from(Member))).one()
        counts += [int(value or 0) for value in row]
    return counts
