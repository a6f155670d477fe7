"""Smartlist filters (docs/rules.md, "Smartlist filters"): validation into INVALID_INPUT user errors with
input paths, and the members each field and operator selects, on SQLite or, when
INBOX_TEST_DATABASE_URL names a server, on a fresh PostgreSQL database."""

from __future__ import annotations

import enum
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.smartlists import (
    FIELDS,
    OPERATORS,
    OPERATORS_BY_FIELD,
    Filter,
    born_by,
    club_today,
    count_members,
    filter_condition,
    filter_types,
    filters_from_json,
    filters_to_json,
    validate_filters,
)
from inbox.text import fold
from models import Club, Member, MemberTag
from models.engine import club_session, create_engine, session_factory
from tests.databases import fresh_database

TODAY = date(2025, 6, 15)

# Ages on TODAY: ana 60 (her birthday), ben 59 (60 tomorrow), cleo unknown, dan 25 (born 29 February),
# eve 35, fay 14, gus 100.
PEOPLE: dict[str, dict[str, Any]] = {
    "ana": {"tags": ["Premium", "yoga"], "registered_at": date(2024, 1, 10), "birth_date": date(1965, 6, 15),
            "account_balance": Decimal("-12.50"), "unpaid_invoices_count": 2, "address_city": "Montréal",
            "email": "ana@example.com", "phone": "+15145550101"},
    "ben": {"tags": ["premium"], "registered_at": date(2024, 1, 11), "birth_date": date(1965, 6, 16),
            "account_balance": Decimal("0"), "unpaid_invoices_count": 0, "address_city": "Paris",
            "email": "", "phone": None},
    "cleo": {"tags": ["basic"], "registered_at": date(2023, 12, 31), "birth_date": None,
             "account_balance": Decimal("100"), "unpaid_invoices_count": 1, "address_city": None,
             "email": None, "phone": "+33612345678"},
    "dan": {"tags": [], "registered_at": date(2025, 6, 15), "birth_date": date(2000, 2, 29),
            "account_balance": Decimal("12.5"), "unpaid_invoices_count": 0, "address_city": "MONTREAL",
            "email": "dan@example.com", "phone": ""},
    "eve": {"tags": ["yoga"], "registered_at": date(2020, 5, 5), "birth_date": date(1990, 1, 1),
            "account_balance": Decimal("-0.01"), "unpaid_invoices_count": 5, "address_city": "Lyon",
            "email": "eve@example.com", "phone": "+33698765432"},
    "fay": {"tags": [], "registered_at": date(2022, 2, 2), "birth_date": date(2010, 6, 16),
            "account_balance": Decimal("12.49"), "unpaid_invoices_count": 3, "address_city": "",
            "email": "fay@example.com", "phone": None},
    "gus": {"tags": ["VIP"], "registered_at": date(2024, 1, 10), "birth_date": date(1925, 6, 15),
            "account_balance": Decimal("1000000.1234"), "unpaid_invoices_count": 0, "address_city": "Montréal-Nord",
            "email": "gus@example.com", "phone": "+15145550199"},
}
EVERYONE = set(PEOPLE)
# A member of another club who matches almost everything: never selected.
STRANGER = {"tags": ["premium", "yoga"], "registered_at": date(2024, 1, 10), "birth_date": date(1965, 6, 15),
            "account_balance": Decimal("-12.50"), "unpaid_invoices_count": 2, "address_city": "Montréal",
            "email": "zed@example.com", "phone": "+15145550000"}

_numbers = itertools.count(1)


def F(field: str, operator: str, *values: str) -> Filter:
    return Filter(field, operator, values)


# ---------------------------------------------------------------------------------------------- database


@pytest.fixture(scope="module")
def filters_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own: SQLite, or PostgreSQL when INBOX_TEST_DATABASE_URL is set."""
    with fresh_database(tmp_path_factory.mktemp("smartlists"), prefix="inbox_sl") as url:
        yield url


@dataclass
class Clubs:
    sessions: async_sessionmaker[AsyncSession]
    club_id: int

    def session(self) -> AsyncSession:
        return club_session(self.sessions, self.club_id)


def _club() -> Club:
    slug = f"sl-{uuid.uuid4().hex[:8]}"
    return Club(slug=slug, name=f"Club {slug}", country="FR", timezone="Europe/Paris", currency="EUR",
                backoffice_url=f"https://backoffice.example/{slug}", addons=["inbox"])


def _member(club_id: int, first_name: str, **columns: Any) -> Member:
    """A member as the importer writes one (city_key folded from the city; an empty city stays "")."""
    number = next(_numbers)
    city = columns["address_city"]
    return Member(club_id=club_id, external_id=f"m{number}", member_number=f"A-{number}", first_name=first_name,
                  last_name="Test", first_name_key=fold(first_name), last_name_key="test",
                  search_text=f"{fold(first_name)} test", city_key=None if city is None else fold(city), **columns)


@pytest.fixture(scope="module")
async def clubs(filters_database_url: str) -> AsyncIterator[Clubs]:
    engine = create_engine(filters_database_url)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        club, other = _club(), _club()
        session.add_all([club, other])
        await session.flush()
        members = [_member(club.id, name, **columns) for name, columns in PEOPLE.items()]
        members.append(_member(other.id, "zed", **STRANGER))
        session.add_all(members)
        await session.flush()
        session.add_all(MemberTag(club_id=m.club_id, member_id=m.id, tag=tag) for m in members for tag in m.tags)
    yield Clubs(sessions, club.id)
    await engine.dispose()


async def matching(clubs: Clubs, *filters: Filter, today: date = TODAY) -> set[str]:
    async with clubs.session() as session:
        rows = await session.scalars(select(Member.first_name).where(filter_condition(filters, today=today)))
        return set(rows)


def paths(raw: list[Any], path: tuple[str, ...] = ("input", "filters")) -> list[list[str] | None]:
    _, errors = validate_filters(raw, path)
    assert all(e.code == "INVALID_INPUT" and e.message for e in errors)
    return [e.field for e in errors]


# ---------------------------------------------------------------------------------------------- validation

GOOD_VALUES = {"TAG": ("premium", "yoga"), "REGISTERED_AT": ("2024-01-01", "2024-12-31"), "AGE": ("18", "65"),
               "ACCOUNT_BALANCE": ("-12.50", "0"), "UNPAID_INVOICES": ("0", "3"), "CITY": ("Montréal", "Paris")}
ARITY = {"IS_SET": 0, "NOT_SET": 0, "BETWEEN": 2, "IN": 2}


def _well_formed(field: str, operator: str) -> Filter:
    return Filter(field, operator, GOOD_VALUES.get(field, ())[:ARITY.get(operator, 1)])


ALLOWED = [(f, o) for f in FIELDS for o in OPERATORS_BY_FIELD[f]]
NOT_ALLOWED = [(f, o) for f in FIELDS for o in OPERATORS if o not in OPERATORS_BY_FIELD[f]]


def test_operators_per_field_are_those_of_the_spec() -> None:
    comparisons = ("EQ", "LT", "LTE", "GT", "GTE", "BETWEEN")
    assert {f: set(o) for f, o in OPERATORS_BY_FIELD.items()} == {
        "TAG": {"IN", "EQ", "NEQ", "IS_SET", "NOT_SET"}, "REGISTERED_AT": set(comparisons), "AGE": set(comparisons),
        "ACCOUNT_BALANCE": set(comparisons), "UNPAID_INVOICES": set(comparisons), "CITY": {"EQ", "NEQ", "IN"},
        "HAS_EMAIL": {"IS_SET", "NOT_SET"}, "HAS_PHONE": {"IS_SET", "NOT_SET"}}


@pytest.mark.parametrize(("field", "operator"), ALLOWED)
def test_every_allowed_operator_with_well_formed_values_is_valid(field: str, operator: str) -> None:
    rule = _well_formed(field, operator)
    assert validate_filters([rule]) == ([rule], [])


@pytest.mark.parametrize(("field", "operator"), NOT_ALLOWED)
def test_an_operator_the_field_does_not_take_is_invalid_input_on_operator(field: str, operator: str) -> None:
    values = GOOD_VALUES.get(field, ("x",))[:1]
    assert paths([{"field": field, "operator": operator, "values": list(values)}]) == [
        ["input", "filters", "0", "operator"]]


def test_unknown_field_or_operator_names_are_invalid_input_on_field_and_operator() -> None:
    assert paths([{"field": "SHOE_SIZE", "operator": "EQ", "values": ["42"]},
                  {"field": "TAG", "operator": "LIKE", "values": ["prem"]},
                  {"field": "tag", "operator": "contains", "values": []},
                  {"operator": "IS_SET"}]) == [
        ["input", "filters", "0", "field"], ["input", "filters", "1", "operator"],
        ["input", "filters", "2", "field"], ["input", "filters", "2", "operator"],
        ["input", "filters", "3", "field"]]


@pytest.mark.parametrize(("field", "operator", "values"), [
    ("TAG", "IN", []),
    ("TAG", "EQ", []),
    ("TAG", "EQ", ["premium", "yoga"]),
    ("TAG", "NEQ", ["premium", "yoga"]),
    ("TAG", "IS_SET", ["premium"]),
    ("TAG", "NOT_SET", ["premium"]),
    ("REGISTERED_AT", "LT", []),
    ("REGISTERED_AT", "BETWEEN", ["2024-01-01"]),
    ("REGISTERED_AT", "BETWEEN", ["2024-01-01", "2024-06-01", "2024-12-31"]),
    ("AGE", "GTE", ["18", "65"]),
    ("AGE", "BETWEEN", []),
    ("ACCOUNT_BALANCE", "LTE", []),
    ("UNPAID_INVOICES", "GT", ["1", "2"]),
    ("CITY", "IN", []),
    ("CITY", "NEQ", ["Paris", "Lyon"]),
    ("HAS_EMAIL", "IS_SET", ["yes"]),
    ("HAS_PHONE", "NOT_SET", [""]),
])
def test_a_wrong_number_of_values_is_invalid_input_on_values(field: str, operator: str, values: list[str]) -> None:
    assert paths([{"field": field, "operator": operator, "values": values}]) == [["input", "filters", "0", "values"]]


@pytest.mark.parametrize(("field", "value"), [
    ("REGISTERED_AT", "2024-3-1"), ("REGISTERED_AT", "01/03/2024"), ("REGISTERED_AT", "20240301"),
    ("REGISTERED_AT", "2024-02-30"), ("REGISTERED_AT", "2024-01-01T10:00:00"), ("REGISTERED_AT", ""),
    ("AGE", "-1"), ("AGE", "1.5"), ("AGE", "sixty"), ("AGE", "151"), ("AGE", "٦٠"), ("AGE", ""),
    ("UNPAID_INVOICES", "-1"), ("UNPAID_INVOICES", "2.0"), ("UNPAID_INVOICES", "2147483648"),
    ("ACCOUNT_BALANCE", "12,50"), ("ACCOUNT_BALANCE", "1e3"), ("ACCOUNT_BALANCE", "abc"), ("ACCOUNT_BALANCE", "."),
    ("ACCOUNT_BALANCE", "12.12345"), ("ACCOUNT_BALANCE", "+5"), ("ACCOUNT_BALANCE", "NaN"), ("ACCOUNT_BALANCE", ""),
    ("TAG", ""), ("TAG", "   "), ("TAG", "x" * 101),
    ("CITY", ""), ("CITY", " \t "), ("CITY", "x" * 201),
])
def test_a_value_of_the_wrong_form_is_invalid_input_on_values(field: str, value: str) -> None:
    operator = "IN" if field == "TAG" else "EQ"
    _, errors = validate_filters([F(field, operator, value)])
    assert [e.field for e in errors] == [["input", "filters", "0", "values"]]
    assert errors[0].message.startswith(f"{field} takes ")


def test_a_wrong_value_is_named_in_the_message_and_a_long_one_cut_short() -> None:
    _, errors = validate_filters([F("AGE", "EQ", "sixty"), F("TAG", "EQ", "x" * 101)])
    assert errors[0].message == "AGE takes a whole number of years from 0 to 150; 'sixty' is not"
    assert errors[1].message.endswith(f"{'x' * 40}…' is not")


def test_the_largest_accepted_numbers_are_valid() -> None:
    rules = [F("AGE", "LTE", "150"), F("UNPAID_INVOICES", "LT", "2147483647"),
             F("ACCOUNT_BALANCE", "GT", "-9999999999.9999")]
    assert validate_filters(rules)[1] == []


def test_between_takes_the_lower_bound_first_and_equal_bounds_are_allowed() -> None:
    assert paths([F("AGE", "BETWEEN", "65", "18"), F("REGISTERED_AT", "BETWEEN", "2024-12-31", "2024-01-01"),
                  F("ACCOUNT_BALANCE", "BETWEEN", "0", "-12.50"), F("UNPAID_INVOICES", "BETWEEN", "10", "9")]) == [
        ["input", "filters", str(i), "values"] for i in range(4)]
    # Numbers compare as numbers, not as text ("9" < "10").
    assert paths([F("AGE", "BETWEEN", "9", "10"), F("ACCOUNT_BALANCE", "BETWEEN", "-12.50", "-12.5")]) == []


def test_every_problem_is_reported_each_with_its_own_path() -> None:
    raw = [
        {"field": "TAG", "operator": "EQ", "values": ["premium"]},
        {"field": "AGE", "operator": "EQ", "values": ["old", "older"]},
        {"field": "CITY", "operator": "GT", "values": ["Paris"]},
        {"field": "HAS_EMAIL", "operator": "IS_SET", "values": []},
        {"field": "COLOUR", "operator": "SIMILAR", "values": []},
    ]
    filters, errors = validate_filters(raw, ("filters",))
    assert [e.field for e in errors] == [
        ["filters", "1", "values"], ["filters", "1", "values"], ["filters", "1", "values"],
        ["filters", "2", "operator"], ["filters", "4", "field"], ["filters", "4", "operator"]]
    assert [e.message for e in errors[:3]] == [
        "EQ takes exactly one value; 2 given",
        "AGE takes a whole number of years from 0 to 150; 'old' is not",
        "AGE takes a whole number of years from 0 to 150; 'older' is not"]
    assert errors[3].message == "CITY does not take GT; use one of EQ, NEQ, IN"
    assert len(filters) == len(raw)


def test_values_are_trimmed_and_mappings_filters_and_enums_are_read_alike() -> None:
    class Field(enum.Enum):
        TAG = "tag"

    class Operator(enum.Enum):
        IN = "in"

    raw: list[Any] = [{"field": Field.TAG, "operator": Operator.IN, "values": [" premium ", "yoga\n"]}]
    assert validate_filters(raw) == ([F("TAG", "IN", "premium", "yoga")], [])
    assert validate_filters([F("TAG", "IN", " premium ", "yoga\n")]) == ([F("TAG", "IN", "premium", "yoga")], [])
    assert validate_filters([{"field": "HAS_EMAIL", "operator": "IS_SET"}]) == ([F("HAS_EMAIL", "IS_SET")], [])


@pytest.mark.parametrize("values", ["premium", None, [1, 2], ["premium", None]])
def test_values_that_are_not_a_list_of_strings_are_invalid_input_on_values(values: Any) -> None:
    assert paths([{"field": "TAG", "operator": "IN", "values": values}]) == [["input", "filters", "0", "values"]]


def test_no_filters_are_valid() -> None:
    assert validate_filters([]) == ([], [])


def test_filter_condition_refuses_invalid_filters_rather_than_guess() -> None:
    with pytest.raises(ValueError, match="EQ takes exactly one value"):
        filter_condition([F("TAG", "EQ", "premium", "yoga")], today=TODAY)
    with pytest.raises(ValueError, match="unknown filter field"):
        filter_condition(filters_from_json([{"field": "SHOE_SIZE", "operator": "EQ", "values": ["42"]}]), today=TODAY)


def test_filter_types_lists_the_distinct_fields_in_order_of_first_use() -> None:
    rules = [F("AGE", "GTE", "18"), F("TAG", "EQ", "premium"), F("AGE", "LT", "65"), F("HAS_EMAIL", "IS_SET"),
             F("TAG", "NEQ", "basic")]
    assert filter_types(rules) == ["AGE", "TAG", "HAS_EMAIL"]
    assert filter_types([]) == []


def test_filters_round_trip_through_the_smartlist_json_column() -> None:
    stored = [{"field": "TAG", "operator": "IN", "values": ["premium", "yoga"]},
              {"field": "HAS_PHONE", "operator": "NOT_SET", "values": []}]
    rules = filters_from_json(stored)
    assert rules == [F("TAG", "IN", "premium", "yoga"), F("HAS_PHONE", "NOT_SET")]
    assert filters_to_json(rules) == stored
    assert filters_from_json([{"field": "HAS_EMAIL", "operator": "IS_SET"}]) == [F("HAS_EMAIL", "IS_SET")]


def test_club_today_is_the_date_in_the_club_time_zone() -> None:
    now = datetime(2025, 6, 14, 22, 30, tzinfo=UTC)
    assert club_today("Europe/Paris", now) == date(2025, 6, 15)
    assert club_today("America/Montreal", now) == date(2025, 6, 14)
    assert club_today("UTC", now) == date(2025, 6, 14)
    with pytest.raises(ValueError, match="timezone-aware"):
        club_today("Europe/Paris", datetime(2025, 6, 14, 22, 30))


def test_born_by_counts_a_29_february_birthday_on_1_march_in_common_years() -> None:
    assert born_by(date(2025, 6, 15), 60) == date(1965, 6, 15)
    assert born_by(date(2024, 2, 29), 1) == date(2023, 2, 28)
    assert born_by(date(2024, 2, 29), 4) == date(2020, 2, 29)


# ---------------------------------------------------------------------------------------------- selection

SELECTIONS = [
    (F("TAG", "IN", "premium", "basic"), {"ana", "ben", "cleo"}),
    (F("TAG", "EQ", "yoga"), {"ana", "eve"}),
    (F("TAG", "NEQ", "premium"), {"cleo", "dan", "eve", "fay", "gus"}),
    (F("TAG", "IS_SET"), {"ana", "ben", "cleo", "eve", "gus"}),
    (F("TAG", "NOT_SET"), {"dan", "fay"}),
    (F("REGISTERED_AT", "EQ", "2024-01-10"), {"ana", "gus"}),
    (F("REGISTERED_AT", "LT", "2024-01-10"), {"cleo", "eve", "fay"}),
    (F("REGISTERED_AT", "LTE", "2024-01-10"), {"ana", "cleo", "eve", "fay", "gus"}),
    (F("REGISTERED_AT", "GT", "2024-01-10"), {"ben", "dan"}),
    (F("REGISTERED_AT", "GTE", "2024-01-11"), {"ben", "dan"}),
    (F("REGISTERED_AT", "BETWEEN", "2023-12-31", "2024-01-10"), {"ana", "cleo", "gus"}),
    (F("AGE", "EQ", "60"), {"ana"}),
    (F("AGE", "LT", "60"), {"ben", "dan", "eve", "fay"}),
    (F("AGE", "LTE", "59"), {"ben", "dan", "eve", "fay"}),
    (F("AGE", "GT", "59"), {"ana", "gus"}),
    (F("AGE", "GTE", "60"), {"ana", "gus"}),
    (F("AGE", "BETWEEN", "25", "59"), {"ben", "dan", "eve"}),
    (F("ACCOUNT_BALANCE", "EQ", "-12.5"), {"ana"}),
    (F("ACCOUNT_BALANCE", "LT", "0"), {"ana", "eve"}),
    (F("ACCOUNT_BALANCE", "LTE", "0.00"), {"ana", "ben", "eve"}),
    (F("ACCOUNT_BALANCE", "GT", "12.49"), {"cleo", "dan", "gus"}),
    (F("ACCOUNT_BALANCE", "GTE", "12.49"), {"cleo", "dan", "fay", "gus"}),
    (F("ACCOUNT_BALANCE", "BETWEEN", "-0.01", "12.50"), {"ben", "dan", "eve", "fay"}),
    (F("UNPAID_INVOICES", "EQ", "0"), {"ben", "dan", "gus"}),
    (F("UNPAID_INVOICES", "LT", "2"), {"ben", "cleo", "dan", "gus"}),
    (F("UNPAID_INVOICES", "LTE", "2"), {"ana", "ben", "cleo", "dan", "gus"}),
    (F("UNPAID_INVOICES", "GT", "2"), {"eve", "fay"}),
    (F("UNPAID_INVOICES", "GTE", "3"), {"eve", "fay"}),
    (F("UNPAID_INVOICES", "BETWEEN", "1", "3"), {"ana", "cleo", "fay"}),
    (F("CITY", "EQ", "montreal"), {"ana", "dan"}),
    (F("CITY", "NEQ", "Montréal"), {"ben", "cleo", "eve", "fay", "gus"}),
    (F("CITY", "IN", "paris", "LYON"), {"ben", "eve"}),
    (F("HAS_EMAIL", "IS_SET"), {"ana", "dan", "eve", "fay", "gus"}),
    (F("HAS_EMAIL", "NOT_SET"), {"ben", "cleo"}),
    (F("HAS_PHONE", "IS_SET"), {"ana", "cleo", "eve", "gus"}),
    (F("HAS_PHONE", "NOT_SET"), {"ben", "dan", "fay"}),
]


def test_the_selections_cover_every_field_and_operator() -> None:
    assert sorted({(rule.field, rule.operator) for rule, _ in SELECTIONS}) == sorted(ALLOWED)


@pytest.mark.parametrize(("rule", "expected"), SELECTIONS, ids=[f"{r.field}-{r.operator}" for r, _ in SELECTIONS])
async def test_each_field_and_operator_selects_the_expected_members(
    clubs: Clubs, rule: Filter, expected: set[str]
) -> None:
    assert await matching(clubs, rule) == expected


async def test_no_filters_select_every_member_of_the_club_and_no_other(clubs: Clubs) -> None:
    assert await matching(clubs) == EVERYONE


async def test_filters_are_anded(clubs: Clubs) -> None:
    assert await matching(clubs, F("TAG", "IN", "premium", "yoga"), F("AGE", "LT", "60")) == {"ben", "eve"}
    assert await matching(clubs, F("TAG", "EQ", "premium"), F("TAG", "EQ", "yoga")) == {"ana"}
    assert await matching(clubs, F("TAG", "EQ", "premium"), F("HAS_EMAIL", "IS_SET"), F("AGE", "GTE", "60")) == {
        "ana"}
    assert await matching(clubs, F("TAG", "EQ", "basic"), F("TAG", "NOT_SET")) == set()


async def test_between_is_inclusive_and_takes_exactly_two_values(clubs: Clubs) -> None:
    assert await matching(clubs, F("UNPAID_INVOICES", "BETWEEN", "2", "2")) == {"ana"}
    assert await matching(clubs, F("REGISTERED_AT", "BETWEEN", "2024-01-10", "2024-01-11")) == {"ana", "ben", "gus"}
    assert await matching(clubs, F("ACCOUNT_BALANCE", "BETWEEN", "-12.50", "-0.01")) == {"ana", "eve"}
    assert paths([F("AGE", "BETWEEN", "18"), F("AGE", "BETWEEN", "18", "30", "65")]) == [
        ["input", "filters", "0", "values"], ["input", "filters", "1", "values"]]


async def test_tag_matching_is_case_insensitive_on_the_whole_tag(clubs: Clubs) -> None:
    assert await matching(clubs, F("TAG", "EQ", "PREMIUM")) == {"ana", "ben"}
    assert await matching(clubs, F("TAG", "IN", "vip")) == {"gus"}
    assert await matching(clubs, F("TAG", "NEQ", "Yoga")) == EVERYONE - {"ana", "eve"}
    assert await matching(clubs, F("TAG", "EQ", "prem")) == set()


async def test_a_member_turning_60_today_counts_as_60(clubs: Clubs) -> None:
    assert await matching(clubs, F("AGE", "GTE", "60")) == {"ana", "gus"}
    assert await matching(clubs, F("AGE", "EQ", "59")) == {"ben"}
    day_before = date(2025, 6, 14)
    assert await matching(clubs, F("AGE", "GTE", "60"), today=day_before) == {"gus"}
    assert await matching(clubs, F("AGE", "EQ", "59"), today=day_before) == {"ana", "ben"}
    assert await matching(clubs, F("AGE", "EQ", "60"), today=date(2025, 6, 16)) == {"ana", "ben"}


async def test_a_29_february_birthday_is_reached_on_1_march_in_common_years(clubs: Clubs) -> None:
    age_25 = F("AGE", "EQ", "25")
    assert "dan" not in await matching(clubs, age_25, today=date(2025, 2, 28))
    assert "dan" in await matching(clubs, age_25, today=date(2025, 3, 1))
    assert "dan" in await matching(clubs, F("AGE", "EQ", "24"), today=date(2024, 2, 29))
    assert "dan" in await matching(clubs, F("AGE", "EQ", "23"), today=date(2024, 2, 28))


async def test_a_member_without_birth_date_never_matches_an_age_filter(clubs: Clubs) -> None:
    for rule in (F("AGE", "GTE", "0"), F("AGE", "LTE", "150"), F("AGE", "BETWEEN", "0", "150")):
        assert await matching(clubs, rule) == EVERYONE - {"cleo"}


async def test_city_is_case_and_accent_insensitive_and_matches_the_whole_name(clubs: Clubs) -> None:
    for name in ("Montréal", "montreal", "MONTRÉAL", " Montreal "):
        rules, errors = validate_filters([F("CITY", "EQ", name)])
        assert errors == []
        assert await matching(clubs, *rules) == {"ana", "dan"}
    assert await matching(clubs, F("CITY", "EQ", "montréal-nord")) == {"gus"}
    assert await matching(clubs, F("CITY", "IN", "Montreal", "Lyon")) == {"ana", "dan", "eve"}


async def test_city_neq_also_selects_members_without_a_city(clubs: Clubs) -> None:
    assert {"cleo", "fay"} <= await matching(clubs, F("CITY", "NEQ", "Paris"))


async def test_an_empty_email_or_phone_counts_as_not_set(clubs: Clubs) -> None:
    assert "ben" in await matching(clubs, F("HAS_EMAIL", "NOT_SET"))
    assert "dan" in await matching(clubs, F("HAS_PHONE", "NOT_SET"))


async def test_count_members_counts_the_matching_members_of_the_club(clubs: Clubs) -> None:
    async with clubs.session() as session:
        assert await count_members(session, [], TODAY) == len(PEOPLE)
        assert await count_members(session, [F("TAG", "EQ", "premium")], TODAY) == 2
        assert await count_members(session, [F("TAG", "EQ", "premium"), F("AGE", "GT", "60")], TODAY) == 0
