"""Pickers (members, smartlists, calendar, tags), smartlist creation, partner API keys, and query cost in SQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.staff import create_api_key
from tests.factories import ClubFixture, graphql
from tests.inbox_client import StaffClient


async def test_smartlist_picker_lists_by_name_and_searches(lea: StaffClient) -> None:
    query = "query($q: String) { smartlists(search: $q) { totalCount edges { node { externalId } } } }"
    names = await lea.ok(query, {"q": None})
    assert [e["node"]["externalId"] for e in names["smartlists"]["edges"]] == ["l2", "l3", "l1"]
    found = await lea.ok(query, {"q": "PRÉMIUM"})
    assert found["smartlists"] == {"totalCount": 1, "edges": [{"node": {"externalId": "l1"}}]}


CALENDAR = """query($from: DateTime!, $to: DateTime!, $q: String) {
  sessions(from: $from, to: $to, search: $q) { totalCount edges { node { externalId startsAt } } } }"""


async def test_calendar_lists_sessions_starting_in_the_range_in_start_order(lea: StaffClient) -> None:
    data = await lea.ok(CALENDAR, {"from": "2026-12-01T00:00:00+00:00", "to": "2026-12-03T00:00:00+00:00"})
    assert [e["node"]["externalId"] for e in data["sessions"]["edges"]] == ["c1", "c2"]
    day = await lea.ok(CALENDAR, {"from": "2026-12-01T00:00:00+00:00", "to": "2026-12-02T00:00:00+00:00"})
    assert day["sessions"]["totalCount"] == 1
    assert (await lea.ok(CALENDAR, {"from": "2026-12-01T00:00:00Z", "to": "2026-12-09T00:00:00Z",
                                    "q": "box"}))["sessions"]["totalCount"] == 1


async def test_a_calendar_date_time_without_offset_is_read_in_the_clubs_time_zone(lea: StaffClient) -> None:
    # The club is in Europe/Paris (UTC+1 in December): 19:00 local is 18:00 UTC, c1's start.
    data = await lea.ok(CALENDAR, {"from": "2026-12-01T19:00:00", "to": "2026-12-01T19:30:00"})
    assert data["sessions"]["edges"] == [{"node": {"externalId": "c1", "startsAt": "2026-12-01T18:00:00+00:00"}}]


async def test_calendar_to_before_from_is_bad_user_input(lea: StaffClient) -> None:
    body = await lea.query(CALENDAR, {"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_session_days_count_sessions_per_day_in_the_club_time_zone(lea: StaffClient) -> None:
    data = await lea.ok('{ sessionDays(from: "2026-11-30", to: "2026-12-31") { date count } }')
    assert data["sessionDays"] == [{"date": "2026-12-01", "count": 1}, {"date": "2026-12-02", "count": 1}]


async def test_member_tags_lists_tags_in_use(lea: StaffClient) -> None:
    assert (await lea.ok("{ memberTags }"))["memberTags"] == ["premium"]
    assert (await lea.ok('{ memberTags(search: "zzz") }'))["memberTags"] == []


CREATE = """mutation($input: CreateSmartlistInput!) { createSmartlist(input: $input) {
  smartlist { name description memberCount filterTypes filters { field operator values } }
  userErrors { code field message } } }"""


async def test_create_smartlist_validates_every_filter_and_counts_live(lea: StaffClient) -> None:
    filters = [{"field": "HAS_EMAIL", "operator": "IS_SET", "values": []},
               {"field": "REGISTERED_AT", "operator": "LT", "values": ["2024-01-01"]}]
    data = await lea.ok(CREATE, {"input": {"name": "Old timers", "description": " ", "filters": filters}})
    assert data["createSmartlist"] == {"userErrors": [], "smartlist": {
        "name": "Old timers", "description": None, "memberCount": 3, "filterTypes": ["HAS_EMAIL", "REGISTERED_AT"],
        "filters": filters}}
    preview = await lea.ok("query($f: [SmartlistFilterInput!]!) { smartlistPreview(filters: $f) "
                           "{ memberCount userErrors { code } } }", {"f": filters})
    assert preview["smartlistPreview"] == {"memberCount": 3, "userErrors": []}


async def test_create_smartlist_reports_each_bad_filter_with_its_path(lea: StaffClient) -> None:
    filters = [{"field": "AGE", "operator": "BETWEEN", "values": ["30"]},
               {"field": "CITY", "operator": "LT", "values": ["Paris"]}]
    data = await lea.ok(CREATE, {"input": {"name": "", "filters": filters}})
    errors = data["createSmartlist"]["userErrors"]
    assert data["createSmartlist"]["smartlist"] is None
    assert [(e["code"], e["field"]) for e in errors] == [
        ("INVALID_INPUT", ["input", "name"]),
        ("INVALID_INPUT", ["input", "filters", "0", "values"]),
        ("INVALID_INPUT", ["input", "filters", "1", "operator"]),
    ]


async def test_nodes_by_external_id_answer_in_input_order_with_nulls(lea: StaffClient) -> None:
    data = await lea.ok('{ nodesByExternalId(category: MEMBER, externalIds: ["m2", "nope", "m1"]) '
                        '{ ... on Member { externalId } } }')
    assert data["nodesByExternalId"] == [{"externalId": "m2"}, None, {"externalId": "m1"}]


@pytest.fixture
async def partner_key(club: ClubFixture, sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session:
        return await create_api_key(session, club.slug, "Dashboard")


async def test_partner_keys_read_threads_with_neutral_viewer_fields(
    lea: StaffClient, http: httpx.AsyncClient, partner_key: str
) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    await lea.reply("m1", "hello")
    await lea.action("setThreadFavorite", thread, True)
    await lea.action("setThreadMuted", thread, True)
    await lea.reply("m1", "again")
    body = await graphql(http, "{ threads(category: MEMBER) { edges { node { unreadCount isFavorite isMuted "
                               "isArchived activityAt readCursor lastMessage { createdAt } } } } }", token=partner_key)
    node = body["data"]["threads"]["edges"][0]["node"]
    assert (node["unreadCount"], node["isFavorite"], node["isMuted"], node["isArchived"], node["readCursor"]) == (
        0, False, False, False, None)
    assert node["activityAt"] == node["lastMessage"]["createdAt"]


@pytest.mark.parametrize("query", [
    "{ unreadCounts { total } }",
    "{ threads(category: MEMBER, status: UNREAD) { totalCount } }",
    'mutation { startThread(input: {targetId: "x"}) { created } }',
    'mutation { setThreadFavorite(input: {threadId: "x", value: true}) { thread { id } } }',
    'mutation { createSmartlist(input: {name: "x", filters: []}) { smartlist { id } } }',
])
async def test_partner_keys_are_read_only(http: httpx.AsyncClient, partner_key: str, query: str) -> None:
    body = await graphql(http, query, token=partner_key)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


PAGE = """query { threads(category: MEMBER, first: 100) { totalCount edges { cursor node {
  id title unreadCount isFavorite isMuted activityAt sortKey
  target { ... on Member { fullName phone tags thread { id } } }
  lastMessage { body author { __typename ... on Staff { name } ... on Member { fullName } }
                deliverySummary { total } } } } } }"""


async def count_statements(app: Any, lea: StaffClient, query: str) -> tuple[int, dict[str, Any]]:
    engine = app.state.services.sessions.kw["bind"].sync_engine
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        data = await lea.ok(query)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(statements), data


async def test_a_page_of_threads_costs_a_constant_number_of_statements(
    app: Any, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from tests.factories import BASE_MEMBERS, make_club

    members = [{**BASE_MEMBERS[0], "id": f"p{i}", "memberNumber": f"P-{i}", "email": f"p{i}@example.com",
                "phone": None} for i in range(100)]
    club = await make_club(sessions, members=members + BASE_MEMBERS)
    lea = StaffClient(http, club, sessions, "s1")
    counts = {}
    for size in (3, 100):
        for i in range(len(counts) and 3, size):
            thread = (await lea.start("Member", f"p{i}"))["id"]
            await lea.reply(f"p{i}", "hello") if i % 2 else await lea.send(thread, "hi")
        counts[size], data = await count_statements(app, lea, PAGE)
        assert len(data["threads"]["edges"]) == size
        summaries = [e["node"]["lastMessage"]["deliverySummary"] for e in data["threads"]["edges"]]
        assert {"total": 1} in summaries and None in summaries
    assert counts[3] == counts[100], counts
    assert counts[100] <= 12, counts
