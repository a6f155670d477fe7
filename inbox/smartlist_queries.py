"""Smartlists as a catalogue: the picker's list, creation, and member counts batched in one scan."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.errors import BadUserInput, UserError, UserErrors
from inbox.pagination import Page, decode_cursor, encode_cursor, list_digest
from inbox.search import name_search_condition
from inbox.sending import reachable_condition
from inbox.smartlists import (
    filter_condition,
    filters_from_json,
    filters_to_json,
    parameter_count,
    validate_filters,
)
from inbox.text import fold
from models import Member, Smartlist
from models.engine import begin_write

MAX_NAME = 200
# Bound parameters per counting statement: well below the drivers' limits (32,767), above what the
# largest smartlist the size limits allow compiles to (20 filters x 500 values).
MAX_PARAMETERS = 12_000


async def list_smartlists(
    session: AsyncSession, *, search: str | None, first: int, after: str | None
) -> Page[Smartlist]:
    """Smartlists by name, then id; searchable by name."""
    digest = list_digest("smartlists", search or "")
    key = decode_cursor(after, digest)
    condition = name_search_condition(Smartlist.name_key, search)
    query = select(Smartlist).where(condition)
    if key is not None:
        if len(key) != 2 or not isinstance(key[1], int):
            raise BadUserInput("Malformed cursor")
        query = query.where(tuple_(Smartlist.name_key, Smartlist.id) > tuple_(str(key[0]), key[1]))
    rows = list((await session.scalars(query.order_by(Smartlist.name_key, Smartlist.id).limit(first + 1))).all())

    count_query = select(func.count(Smartlist.id)).where(condition)
    items = rows[:first]
    return Page(items=items, cursors=[encode_cursor(digest, [s.name_key, s.id]) for s in items],
                has_next_page=len(rows) > first, has_previous_page=key is not None, count_query=count_query)


async def create_smartlist(
    session: AsyncSession, club_id: int, *, name: str, description: str | None, filters: Sequence[Any]
) -> Smartlist:
    """Validate everything (all problems at once), then store the smartlist."""
    rules, errors = validate_filters(filters)
    if not name.strip():
        errors.insert(0, UserError("INVALID_INPUT", "The smartlist needs a name", ["input", "name"]))
    elif len(name.strip()) > MAX_NAME:
        errors.insert(0, UserError("INVALID_INPUT", f"The name is over {MAX_NAME} characters", ["input", "name"]))
    if errors:
        raise UserErrors(errors)
    await begin_write(session)
    smartlist = Smartlist(
        club_id=club_id, external_id=f"inbox-{uuid.uuid4().hex[:12]}", name=name.strip(),
        name_key=fold(name), description=(description or "").strip() or None, filters=filters_to_json(rules),
    )
    session.add(smartlist)
    await session.commit()
    return smartlist


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
