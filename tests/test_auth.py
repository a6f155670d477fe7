"""Authentication (docs/api.md): staff tokens, partner API keys, the inbox add-on."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.staff import create_api_key
from tests.factories import TEST_SECRET, ClubFixture, graphql, make_club

VIEWER = """query {
  viewer { name email externalId }
  club { name addons timezone country currency receivesSmsReplies receivesEmailReplies }
}"""


async def test_a_valid_staff_token_answers_viewer_and_club(http: httpx.AsyncClient, club: ClubFixture) -> None:
    body = await graphql(http, VIEWER, token=club.token("s2"))
    assert body["data"]["viewer"] == {"name": "Tom Baker", "email": f"tom@{club.slug}.example", "externalId": "s2"}
    assert body["data"]["club"] == {
        "name": f"Club {club.slug}", "addons": ["inbox", "sms"], "timezone": "Europe/Paris", "country": "FR",
        "currency": "EUR", "receivesSmsReplies": False, "receivesEmailReplies": True,
    }


def _tamper(token: str) -> str:
    head, payload, signature = token.split(".")
    return ".".join([head, payload, ("A" if signature[0] != "A" else "B") + signature[1:]])


def _forge(fixture: ClubFixture, **changes: object) -> str:
    claims = jwt.decode(fixture.token(), TEST_SECRET, algorithms=["HS256"], audience="inbox")
    claims.update(changes)
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "make_token",
    [
        lambda c: None,
        lambda c: "",
        lambda c: c.token(ttl=timedelta(seconds=-5)),
        lambda c: _tamper(c.token()),
        lambda c: c.token(secret="another-secret-of-sufficient-length-123456"),
        lambda c: _forge(c, aud="someone-else"),
        lambda c: _forge(c, sub="no-such-staff"),
        lambda c: _forge(c, club="no-such-club"),
        lambda c: jwt.encode({"sub": "s1", "club": c.slug, "aud": "inbox"}, TEST_SECRET, algorithm="HS256"),
        lambda c: "ibx_not-a-real-key",
        lambda c: "not even a jwt",
    ],
    ids=["missing", "empty", "expired", "tampered", "wrong-key", "wrong-audience", "unknown-staff",
         "unknown-club", "no-expiry", "unknown-api-key", "garbage"],
)
async def test_missing_expired_or_tampered_tokens_get_401_unauthenticated(
    http: httpx.AsyncClient, club: ClubFixture, make_token: object
) -> None:
    token = make_token(club)  # type: ignore[operator]
    body = await graphql(http, VIEWER, token=token, expect_status=401)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in body or body["data"] is None


async def test_a_staff_token_of_one_club_cannot_name_another_clubs_staff(
    http: httpx.AsyncClient, club: ClubFixture, other_club: ClubFixture
) -> None:
    # Both clubs have a staff user "s1": the club claim decides which one.
    mine = await graphql(http, VIEWER, token=club.token("s1"))
    theirs = await graphql(http, VIEWER, token=other_club.token("s1"))
    assert mine["data"]["viewer"]["email"] != theirs["data"]["viewer"]["email"]


async def test_partner_api_key_reads_members_and_has_no_viewer(
    http: httpx.AsyncClient, club: ClubFixture, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        key = await create_api_key(session, club.slug, "Partner dashboard")
    body = await graphql(http, "query { viewer { name } club { name } members { totalCount } }", token=key)
    assert body["data"] == {"viewer": None, "club": {"name": f"Club {club.slug}"}, "members": {"totalCount": 5}}


async def test_api_keys_are_stored_hashed(club: ClubFixture, sessions: async_sessionmaker[AsyncSession]) -> None:
    from sqlalchemy import select

    from models import ApiKey

    async with sessions() as session:
        key = await create_api_key(session, club.slug, "Hashed")
        stored = (await session.scalars(select(ApiKey.key_hash).where(ApiKey.club_id == club.club_id))).all()
    assert key not in stored and all(len(h) == 64 for h in stored)


async def test_without_the_inbox_addon_only_viewer_and_club_answer(
    http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    club = await make_club(sessions, addons=[])
    body = await graphql(http, "query { viewer { name } club { addons } }", token=club.token())
    assert body["data"] == {"viewer": {"name": "Léa Martin"}, "club": {"addons": []}}
    body = await graphql(http, "query { members { totalCount } }", token=club.token())
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "ADDON_REQUIRED"
