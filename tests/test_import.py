"""The import document (docs/import.md): validation with JSON paths, nothing written on
any problem, derived columns, idempotent re-import, the demo club, and the command line.

Self-contained: its own databases (a SQLite file always; also a fresh PostgreSQL database when
INBOX_TEST_DATABASE_URL names a PostgreSQL server), emptied before each test.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox import importer
from inbox.demo import demo_document
from inbox.importer import ImportErrors, ImportSummary, import_document, validate_document
from models import Base, Booking, Club, Member, MemberTag, Message, Session, Smartlist, Staff, Thread, ThreadState
from models.engine import create_engine, session_factory
from models.migrate import upgrade

Factory = async_sessionmaker[AsyncSession]
SERVER_URL = os.environ.get("INBOX_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if SERVER_URL.startswith("postgresql") else [])


# ---------------------------------------------------------------------------------------------------
# Databases
# ---------------------------------------------------------------------------------------------------


async def _admin(statement: str) -> None:
    import asyncpg

    url = make_url(SERVER_URL)
    connection = await asyncpg.connect(host=url.host or "127.0.0.1", port=url.port or 5432,
                                       user=url.username or "postgres", password=url.password, database="postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="module", params=BACKENDS)
def import_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database per module and backend, migrated to head."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('import') / 'import.db'}"
        upgrade(url)
        yield url
        return
    name = f"inbox_import_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def factory(import_database_url: str) -> AsyncIterator[Factory]:
    """A session factory on the module's database, emptied first."""
    engine = create_engine(import_database_url, statement_timeout=60)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(delete(table))
    yield sessions
    await engine.dispose()


async def dump(factory: Factory) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    out = {}
    async with factory() as session:
        for table in Base.metadata.sorted_tables:
            rows = await session.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(row) for row in rows]
    return out


async def row_counts(factory: Factory) -> dict[str, int]:
    async with factory() as session:
        return {table.name: await session.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables}


# ---------------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------------

BASE_DOCUMENT: dict[str, Any] = {
    "club": {"slug": "riverside", "name": "Riverside Fitness", "country": "GB", "timezone": "Europe/London",
             "currency": "GBP", "backofficeUrl": "https://backoffice.example/riverside/",
             "addons": ["inbox", "SMS"], "smsNumber": "07700 900123", "inboundEmail": "Riverside@Inbox.example"},
    "staff": [{"id": "s1", "name": "Léa Martin", "email": "Lea@Riverside.example"},
              {"id": "s2", "name": "Tom Baker", "email": "tom@riverside.example"}],
    "members": [
        {"id": "m1", "memberNumber": "A-1001", "firstName": "Héloïse", "lastName": "Dupont",
         "email": "Heloise@Example.com", "phone": "07700 900001", "acceptsEmail": True, "acceptsSms": True,
         "registeredAt": "2024-03-01", "birthDate": "1990-04-12", "barcode": "2000000010013",
         "address": {"street": "1 High St", "postalCode": "N1 1AA", "city": "Londön", "country": "GB"},
         "emergencyContact": {"name": "Paul Dupont", "phone": "+447700900002", "relationship": "brother"},
         "tags": ["premium", "morning"], "accountBalance": "-12.50", "unpaidInvoicesCount": 1, "photoUrl": None,
         "documentsCount": 2, "notesCount": 0},
        {"id": "m2", "memberNumber": "A-1002", "firstName": "Łukasz", "lastName": "O'Brien",
         "phone": "+33 6 12 34 56 78", "registeredAt": "2025-01-15"},
        {"id": "m3", "memberNumber": "A-1003", "firstName": "Zoë", "lastName": "Smith", "email": "zoe@example.com",
         "registeredAt": "2023-06-30", "tags": ["student"], "acceptsEmail": None},
    ],
    "sessions": [
        {"id": "c1", "name": "Yoga Flow", "startsAt": "2026-07-01T18:00:00", "endsAt": "2026-07-01T19:00:00+01:00",
         "level": "All levels", "capacity": 2,
         "teacher": {"name": "Léa Martin", "photoUrl": "https://cdn.example/lea.jpg"},
         "room": {"name": "Studio 2", "address": {"street": "1 High St", "postalCode": "N1 1AA", "city": "London",
                                                  "country": "GB"}},
         "bookings": ["m3", "m1"], "waitlist": ["m2"]},
        {"id": "c2", "name": "HIIT online", "startsAt": "2026-12-01T07:00:00Z", "endsAt": "2026-12-01T07:30:00Z",
         "isOnline": True, "capacity": 0},
    ],
    "smartlists": [
        {"id": "l1", "name": "Premium members", "description": "Tag premium",
         "filters": [{"field": "TAG", "operator": "IN", "values": ["premium"]}]},
        {"id": "l2", "name": "With a phone", "filters": [{"field": "HAS_PHONE", "operator": "IS_SET"}]},
    ],
    "threads": [
        {"target": {"member": "m1"}, "messages": [
            {"id": "x2", "direction": "INBOUND", "channel": "EMAIL", "subject": "Re: Welcome", "body": "Thanks!",
             "createdAt": "2026-10-01T10:12:00+00:00"},
            {"id": "x1", "direction": "OUTBOUND", "channel": "EMAIL", "staff": "s1", "subject": "Welcome",
             "body": "Welcome to Riverside!", "createdAt": "2026-10-01T09:00:00+00:00"},
            {"id": "x3", "direction": "OUTBOUND", "channel": "SMS", "body": "See you tomorrow",
             "createdAt": "2026-10-02T08:00:00+01:00"}]},
        {"target": {"smartlist": "l1"}, "messages": [
            {"id": "b1", "direction": "OUTBOUND", "channel": "EMAIL", "staff": "s2", "body": "Guest passes!",
             "createdAt": "2026-10-05T09:00:00+00:00"}]},
        {"target": {"session": "c1"}, "messages": []},
    ],
}


def document(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE_DOCUMENT)
    doc.update(changes)
    return doc


class Prefix(str):
    """Equal to any message that starts with it (pydantic's and email-validator's wording may grow)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith(str(self))

    __hash__ = str.__hash__


def problems_of(exc: pytest.ExceptionInfo[ImportErrors]) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in exc.value.problems]


async def assert_empty(factory: Factory) -> None:
    assert set((await row_counts(factory)).values()) == {0}


def assert_all_unchanged(summary: ImportSummary) -> None:
    assert summary.club == "unchanged"
    for kind, counts in summary.counts.items():
        assert counts.created == counts.updated == 0, (kind, counts)
    assert not summary.changed
    assert "nothing changed" in summary.describe()


# ---------------------------------------------------------------------------------------------------
# Problems: one per problem, with its JSON path, and nothing written
# ---------------------------------------------------------------------------------------------------


async def test_bad_date_is_one_problem_at_its_path_and_nothing_is_written(factory: Factory) -> None:
    doc = document()
    doc["members"][1]["registeredAt"] = "2024-02-30"
    with pytest.raises(ImportErrors) as exc:
        await import_document(factory, doc)
    [(path, message)] = problems_of(exc)
    assert path == "$.members[1].registeredAt"
    assert "2024-02-30" in message
    await assert_empty(factory)


@pytest.mark.parametrize("value", ["yesterday", "2026-07-01", "2026-13-01T10:00:00Z", 1751389200, "01/07/2026 10:00"])
async def test_bad_date_time_is_one_problem_at_its_path(factory: Factory, value: Any) -> None:
    doc = document()
    doc["threads"][0]["messages"][2]["createdAt"] = value
    with pytest.raises(ImportErrors) as exc:
        await import_document(factory, doc)
    assert [path for path, _ in problems_of(exc)] == ["$.threads[0].messages[2].createdAt"]
    await assert_empty(factory)


async def test_unknown_reference_is_one_problem_at_its_path(factory: Factory) -> None:
    doc = document()
    doc["sessions"][0]["bookings"].append("m9")
    with pytest.raises(ImportErrors) as exc:
        await import_document(factory, doc)
    [(path, message)] = problems_of(exc)
    assert path == "$.sessions[0].bookings[2]"
    assert "unknown member 'm9'" in message
    await assert_empty(factory)


async def test_duplicate_ids_are_one_problem_each(factory: Factory) -> None:
    doc = document()
    doc["members"].append(dict(doc["members"][2], memberNumber="A-9999"))
    doc["smartlists"].append(dict(doc["smartlists"][0]))
    doc["threads"][1]["messages"].append(dict(doc["threads"][0]["messages"][0], direction="OUTBOUND"))
    with pytest.raises(ImportErrors) as exc:
        await import_document(factory, doc)
    assert [path for path, _ in problems_of(exc)] == [
        "$.members[3].id", "$.smartlists[2].id", "$.threads[1].messages[1].id"]
    assert "duplicate id 'm3' (also $.members[2])" in problems_of(exc)[0][1]
    await assert_empty(factory)


async def test_invalid_phone_is_one_problem_at_its_path(factory: Factory) -> None:
    doc = document()
    doc["members"][2]["phone"] = "12"
    with pytest.raises(ImportErrors) as exc:
        await import_document(factory, doc)
    assert [path for path, _ in problems_of(exc)] == ["$.members[2].phone"]
    await assert_empty(factory)


async def test_several_problems_are_all_reported_and_nothing_is_written(factory: Factory) -> None:
    doc = document(unexpected=True)
    doc["club"]["timezone"] = "Europe/Londres"
    doc["club"]["country"] = "XX"
    doc["club"]["currency"] = "pounds"
    doc["staff"].append({"id": "s3", "name": "Aisha", "email": "LEA@riverside.example"})
    doc["staff"].append({"id": "s4", "name": "Nobody", "email": "not an email"})
    doc["members"][0]["phone"] = "+44 12"
    doc["members"][1]["registeredAt"] = None
    doc["members"][2]["accountBalance"] = "ten pounds"
    doc["sessions"][0]["endsAt"] = "2026-07-01T16:00:00Z"
    doc["sessions"][0]["waitlist"] = ["m1"]
    doc["sessions"][1]["capacity"] = -1
    doc["smartlists"][0]["filters"].append({"field": "AGE", "operator": "LIKE", "values": ["60"]})
    doc["smartlists"][1]["filters"].append({"field": "CITY", "operator": "IS_SET", "values": []})
    doc["threads"][0]["messages"][0]["staff"] = "s1"
    doc["threads"][0]["messages"][2]["subject"] = "Hello"
    doc["threads"][1]["messages"][0]["staff"] = "s9"
    doc["threads"][2]["target"] = {"session": "c1", "member": "m1"}
    doc["threads"].append({"target": {"smartlist": "l1"}, "messages": [
        {"id": "b2", "direction": "INBOUND", "channel": "CARRIER PIGEON", "body": "hi", "createdAt": "2026-10-05"}]})
    doc["threads"].append({"target": {"member": "m1"}})
    doc["threads"].append({"target": {"session": "c404"}})
    with pytest.raises(ImportErrors) as exc:
        await import_document(factory, doc)
    assert problems_of(exc) == [
        ("$.unexpected", "unknown field (expected club, staff, members, sessions, smartlists, threads)"),
        ("$.club.country", "unknown country code (expected ISO 3166-1 alpha-2, e.g. GB): 'XX'"),
        ("$.club.timezone", "unknown IANA time zone: 'Europe/Londres'"),
        ("$.club.currency", "not an ISO 4217 currency code (3 letters, e.g. GBP): 'pounds'"),
        ("$.staff[2].email", "email 'LEA@riverside.example' is already the email of $.staff[0]"),
        ("$.staff[3].email", Prefix("not a valid email address: 'not an email'")),
        ("$.members[0].phone", "not a valid phone number: '+44 12'"),
        ("$.members[1].registeredAt", "is required"),
        ("$.members[2].accountBalance", "not a decimal number: 'ten pounds'"),
        ("$.sessions[0].endsAt", "must be after startsAt"),
        ("$.sessions[0].waitlist[0]", "member 'm1' is both booked (bookings[1]) and waitlisted"),
        ("$.sessions[1].capacity", "Input should be greater than or equal to 0"),
        ("$.smartlists[0].filters[1].operator", Prefix("Input should be 'EQ'")),
        ("$.smartlists[1].filters[1].operator", "CITY does not take IS_SET; use one of EQ, NEQ, IN"),
        ("$.threads[0].messages[0].staff", "an inbound message is written by the member, not by staff"),
        ("$.threads[0].messages[2].subject", "an SMS has no subject"),
        ("$.threads[1].messages[0].staff", "unknown staff user 's9': not in this document nor in the club"),
        ("$.threads[2].target", "give exactly one of member, smartlist or session"),
        ("$.threads[3].messages[0].channel", "Input should be 'EMAIL' or 'SMS'"),
        ("$.threads[3].messages[0].createdAt", Prefix("not an ISO 8601 date-time")),
        ("$.threads[4].target", "another thread has the same target ($.threads[0])"),
        ("$.threads[5].target.session", "unknown session 'c404': not in this document nor in the club"),
    ]
    await assert_empty(factory)


def test_validate_document_is_pure_and_lists_outside_references() -> None:
    doc = document()
    doc["sessions"][0]["bookings"].append("m-from-before")
    validated = validate_document(doc)
    assert validated.references["member"] == {"m-from-before": ["$.sessions[0].bookings[2]"]}
    assert [m.phone for m in validated.members] == ["+447700900001", "+33612345678", None]
    with pytest.raises(ImportErrors) as exc:
        validate_document([doc])
    assert problems_of(exc) == [("$", 'expected a JSON object with a "club"')]


async def test_a_failed_import_into_a_loaded_club_changes_nothing(factory: Factory) -> None:
    await import_document(factory, document())
    before = await dump(factory)
    doc = document()
    doc["members"][0]["firstName"] = "Changed"
    doc["members"].append({"id": "m4", "memberNumber": "A-1004", "firstName": "New", "lastName": "Member",
                           "registeredAt": "2026-01-01"})
    doc["threads"][0]["messages"].append({"id": "x4", "direction": "INBOUND", "channel": "SMS", "body": "hi",
                                          "createdAt": "2026-10-03T08:00:00Z", "staff": "s1"})
    with pytest.raises(ImportErrors) as exc:
        await import_document(factory, doc)
    assert [path for path, _ in problems_of(exc)] == ["$.threads[0].messages[3].staff"]
    assert await dump(factory) == before


async def test_addresses_of_another_club_and_taken_staff_emails_are_problems(factory: Factory) -> None:
    await import_document(factory, document())
    other = document(members=[], sessions=[], smartlists=[], threads=[])
    other["club"]["slug"] = "other"
    with pytest.raises(ImportErrors) as exc:
        await import_document(factory, other)
    assert problems_of(exc) == [
        ("$.club.smsNumber", "'+447700900123' already belongs to club 'riverside'"),
        ("$.club.inboundEmail", "'riverside@inbox.example' already belongs to club 'riverside'"),
    ]
    renamed = document()
    renamed["staff"] = [{"id": "s9", "name": "Léa again", "email": "lea@riverside.example"}]
    with pytest.raises(ImportErrors) as exc:
        await import_document(factory, renamed)
    assert problems_of(exc) == [
        ("$.staff[0].email", "email 'lea@riverside.example' already belongs to staff user 's1'")]


# ---------------------------------------------------------------------------------------------------
# A valid import
# ---------------------------------------------------------------------------------------------------


async def test_valid_import_loads_everything_with_derived_columns(factory: Factory) -> None:
    stages: dict[str, tuple[int, int]] = {}
    summary = await import_document(factory, document(), progress=lambda s, d, t: stages.__setitem__(s, (d, t)))
    assert summary.club == "created"
    assert {kind: c.created for kind, c in summary.counts.items()} == {
        "staff": 2, "members": 3, "sessions": 2, "smartlists": 2, "threads": 3, "messages": 4}
    for stage, total in {"staff": 2, "members": 3, "sessions": 2, "smartlists": 2, "threads": 3,
                         "messages": 4}.items():
        assert stages[stage] == (total, total)

    async with factory() as session:
        club = (await session.execute(select(Club))).scalar_one()
        assert (club.addons, club.sms_number, club.inbound_email, club.backoffice_url) == (
            ["inbox", "sms"], "+447700900123", "riverside@inbox.example", "https://backoffice.example/riverside")
        staff = {s.external_id: s for s in (await session.execute(select(Staff))).scalars()}
        assert (staff["s1"].email, staff["s1"].email_normalized) == ("Lea@Riverside.example", "lea@riverside.example")

        members = {m.external_id: m for m in (await session.execute(select(Member))).scalars()}
        heloise = members["m1"]
        assert heloise.phone == "+447700900001"
        assert heloise.phone_digits == "447700900001 07700900001"
        assert heloise.email == "Heloise@Example.com"
        assert heloise.email_normalized == "heloise@example.com"
        assert heloise.search_text == "heloise dupont heloise@example.com"
        assert (heloise.first_name_key, heloise.last_name_key, heloise.city_key) == ("heloise", "dupont", "london")
        assert heloise.account_balance == Decimal("-12.50")
        assert heloise.registered_at == date(2024, 3, 1)
        assert (heloise.emergency_name, heloise.emergency_phone) == ("Paul Dupont", "+447700900002")
        assert heloise.tags == ["premium", "morning"]
        lukasz = members["m2"]
        assert (lukasz.phone, lukasz.email, lukasz.search_text) == ("+33612345678", None, "lukasz o'brien")
        assert (lukasz.accepts_email, lukasz.accepts_sms, lukasz.tags, lukasz.account_balance) == (
            True, True, [], Decimal(0))
        assert members["m3"].accepts_email is True  # null reads as omitted: the default
        tags = (await session.execute(select(MemberTag.member_id, MemberTag.tag))).all()
        assert sorted(tags) == sorted([(heloise.id, "premium"), (heloise.id, "morning"), (members["m3"].id, "student")])

        sessions = {s.external_id: s for s in (await session.execute(select(Session))).scalars()}
        yoga = sessions["c1"]
        assert yoga.starts_at == datetime(2026, 7, 1, 17, 0, tzinfo=UTC)  # naive: club time (BST)
        assert yoga.ends_at == datetime(2026, 7, 1, 18, 0, tzinfo=UTC)
        assert (yoga.name_key, yoga.room_city, yoga.teacher_name) == ("yoga flow", "London", "Léa Martin")
        assert sessions["c2"].is_online and sessions["c2"].room_name is None
        bookings = (await session.execute(
            select(Booking.member_id, Booking.waitlisted, Booking.position).where(Booking.session_id == yoga.id)
            .order_by(Booking.waitlisted, Booking.position))).all()
        assert bookings == [(members["m3"].id, False, 1), (members["m1"].id, False, 2), (members["m2"].id, True, 1)]

        smartlists = {s.external_id: s for s in (await session.execute(select(Smartlist))).scalars()}
        assert smartlists["l2"].filters == [{"field": "HAS_PHONE", "operator": "IS_SET", "values": []}]
        assert smartlists["l1"].name_key == "premium members"

        threads = {(t.category, t.member_id or t.smartlist_id or t.session_id): t
                   for t in (await session.execute(select(Thread))).scalars()}
        member_thread = threads["MEMBER", heloise.id]
        messages = (await session.execute(
            select(Message).where(Message.thread_id == member_thread.id).order_by(Message.seq))).scalars().all()
        assert [(m.seq, m.external_id) for m in messages] == [(1, "x1"), (2, "x2"), (3, "x3")]  # by createdAt
        assert [m.staff_id for m in messages] == [staff["s1"].id, None, None]
        assert [m.member_id for m in messages] == [None, heloise.id, None]
        assert member_thread.created_at == datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
        assert member_thread.last_message_at == member_thread.sort_at == datetime(2026, 10, 2, 7, 0, tzinfo=UTC)
        assert (member_thread.last_seq, member_thread.last_message_id) == (3, messages[-1].id)
        assert (member_thread.inbound_count, member_thread.history_seq, member_thread.history_inbound_count) == (
            1, 3, 1)
        broadcast = threads["SMARTLIST", smartlists["l1"].id]
        assert (broadcast.last_seq, broadcast.history_seq, broadcast.inbound_count) == (1, 1, 0)
        empty = threads["SESSION", yoga.id]
        assert (empty.last_seq, empty.last_message_id, empty.history_seq) == (0, None, 0)
        assert await session.scalar(select(func.count()).select_from(ThreadState)) == 0


async def test_reimport_of_the_same_document_changes_nothing(factory: Factory) -> None:
    await import_document(factory, document())
    before = await dump(factory)
    summary = await import_document(factory, document())
    assert_all_unchanged(summary)
    assert summary["members"].unchanged == 3
    assert summary["messages"].unchanged == 4
    assert await dump(factory) == before


@pytest.fixture(params=["default chunks", "tiny chunks"])
def chunking(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Also run with chunks of 2 rows (every chunk boundary crossed) and the one-pass message lookup."""
    if request.param == "tiny chunks":
        for name in ("SELECT_CHUNK", "WRITE_CHUNK", "MESSAGE_CHUNK", "MESSAGE_LOOKUP_LIMIT"):
            monkeypatch.setattr(importer, name, 2 if name != "MESSAGE_LOOKUP_LIMIT" else 0)
    return str(request.param)


async def test_reimport_updates_and_adds_and_never_deletes(factory: Factory, chunking: str) -> None:
    await import_document(factory, document())
    before = await dump(factory)
    doc = document()
    doc["club"]["name"] = "Riverside Fitness & Spa"
    doc["members"] = [dict(doc["members"][0], lastName="Dupont-Martin", tags=["premium", "senior"]),
                      {"id": "m4", "memberNumber": "A-1004", "firstName": "José", "lastName": "García",
                       "phone": "+447700900004", "registeredAt": "2026-11-01"}]  # m2 and m3 omitted
    doc["sessions"][0]["bookings"] = ["m1", "m3"]  # order changed
    doc["sessions"][0]["waitlist"] = ["m4", "m2"]
    doc["smartlists"] = []
    doc["threads"][0]["messages"].append(
        {"id": "x0", "direction": "INBOUND", "channel": "SMS", "body": "Late history",
         "createdAt": "2026-09-01T08:00:00Z"})
    doc["threads"].append({"target": {"member": "m4"}, "messages": [
        {"id": "y1", "direction": "OUTBOUND", "channel": "SMS", "staff": "s2", "body": "Hi José",
         "createdAt": "2026-11-02T08:00:00Z"}]})
    summary = await import_document(factory, doc)

    assert summary.club == "updated"
    assert vars(summary["members"]) == {"created": 1, "updated": 1, "unchanged": 0}
    assert vars(summary["sessions"]) == {"created": 0, "updated": 1, "unchanged": 1}
    assert vars(summary["threads"]) == {"created": 1, "updated": 1, "unchanged": 2}
    assert vars(summary["messages"]) == {"created": 2, "updated": 0, "unchanged": 4}
    assert vars(summary["smartlists"]) == {"created": 0, "updated": 0, "unchanged": 0}

    after = await dump(factory)
    for table in ("staff", "member", "class_session", "smartlist", "thread", "message"):
        assert len(after[table]) >= len(before[table]), table
    assert after["smartlist"] == before["smartlist"]
    assert [row for row in after["message"] if row in before["message"]] == before["message"]  # untouched

    async with factory() as session:
        members = {m.external_id: m for m in (await session.execute(select(Member))).scalars()}
        assert set(members) == {"m1", "m2", "m3", "m4"}
        heloise = members["m1"]
        assert (heloise.last_name, heloise.last_name_key) == ("Dupont-Martin", "dupont-martin")
        assert heloise.search_text == "heloise dupont-martin heloise@example.com"
        assert heloise.tags == ["premium", "senior"]
        tags = (await session.execute(select(MemberTag.tag).where(MemberTag.member_id == heloise.id))).scalars()
        assert sorted(tags) == ["premium", "senior"]
        yoga = (await session.execute(select(Session).where(Session.external_id == "c1"))).scalar_one()
        bookings = (await session.execute(
            select(Booking.member_id, Booking.waitlisted, Booking.position).where(Booking.session_id == yoga.id)
            .order_by(Booking.waitlisted, Booking.position))).all()
        assert bookings == [(members["m1"].id, False, 1), (members["m3"].id, False, 2),
                            (members["m4"].id, True, 1), (members["m2"].id, True, 2)]
        thread = (await session.execute(select(Thread).where(Thread.member_id == heloise.id))).scalar_one()
        messages = (await session.execute(
            select(Message.seq, Message.external_id, Message.member_id).where(Message.thread_id == thread.id)
            .order_by(Message.seq))).all()
        # Appended after the existing ones, even though it is older.
        assert messages[-1] == (4, "x0", heloise.id)
        assert (thread.last_seq, thread.inbound_count, thread.history_seq, thread.history_inbound_count) == (4, 2, 4, 2)
        assert thread.last_message_at == datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
        assert thread.created_at == datetime(2026, 10, 1, 9, 0, tzinfo=UTC)  # unchanged

    # And importing that document again changes nothing.
    again = await dump(factory)
    assert_all_unchanged(await import_document(factory, doc))
    assert await dump(factory) == again


async def test_references_to_rows_of_a_previous_import_are_accepted(factory: Factory) -> None:
    await import_document(factory, document())
    doc = {"club": BASE_DOCUMENT["club"],
           "sessions": [{"id": "c9", "name": "Spin", "startsAt": "2026-12-02T07:00:00Z",
                         "endsAt": "2026-12-02T07:45:00Z", "capacity": 10, "bookings": ["m1", "m2"]}],
           "threads": [{"target": {"session": "c9"}, "messages": [
               {"id": "b9", "direction": "OUTBOUND", "channel": "SMS", "staff": "s2", "body": "Bring water",
                "createdAt": "2026-11-20T08:00:00Z"}]},
               {"target": {"member": "m3"}, "messages": [
                   {"id": "z1", "direction": "OUTBOUND", "channel": "EMAIL", "staff": "s1", "body": "Hello Zoë",
                    "createdAt": "2026-11-20T08:00:00Z"}]}]}
    summary = await import_document(factory, doc)
    assert summary["sessions"].created == 1 and summary["threads"].created == 2
    async with factory() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 3
        assert await session.scalar(select(func.count()).select_from(Booking)) == 5


# ---------------------------------------------------------------------------------------------------
# The demo club
# ---------------------------------------------------------------------------------------------------

DEMO_DAY = date(2026, 11, 25)


def test_demo_document_is_the_same_for_the_same_day() -> None:
    first = demo_document(DEMO_DAY)
    assert first == demo_document(DEMO_DAY)
    json.dumps(first)  # plain JSON
    validated = validate_document(first)
    assert not any(validated.references.values())
    heloise = next(m for m in validated.members if m.first_name == "Héloïse")
    assert (heloise.last_name, heloise.phone, heloise.email) == ("Dupont", "+447700900001", "heloise@example.com")
    assert len(validated.members) >= 250 and len(validated.smartlists) >= 5
    assert len({s.starts_at.date() for s in validated.sessions}) >= 28
    start_of_day = datetime(2026, 11, 25, tzinfo=UTC)
    assert all(m.created_at < start_of_day for t in validated.threads for m in t.messages)
    # Another day: the same members and message ids.
    other = demo_document(date(2026, 12, 24))
    assert other["members"] == first["members"]
    assert [m["id"] for t in other["threads"][:40] for m in t["messages"]] == [
        m["id"] for t in first["threads"][:40] for m in t["messages"]]


async def test_demo_imports_and_importing_it_twice_changes_nothing(factory: Factory, chunking: str) -> None:
    summary = await import_document(factory, demo_document(DEMO_DAY))
    assert summary["members"].created == 300
    assert summary["threads"].created >= 40
    before = await dump(factory)
    assert_all_unchanged(await import_document(factory, demo_document(DEMO_DAY)))
    assert await dump(factory) == before
    # A day later: new sessions are added, nothing else changes or disappears.
    later = await import_document(factory, demo_document(date(2026, 11, 26)))
    assert later["members"].created == later["members"].updated == 0
    assert later["sessions"].created > 0
    assert later["messages"].created <= 3  # only the broadcasts of the sessions threads of that day


# ---------------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------------

INBOX = Path(sys.executable).parent / "inbox"


@pytest.mark.skipif(not INBOX.exists(), reason="the `inbox` console script is not installed")
def test_cli_reports_each_problem_on_one_line_and_exits_1(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    env = dict(os.environ, DATABASE_URL=url, INBOX_SECRET_KEY="test-secret-key-for-the-cli-test-0123456789")
    bad = document()
    bad["members"][1]["registeredAt"] = "2024-02-30"
    bad["sessions"][0]["bookings"].append("m9")
    bad["members"][2]["phone"] = "12"
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")

    result = subprocess.run([str(INBOX), "import", "bad.json"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[:3] == [
        "error: bad.json: $.members[1].registeredAt: not a valid date: '2024-02-30' (day is out of range for month)",
        "error: bad.json: $.members[2].phone: not a valid phone number: '12'",
        "error: bad.json: $.sessions[0].bookings[2]: unknown member 'm9': not in this document nor in the club",
    ]
    assert len(lines) == 4 and "3 problem(s)" in lines[3]

    result = subprocess.run([str(INBOX), "import", "missing.json"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["error: missing.json: no such file"]

    (tmp_path / "good.json").write_text(json.dumps(document()), encoding="utf-8")
    result = subprocess.run([str(INBOX), "import", "good.json"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("club riverside: created")


async def test_smartlist_filter_values_are_checked_like_the_api_does() -> None:
    from inbox.importer import ImportErrors, validate_document
    from tests.factories import club_document

    document = club_document("filters-check")
    document["smartlists"] = [{"id": "bad", "name": "Bad", "filters": [
        {"field": "AGE", "operator": "GTE", "values": ["sixty"]},
        {"field": "REGISTERED_AT", "operator": "BETWEEN", "values": ["2025-01-01", "2024-01-01"]}]}]
    with pytest.raises(ImportErrors) as raised:
        validate_document(document)
    paths = [problem.path for problem in raised.value.problems]
    assert paths == ["$.smartlists[0].filters[0].values", "$.smartlists[0].filters[1].values"]


async def test_the_demo_adds_fresh_unread_replies_once_a_day(tmp_path: Path) -> None:
    from inbox.demo import FRESH_REPLIES, add_fresh_replies
    from models import Message
    from models.engine import create_engine, session_factory
    from models.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    factory = session_factory(engine)
    try:
        await import_document(factory, demo_document())
        assert await add_fresh_replies(factory) == len(FRESH_REPLIES)
        assert await add_fresh_replies(factory) == 0
        async with factory() as session:
            inbound_live = await session.scalar(select(func.count(Message.id)).where(
                Message.provider_message_id.like("demo-%")))
        assert inbound_live == len(FRESH_REPLIES)
    finally:
        await engine.dispose()
