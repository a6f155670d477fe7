"""Engine and session factory for both databases, and the per-club query filter.

A session opened with `club_id` filters every ORM query on `ClubScoped` tables by that club:
tenancy is enforced here, once, not in each query.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from models.base import ClubScoped

CLUB_ID = "club_id"
WRITE = "write"
READ_ONLY = "read_only"


def create_engine(
    database_url: str,
    *,
    connect_timeout: float = 5.0,
    statement_timeout: float = 10.0,
    pool_timeout: float = 5.0,
    pool_size: int = 10,
    echo: bool = False,
) -> AsyncEngine:
    """An engine with bounded timeouts (a hung database must fail requests fast)."""
    url = make_url(database_url)
    # orjson reads JSON columns (tags) 3-4x faster than the json module; writing stays json's.
    kwargs: dict[str, Any] = {"echo": echo, "json_deserializer": orjson.loads}
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": max(statement_timeout, 15.0)}
    else:
        kwargs["pool_timeout"] = pool_timeout
        # No pre-ping (a round trip per checkout, a fifth of a one-statement request): a connection the
        # server dropped fails its statement, which invalidates the pool (503 once, then fresh connections).
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = pool_size
        kwargs["connect_args"] = {
            "timeout": connect_timeout,
            "command_timeout": statement_timeout,
            "server_settings": {"statement_timeout": str(int(statement_timeout * 1000))},
        }
    engine = create_async_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself, so writers take the lock up front (BEGIN IMMEDIATE).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads, outside any transaction on PostgreSQL: no BEGIN and ROLLBACK round trips
    around a request's one or two statements (each is consistent by itself). Writing in one fails.
    SQLite keeps its local transactions, which cost no round trip."""
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(engine, expire_on_commit=False, info={READ_ONLY: True})


def club_session(factory: async_sessionmaker[AsyncSession], club_id: int) -> AsyncSession:
    """A session whose ORM queries only ever see `club_id`'s rows."""
    session = factory()
    session.info[CLUB_ID] = club_id
    return session


async def begin_write(session: AsyncSession) -> None:
    """Start a read-write transaction; on SQLite it takes the write lock up front, so two writers
    wait for each other instead of failing with "database is locked" on lock upgrade."""
    if session.info.get(READ_ONLY):
        raise RuntimeError("a write began in a read session: writes take Context.write_db()")
    await session.connection(execution_options={WRITE: True})


@event.listens_for(Session, "do_orm_execute")
def _filter_by_club(state: ORMExecuteState) -> None:
    club_id = state.session.info.get(CLUB_ID)
    if club_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("all_clubs"):
        return
    state.statement = state.statement.options(
        with_loader_criteria(ClubScoped, lambda cls: cls.club_id == club_id, include_aliases=True)
    )
