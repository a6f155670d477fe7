"""Settings, read from the environment (and a `.env` file) once per process."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./inbox.db"
SECRET_KEY_FILE_SUFFIX = ".secret-key"
URL_EXAMPLE = "expected e.g. postgresql://user:password@host:5432/name"
# The drivers this project runs on, and the URL prefixes read as each of them.
DRIVER_BY_SCHEME = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def normalise_database_url(value: str) -> str:
    """DATABASE_URL with its driver made explicit (`postgres://` is read as PostgreSQL through asyncpg).

    Raises ValueError, in one line, for a URL that does not parse or names a database we do not run on.
    """
    scheme, separator, rest = value.strip().partition("://")
    if not separator or not scheme:
        raise ValueError(f"DATABASE_URL does not parse ({URL_EXAMPLE})")
    driver = DRIVER_BY_SCHEME.get(scheme.lower())
    if driver is None:
        raise ValueError(f"DATABASE_URL uses an unsupported scheme {scheme!r}: use postgresql:// or sqlite:///")
    url = f"{driver}://{rest}"
    try:
        make_url(url).port  # noqa: B018 (a port that is not a number fails here)
    except (ArgumentError, ValueError):
        raise ValueError(f"DATABASE_URL does not parse ({URL_EXAMPLE})") from None
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    secret_key: str | None = Field(None, alias="INBOX_SECRET_KEY")
    env: Literal["development", "production"] = Field("development", alias="INBOX_ENV")
    public_url: str = Field("http://127.0.0.1:8000", alias="INBOX_PUBLIC_URL")
    # Comma-separated origins allowed to open WebSockets, e.g. "https://app.example,https://admin.example".
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="INBOX_ALLOWED_ORIGINS")
    legacy_graphql_ws: bool = Field(False, alias="INBOX_LEGACY_GRAPHQL_WS")
    # Plain leaf attributes answered without graphql-core's per-field machinery (schema/execution.py);
    # off runs graphql-core alone, with identical answers (the tests compare both).
    fast_execution: bool = Field(True, alias="INBOX_FAST_EXECUTION")
    # uvicorn's line per request; unset, on in development and off in production, as gunicorn's
    # default (the line cost a threads page 2% of its CPU; the proxy in front logs requests anyway).
    access_log: bool | None = Field(None, alias="INBOX_ACCESS_LOG")
    # Query-cost points a caller may spend per minute (a 50-thread list page costs about 1,200).
    rate_limit_per_minute: int = Field(100_000, gt=0, alias="INBOX_RATE_LIMIT_PER_MINUTE")

    smtp_url: str | None = Field(None, alias="INBOX_SMTP_URL")
    twilio_account_sid: str | None = Field(None, alias="INBOX_TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = Field(None, alias="INBOX_TWILIO_AUTH_TOKEN")
    twilio_api_url: str = Field("https://api.twilio.com", alias="INBOX_TWILIO_API_URL")
    mailgun_signing_key: str | None = Field(None, alias="INBOX_MAILGUN_SIGNING_KEY")
    # The From address of outbound email (shown with the club's name).
    email_from: str = Field("inbox@localhost", alias="INBOX_EMAIL_FROM")
    # Connect, read and write timeout of one send to the SMTP server or the SMS provider.
    send_timeout: float = Field(30.0, gt=0, alias="INBOX_SEND_TIMEOUT")

    # The delivery dispatcher: sends at once, rows claimed per batch, attempts before FAILED, first
    # retry delay (doubling, at most an hour), how long a claim holds (renewed while it is worked on), idle poll.
    dispatch_concurrency: int = Field(10, ge=1, alias="INBOX_DISPATCH_CONCURRENCY")
    dispatch_batch_size: int = Field(100, ge=1, alias="INBOX_DISPATCH_BATCH_SIZE")
    dispatch_max_attempts: int = Field(5, ge=1, alias="INBOX_DISPATCH_MAX_ATTEMPTS")
    dispatch_backoff: float = Field(30.0, ge=0, alias="INBOX_DISPATCH_BACKOFF")
    dispatch_lease: float = Field(60.0, gt=0, alias="INBOX_DISPATCH_LEASE")
    dispatch_poll_interval: float = Field(1.0, gt=0, alias="INBOX_DISPATCH_POLL_INTERVAL")

    db_connect_timeout: float = Field(5.0, alias="INBOX_DB_CONNECT_TIMEOUT")
    db_statement_timeout: float = Field(10.0, alias="INBOX_DB_STATEMENT_TIMEOUT")
    db_pool_timeout: float = Field(5.0, alias="INBOX_DB_POOL_TIMEOUT")
    db_pool_size: int = Field(10, ge=1, alias="INBOX_DB_POOL_SIZE")

    @field_validator("database_url")
    @classmethod
    def _database_url_driver(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_form(cls, value: str | None) -> str | None:
        if value and (urlsplit(value).scheme not in ("smtp", "smtps") or not urlsplit(value).hostname):
            raise ValueError("INBOX_SMTP_URL must look like smtp://user:pass@host:587 (or smtps://)")
        return value or None

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.env == "production" and not self.secret_key:
            raise ValueError("INBOX_SECRET_KEY is required when INBOX_ENV=production")
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def logs_requests(self) -> bool:
        return self.access_log if self.access_log is not None else not self.is_production

    def signing_key(self) -> str:
        """The key that signs staff tokens.

        In development without INBOX_SECRET_KEY, a key is generated once and kept beside the
        SQLite file (or in the working directory), so tokens survive restarts.
        """
        if self.secret_key:
            return self.secret_key
        path = self._generated_key_path()
        if path.exists():
            return path.read_text().strip()
        key = secrets.token_urlsafe(48)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key)
        path.chmod(0o600)
        return key

    def _generated_key_path(self) -> Path:
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            db = Path(url.database)
            return db.with_name(db.name + SECRET_KEY_FILE_SUFFIX)
        return Path(".inbox" + SECRET_KEY_FILE_SUFFIX)


@lru_cache
def get_settings() -> Settings:
    return Settings()
