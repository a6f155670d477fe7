"""Clubs for tests, loaded through the real importer; and a GraphQL-over-HTTP helper."""

from __future__ import annotations

import copy
import functools
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.auth import issue_staff_token
from inbox.importer import import_document
from models import Club, Member, Session, Smartlist, Staff

TEST_SECRET = "test-secret-key-with-enough-entropy-0123456789"
_numbers = itertools.count(100)

BASE_MEMBERS: list[dict[str, Any]] = [
    {"id": "m1", "memberNumber": "A-1001", "firstName": "Héloïse", "lastName": "Dupont",
     "email": "heloise@example.com", "phone": "+33612345678", "registeredAt": "2024-03-01",
     "birthDate": "1990-04-12", "barcode": "2000000010013", "tags": ["premium"], "accountBalance": "-12.5",
     "unpaidInvoicesCount": 1, "documentsCount": 2, "notesCount": 0,
     "address": {"street": "1 rue de la Paix", "postalCode": "75002", "city": "Paris", "country": "FR"},
     "emergencyContact": {"name": "Paul Dupont", "phone": "+33600000002", "relationship": "brother"}},
    {"id": "m2", "memberNumber": "A-1002", "firstName": "Jean-François", "lastName": "Müller",
     "email": "jf.muller@example.fr", "phone": "+33698765432", "registeredAt": "2023-01-15"},
    {"id": "m3", "memberNumber": "A-1003", "firstName": "Zoë", "lastName": "O'Brien",
     "phone": "+447700900123", "registeredAt": "2025-06-30", "acceptsSms": False},
    {"id": "m4", "memberNumber": "A-1004", "firstName": "Łukasz", "lastName": "Nowak",
     "email": "lukasz@example.pl", "registeredAt": "2022-09-01"},
    {"id": "m5", "memberNumber": "A-1005", "firstName": "Dupont", "lastName": "Martin",
     "email": "dm@example.com", "registeredAt": "2021-05-05"},
]


BASE_SMARTLISTS: list[dict[str, Any]] = [
    {"id": "l1", "name": "Premium members", "description": "Tag premium",
     "filters": [{"field": "TAG", "operator": "IN", "values": ["premium"]}]},
    {"id": "l2", "name": "Everyone", "filters": []},
    {"id": "l3", "name": "Nobody at all", "filters": [{"field": "TAG", "operator": "IN", "values": ["ghost"]}]},
]

BASE_SESSIONS: list[dict[str, Any]] = [
    {"id": "c1", "name": "Yoga Flow", "startsAt": "2026-12-01T18:00:00+00:00", "endsAt": "2026-12-01T19:00:00+00:00",
     "level": "All levels", "capacity": 20,
     "teacher": {"name": "Léa Martin", "photoUrl": "https://cdn.example/lea.jpg"},
     "room": {"name": "Studio 2", "address": {"street": "1 High St", "postalCode": "N1 1AA", "city": "London",
                                              "country": "GB"}},
     "bookings": ["m1", "m3", "m4"], "waitlist": ["m2"]},
    {"id": "c2", "name": "Boxing Empty", "startsAt": "2026-12-02T07:00:00+00:00",
     "endsAt": "2026-12-02T08:00:00+00:00", "capacity": 0, "isOnline": True, "bookings": [], "waitlist": []},
]


def club_document(slug: str, *, members: list[dict[str, Any]] | None = None, addons: list[str] | None = None,
                  country: str = "FR", **club: Any) -> dict[str, Any]:
    n = next(_numbers)
    return {
        "club": {"slug": slug, "name": f"Club {slug}", "country": country, "timezone": "Europe/Paris",
                 "currency": "EUR", "backofficeUrl": f"https://backoffice.example/{slug}",
                 "addons": ["inbox", "sms"] if addons is None else addons,
                 "smsNumber": f"+3361{n:07d}", "inboundEmail": f"{slug}@inbox.example", **club},
        "staff": [{"id": "s1", "name": "Léa Martin", "email": f"lea@{slug}.example"},
                  {"id": "s2", "name": "Tom Baker", "email": f"tom@{slug}.example"}],
        "members": copy.deepcopy(BASE_MEMBERS if members is None else members),
        "smartlists": copy.deepcopy(BASE_SMARTLISTS),
        "sessions": copy.deepcopy(BASE_SESSIONS),
    }


@dataclass
class ClubFixture:
    slug: str
    club_id: int
    staff_ids: dict[str, int]
    member_ids: dict[str, int]
    smartlist_ids: dict[str, int]
    session_ids: dict[str, int]
    document: dict[str, Any] = field(repr=False)

    def token(self, staff: str = "s1", ttl: timedelta = timedelta(hours=1), secret: str = TEST_SECRET) -> str:
        if ttl < timedelta(minutes=10):  # short-lived tokens are the point of their tests: always fresh
            return issue_staff_token(secret, staff_external_id=staff, club_slug=self.slug, ttl=ttl)
        return _token(secret, staff, self.slug, ttl)


@functools.cache
def _token(secret: str, staff: str, club_slug: str, ttl: timedelta) -> str:
    """One token per staff user and lifetime, as a browser keeps its token (tests of the principal cache
    and of statement counts rely on a repeated request carrying the same token)."""
    return issue_staff_token(secret, staff_external_id=staff, club_slug=club_slug, ttl=ttl)


async def make_club(sessions: async_sessionmaker[AsyncSession], **options: Any) -> ClubFixture:
    slug = options.pop("slug", None) or f"club-{uuid.uuid4().hex[:8]}"
    document = club_document(slug, **options)
    await import_document(sessions, document)
    async with sessions() as session:
        club_id = await session.scalar(select(Club.id).where(Club.slug == slug))
        staff = dict((await session.execute(
            select(Staff.external_id, Staff.id).where(Staff.club_id == club_id))).all())
        members = dict((await session.execute(
            select(Member.external_id, Member.id).where(Member.club_id == club_id))).all())
        smartlists = dict((await session.execute(
            select(Smartlist.external_id, Smartlist.id).where(Smartlist.club_id == club_id))).all())
        class_sessions = dict((await session.execute(
            select(Session.external_id, Session.id).where(Session.club_id == club_id))).all())
    assert club_id is not None
    return ClubFixture(slug=slug, club_id=club_id, staff_ids=staff, member_ids=members, smartlist_ids=smartlists,
                       session_ids=class_sessions, document=document)


async def graphql(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, *,
                  token: str | None = None, expect_status: int | None = 200) -> dict[str, Any]:
    """POST a GraphQL operation; returns the JSON body (and checks the HTTP status)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    if expect_status is not None:
        assert response.status_code == expect_status, response.text
    return response.json()
