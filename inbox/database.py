"""Opening the database from settings (for the app, the CLI and the tests), and saying in one line
why it cannot be used: a setup mistake is a sentence for the operator, never a traceback."""

from __future__ import annotations

import asyncio
import logging
import re

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.settings import Settings
from models.engine import create_engine

UNREACHABLE_ERRORS = (OperationalError, PoolTimeoutError, OSError, ConnectionError, asyncio.TimeoutError)
NO_SCHEMA = re.compile(r"no such table|relation \"[^\"]+\" does not exist|UndefinedTableError")
NO_DATABASE = re.compile(r"database \"([^\"]+)\" does not exist")


def engine_from_settings(settings: Settings) -> AsyncEngine:
    return create_engine(
        settings.database_url,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout,
        pool_timeout=settings.db_pool_timeout,
        pool_size=settings.db_pool_size,
    )


def shown_url(database_url: str) -> str:
    """The URL as it may be printed: without its password."""
    return make_url(database_url).render_as_string(hide_password=True)


def _first_line(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    text = str(original).strip() or type(original).__name__
    return text.splitlines()[0]


def database_problem(error: BaseException, database_url: str) -> str | None:
    """One line saying why the database cannot be used, or None when `error` is not about that."""
    if not isinstance(error, (DBAPIError, *UNREACHABLE_ERRORS)):
        return None
    text = _first_line(error)
    url = make_url(database_url)
    if missing := NO_DATABASE.search(text):
        return (f'database "{missing.group(1)}" does not exist on {url.host}:{url.port or 5432}: create it first '
                f"(createdb -h {url.host} -U {url.username or 'postgres'} {missing.group(1)})")
    if NO_SCHEMA.search(text):
        return "the database has no schema yet: run `inbox migrate` first"
    if "unable to open database file" in text:
        return f"cannot open the SQLite file of {shown_url(database_url)}: does its folder exist?"
    if isinstance(error, DBAPIError) and not isinstance(error, OperationalError) and not error.connection_invalidated:
        if "password authentication failed" not in text and "role" not in text:
            return None
    if isinstance(error, asyncio.TimeoutError | PoolTimeoutError):
        text = "timed out"
    return f"cannot reach the database at {shown_url(database_url)}: {text}"


def is_outage(error: BaseException) -> bool:
    """The database is down, hung or gone (what waiting and retrying may cure), not a bug."""
    if isinstance(error, UNREACHABLE_ERRORS):
        return True
    if isinstance(error, DBAPIError):
        return bool(error.connection_invalidated) or NO_DATABASE.search(_first_line(error)) is not None
    return False


class OutageLog:
    """Logs an outage of the database once when it starts and once when it ends, not at every retry."""

    def __init__(self, logger: logging.Logger, who: str) -> None:
        self.logger = logger
        self.who = who
        self.down = False

    def failed(self, error: BaseException) -> None:
        if not self.down:
            self.down = True
            self.logger.warning("%s: database unavailable, retrying until it is back: %s", self.who,
                                _first_line(error))

    def recovered(self) -> None:
        if self.down:
            self.down = False
            self.logger.warning("%s: database reachable again", self.who)
