"""Recording the SQL statements a request sends, for the tests that pin the read and write paths' cost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

# Transaction control is not a statement here; a batched insert (executemany) is one.
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """The statements the app's engine sends inside the block, white space folded."""
    engine = app.state.services.sessions.kw["bind"].sync_engine
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(CONTROL):
            sent.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def wire(app: Any) -> Iterator[list[str]]:
    """What asyncpg sends as plain queries inside the block (PostgreSQL only): transaction control
    and unprepared statements; the prepared statements SQLAlchemy runs are not logged by asyncpg."""
    engine = app.state.services.sessions.kw["bind"].sync_engine
    sent: list[str] = []
    watched: list[Any] = []

    def record(logged: Any) -> None:
        sent.append(" ".join(logged.query.split()))

    def watch(dbapi_connection: Any, *args: Any) -> None:
        connection = dbapi_connection.driver_connection
        if connection not in watched:
            connection.add_query_logger(record)
            watched.append(connection)

    event.listen(engine, "checkout", watch)
    try:
        yield sent
    finally:
        event.remove(engine, "checkout", watch)
        for connection in watched:
            connection.remove_query_logger(record)
