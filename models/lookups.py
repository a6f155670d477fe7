"""Rows by primary key: the one statement the dataloaders, `node(id:)` and the context's club and viewer share.

The session's club filter (models/engine.py) applies, so another club's id finds nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import Club, Delivery, Member, Message, Session, Smartlist, Staff, Thread

Row = TypeVar("Row", Club, Delivery, Member, Message, Session, Smartlist, Staff, Thread)


async def rows_by_id(session: AsyncSession, model: type[Row], ids: Iterable[int]) -> dict[int, Row]:
    """The rows of `model` among `ids`, by id (unknown ids are left out)."""
    return {row.id: row for row in await session.scalars(select(model).where(model.id.in_(set(ids))))}


async def row_by_id(session: AsyncSession, model: type[Row], row_id: int) -> Row | None:
    return await session.scalar(select(model).where(model.id == row_id))


async def one_by_id(session: AsyncSession, model: type[Row], row_id: int) -> Row:
    """The row that must exist (SQLAlchemy's NoResultFound otherwise)."""
    return (await session.scalars(select(model).where(model.id == row_id))).one()
