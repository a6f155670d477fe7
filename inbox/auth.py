"""Who is calling: staff bearer tokens (JWT, HS256) and partner API keys (stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.errors import Unauthenticated
from models import ApiKey, Club, Staff

AUDIENCE = "inbox"
ALGORITHM = "HS256"
API_KEY_PREFIX = "ibx_"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a staff user of a club, or a partner API key of a club."""

    club_id: int
    club_slug: str
    addons: tuple[str, ...]
    staff_id: int | None = None
    api_key_id: int | None = None
    expires_at: datetime | None = None
    # The club's row as authentication read it (detached, read-only): a request needs no second query
    # for it.
    club: Club | None = field(default=None, compare=False, repr=False)
    staff: Staff | None = field(default=None, compare=False, repr=False)

    @property
    def is_staff(self) -> bool:
        return self.staff_id is not None

    @property
    def has_inbox(self) -> bool:
        return "inbox" in self.addons

    @property
    def budget_key(self) -> str:
        """Whose query-cost budget a request spends: the staff user's, or the API key's."""
        if self.staff_id is not None:
            return f"staff:{self.staff_id}"
        return f"key:{self.api_key_id}"


def issue_staff_token(secret: str, *, staff_external_id: str, club_slug: str, ttl: timedelta) -> str:
    now = datetime.now(UTC)
    claims = {"sub": staff_external_id, "club": club_slug, "aud": AUDIENCE, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def new_api_key() -> tuple[str, str]:
    """A fresh key and the hash to store; the key itself is shown once and never stored."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, hash_api_key(key)


def hash_api_key(key: str) -> str:
    # Keys are 256 random bits: a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_value(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def authenticate(session: AsyncSession, secret: str, credential: str | None) -> Principal:
    """Resolve a bearer value (a staff token or an API key) to its principal."""
    if not credential:
        raise Unauthenticated("Authentication required: send 'Authorization: Bearer <token>'")
    if credential.startswith(API_KEY_PREFIX):
        return await _authenticate_api_key(session, credential)
    return await _authenticate_staff_token(session, secret, credential)


async def _authenticate_staff_token(session: AsyncSession, secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], audience=AUDIENCE,
            options={"require": ["sub", "club", "aud", "iat", "exp"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("Token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated("Invalid token") from exc
    expires_at = _expiry(claims["exp"])
    if expires_at is None or not all(isinstance(claims[name], str) for name in ("sub", "club")):
        raise Unauthenticated("Invalid token")  # validly signed, but claims no issuer of ours would write
    row = (
        await session.execute(
            select(Staff, Club)
            .join(Club, Club.id == Staff.club_id)
            .where(Club.slug == str(claims["club"]), Staff.external_id == str(claims["sub"]))
            .execution_options(all_clubs=True)
        )
    ).first()
    if row is None:
        raise Unauthenticated("Unknown staff user")
    staff, club = row
    return Principal(
        club_id=club.id, club_slug=club.slug, addons=tuple(club.addons or ()), staff_id=staff.id,
        expires_at=expires_at, club=club, staff=staff,
    )


def _expiry(exp: object) -> datetime | None:
    """The token's expiry, or None when `exp` is no representable time (1e300, 10**20)."""
    try:
        return datetime.fromtimestamp(int(exp), UTC)  # type: ignore[call-overload]
    except (OverflowError, ValueError, OSError, TypeError):
        return None


async def _authenticate_api_key(session: AsyncSession, key: str) -> Principal:
    row = (
        await session.execute(
            select(ApiKey.id, Club)
            .join(Club, Club.id == ApiKey.club_id)
            .where(ApiKey.key_hash == hash_api_key(key), ApiKey.revoked_at.is_(None))
            .execution_options(all_clubs=True)
        )
    ).first()
    if row is None:
        raise Unauthenticated("Invalid API key")
    key_id, club = row
    return Principal(club_id=club.id, club_slug=club.slug, addons=tuple(club.addons or ()), api_key_id=key_id,
                     club=club)
