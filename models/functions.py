"""SQL functions whose spelling differs between SQLite and PostgreSQL, compiled for the session's dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement, ReturnTypeFromArgs


class random_token(FunctionElement[str]):
    """32 random hex characters made by the database, so set-based inserts need no value per row from
    Python: PostgreSQL's `gen_random_uuid` (122 random bits from its strong source), SQLite's
    `randomblob` (128 bits)."""

    type = String()
    name = "random_token"
    inherit_cache = True


@compiles(random_token, "postgresql")
def _random_token_postgresql(element: random_token, compiler: Any, **kw: Any) -> str:
    return "replace(CAST(gen_random_uuid() AS TEXT), '-', '')"


@compiles(random_token, "sqlite")
def _random_token_sqlite(element: random_token, compiler: Any, **kw: Any) -> str:
    return "lower(hex(randomblob(16)))"


class greatest(ReturnTypeFromArgs[Any]):
    """The greater of its non-null arguments: PostgreSQL's `greatest`, SQLite's `max` of several
    arguments (which answers null when one is null: pass no null)."""

    name = "greatest"
    inherit_cache = True


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"
