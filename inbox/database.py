"""Opening the database from settings (for the app, the CLI and the tests)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.settings import Settings
from models.engine import create_engine


def engine_from_settings(settings: Settings) -> AsyncEngine:
    return create_engine(
        settings.database_url,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout,
        pool_timeout=settings.db_pool_timeout,
    )
