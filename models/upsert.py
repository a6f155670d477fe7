"""Portable INSERT ... ON CONFLICT: both SQLite and PostgreSQL support it, through their dialects."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """An `insert()` of the session's dialect, with `on_conflict_do_nothing/update`."""
    return insert_of(dialect_name(session), table)


def insert_of(dialect: str, table: Any) -> Any:
    """An `insert()` of a dialect by name, for statements built once per dialect."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def is_postgresql(session: AsyncSession) -> bool:
    return dialect_name(session) == "postgresql"
