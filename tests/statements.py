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
