"""The SQL behind a request: each statement with its parameters and time, and its plan on demand."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

_STARTED = "bench_statement_started"


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any
    seconds: float
    many: bool
    failed: bool = False

    @property
    def is_read(self) -> bool:
        return not self.many and self.sql.lstrip().upper().startswith(("SELECT", "WITH"))

    @property
    def verb(self) -> str:
        return self.sql.split(None, 1)[0].upper() if self.sql.strip() else "?"

    def short(self, width: int = 110) -> str:
        flat = " ".join(self.sql.split())
        return flat if len(flat) <= width else flat[: width - 1] + "…"


@dataclass
class StatementLog:
    """Records every statement the engine sends while open (`with StatementLog(engine) as log:`)."""

    engine: AsyncEngine
    statements: list[Statement] = field(default_factory=list)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        conn.info[_STARTED] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seconds = time.perf_counter() - conn.info.pop(_STARTED, time.perf_counter())
        self.statements.append(Statement(statement, parameters, seconds, many))

    def _error(self, context: Any) -> None:
        if context.connection is None or context.statement is None:
            return
        seconds = time.perf_counter() - context.connection.info.pop(_STARTED, time.perf_counter())
        many = bool(context.execution_context and context.execution_context.executemany)
        self.statements.append(Statement(context.statement, context.parameters, seconds, many, failed=True))

    def _listeners(self) -> list[tuple[str, Any]]:
        return [("before_cursor_execute", self._before), ("after_cursor_execute", self._after),
                ("handle_error", self._error)]

    def __enter__(self) -> StatementLog:
        for name, listener in self._listeners():
            event.listen(self.engine.sync_engine, name, listener)
        return self

    def __exit__(self, *exc: object) -> None:
        for name, listener in self._listeners():
            event.remove(self.engine.sync_engine, name, listener)

    def slowest_reads(self, count: int) -> list[Statement]:
        """The statements worth a plan: the failed ones first, then the slowest reads (not FOR UPDATE,
        which EXPLAIN ANALYZE would run and lock)."""
        reads = [s for s in self.statements if s.is_read and "FOR UPDATE" not in s.sql.upper()]
        return sorted(reads, key=lambda s: (s.failed, s.seconds), reverse=True)[:count]


async def _postgresql_plan(engine: AsyncEngine, prefix: str, statement: Statement) -> list[str]:
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql(prefix + statement.sql, tuple(statement.parameters))
        return [row[0] for row in result]


async def explain(engine: AsyncEngine, statement: Statement) -> list[str]:
    """The plan of a captured read, run again with its parameters: EXPLAIN (ANALYZE, BUFFERS) on
    PostgreSQL, EXPLAIN QUERY PLAN on SQLite (indented as a tree)."""
    if engine.dialect.name == "postgresql":
        try:
            return await _postgresql_plan(engine, "EXPLAIN (ANALYZE, BUFFERS) ", statement)
        except DBAPIError as exc:  # e.g. the statement timeout again: the plan without running it
            return [f"(EXPLAIN ANALYZE failed: {exc.orig!r}; the plan without running it:)",
                    *await _postgresql_plan(engine, "EXPLAIN ", statement)]
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement.sql, tuple(statement.parameters))
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _, detail in result:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + str(detail))
        return lines
