"""Staff users and partner API keys, as operators manage them from the command line."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.auth import issue_staff_token, new_api_key
from inbox.errors import DomainError
from models import ApiKey, Club, Staff


class NotFound(DomainError):
    code = "NOT_FOUND"


async def token_for_staff_email(
    session: AsyncSession, secret: str, email: str, *, club_slug: str | None, ttl: timedelta
) -> str:
    """A bearer token for the staff user with this email (in `club_slug` when it is in several clubs)."""
    query = (
        select(Staff.external_id, Club.slug)
        .join(Club, Club.id == Staff.club_id)
        .where(Staff.email_normalized == email.strip().casefold())
        .order_by(Club.slug)
        .execution_options(all_clubs=True)
    )
    if club_slug:
        query = query.where(Club.slug == club_slug)
    rows = (await session.execute(query)).all()
    if not rows:
        where = f" in club {club_slug!r}" if club_slug else ""
        raise NotFound(f"no staff user with email {email!r}{where}")
    if len(rows) > 1:
        slugs = ", ".join(slug for _, slug in rows)
        raise DomainError(f"{email!r} is a staff user of several clubs ({slugs}): choose one with --club")
    external_id, slug = rows[0]
    return issue_staff_token(secret, staff_external_id=external_id, club_slug=slug, ttl=ttl)


async def create_api_key(session: AsyncSession, club_slug: str, name: str) -> str:
    """Store a new partner API key for the club and return it (the only time it is shown)."""
    club_id = await session.scalar(select(Club.id).where(Club.slug == club_slug))
    if club_id is None:
        raise NotFound(f"no club with slug {club_slug!r}")
    if not name.strip():
        raise DomainError("the API key needs a name")
    key, key_hash = new_api_key()
    session.add(ApiKey(club_id=club_id, name=name.strip(), key_hash=key_hash))
    await session.commit()
    return key
