"""Attack: oversized values (security-and-reliability.md, "oversized values"; operations.md, "Size limits").

Every string and list a client sends has a maximum; over it, BAD_USER_INPUT (an argument) or an
INVALID_INPUT user error naming the field (a mutation input), before any SQL uses the value.
NUL and unpaired surrogates are refused the same way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.staff import create_api_key
from models import Smartlist
from models.engine import club_session
from resolvers.ids import encode_id
from tests.factories import ClubFixture, graphql


@contextmanager
def sql_parameters(app: Any) -> Iterator[list[str]]:
    """Every string parameter sent to the database while the block runs."""
    engine = app.state.services.sessions.kw["bind"].sync_engine
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        values = parameters.values() if isinstance(parameters, dict) else (parameters or ())
        seen.extend(str(value) for value in values)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def code_of(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"]


SEARCHES = [
    "query($s: String) { threads(category: MEMBER, search: $s) { totalCount } }",
    "query($s: String) { members(search: $s) { totalCount } }",
    "query($s: String) { smartlists(search: $s) { totalCount } }",
    'query($s: String) { sessions(from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z", search: $s) '
    "{ totalCount } }",
    "query($s: String) { memberTags(search: $s) }",
]


@pytest.mark.parametrize("query", SEARCHES, ids=["threads", "members", "smartlists", "sessions", "memberTags"])
async def test_oversized_values_search_over_200_characters_is_bad_user_input_before_any_sql(
    app: Any, http: httpx.AsyncClient, club: ClubFixture, query: str
) -> None:
    huge = "marker" + "x" * 300_000
    with sql_parameters(app) as parameters:
        body = await graphql(http, query, {"s": huge}, token=club.token(), expect_status=200)
    assert code_of(body) == "BAD_USER_INPUT" and body.get("data") is None
    assert "at most 200" in body["errors"][0]["message"]
    assert not any("marker" in value for value in parameters)
    at_limit = await graphql(http, query, {"s": "a" * 200}, token=club.token())
    assert "errors" not in at_limit


async def test_oversized_values_inline_literal_arguments_are_checked_too(http: httpx.AsyncClient,
                                                                         club: ClubFixture) -> None:
    body = await graphql(http, '{ members(search: "%s") { totalCount } }' % ("y" * 201), token=club.token())
    assert code_of(body) == "BAD_USER_INPUT"


async def test_oversized_values_cursors_and_ids_over_200_characters(http: httpx.AsyncClient,
                                                                    club: ClubFixture) -> None:
    long = "c" * 201
    for query in ("query($v: String) { members(after: $v) { totalCount } }",
                  "query($v: ID!) { node(id: $v) { id } }",
                  "query($v: ID!) { nodes(ids: [$v]) { id } }",
                  "query($v: String!) { nodesByExternalId(category: MEMBER, externalIds: [$v]) { id } }"):
        body = await graphql(http, query, {"v": long}, token=club.token())
        assert code_of(body) == "BAD_USER_INPUT", query


async def test_oversized_values_nested_field_arguments_are_checked(http: httpx.AsyncClient,
                                                                   club: ClubFixture) -> None:
    query = """query($v: String) { threads(category: MEMBER) { edges { node {
      messages(after: $v) { edges { cursor } } } } } }"""
    body = await graphql(http, query, {"v": "z" * 201}, token=club.token())
    assert code_of(body) == "BAD_USER_INPUT"
    fragment = """query($v: String) { ...F } fragment F on Query { members(search: $v) { totalCount } }"""
    assert code_of(await graphql(http, fragment, {"v": "z" * 201}, token=club.token())) == "BAD_USER_INPUT"


async def test_oversized_values_more_than_100_ids(http: httpx.AsyncClient, club: ClubFixture) -> None:
    ids = [encode_id("Member", 1)] * 101
    body = await graphql(http, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids}, token=club.token())
    assert code_of(body) == "BAD_USER_INPUT" and "at most 100" in body["errors"][0]["message"]
    external = await graphql(http, "query($ids: [String!]!) { nodesByExternalId(category: MEMBER, externalIds: $ids) "
                                   "{ id } }", {"ids": ["m1"] * 101}, token=club.token())
    assert code_of(external) == "BAD_USER_INPUT"
    within = await graphql(http, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids[:100]},
                           token=club.token())
    assert "errors" not in within


PREVIEW = "query($f: [SmartlistFilterInput!]!) { smartlistPreview(filters: $f) { memberCount userErrors { code } } }"


async def test_oversized_values_smartlist_preview_filters_over_their_limits(http: httpx.AsyncClient,
                                                                           club: ClubFixture) -> None:
    one = {"field": "TAG", "operator": "IN", "values": ["premium"]}
    too_many = await graphql(http, PREVIEW, {"f": [one] * 21}, token=club.token())
    assert code_of(too_many) == "BAD_USER_INPUT"
    many_values = await graphql(http, PREVIEW, {"f": [{**one, "values": ["v"] * 501}]}, token=club.token())
    assert code_of(many_values) == "BAD_USER_INPUT"
    long_value = await graphql(http, PREVIEW, {"f": [{**one, "values": ["v" * 201]}]}, token=club.token())
    assert code_of(long_value) == "BAD_USER_INPUT"


async def test_oversized_values_smartlist_preview_at_the_limits_runs_on_the_database(
    http: httpx.AsyncClient, club: ClubFixture
) -> None:
    # 20 filters x 500 values: 10,000 values, within every driver's parameter limit (the 512 KiB body
    # limit keeps the values short here; a 200-character value is tried below).
    filters = [{"field": "TAG", "operator": "IN", "values": [f"{i:02d}-{j:03d}".ljust(30, "t") for j in range(500)]}
               for i in range(10)]
    filters += [{"field": "CITY", "operator": "IN", "values": [f"{i:02d}-{j:03d}".ljust(30, "c") for j in range(500)]}
                for i in range(9)]
    filters.append({"field": "CITY", "operator": "IN", "values": ["c" * 200] * 500})
    body = await graphql(http, PREVIEW, {"f": filters}, token=club.token())
    assert body["data"]["smartlistPreview"] == {"memberCount": 0, "userErrors": []}


MESSAGE = """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
  message { id } thread { id } userErrors { code field message } } }"""


async def _member_thread(http: httpx.AsyncClient, club: ClubFixture) -> str:
    body = await graphql(http, "mutation($t: ID!) { startThread(input: {targetId: $t}) { thread { id } } }",
                         {"t": encode_id("Member", club.member_ids["m1"])}, token=club.token())
    return body["data"]["startThread"]["thread"]["id"]


async def test_oversized_values_message_body_is_an_invalid_input_user_error(app: Any, http: httpx.AsyncClient,
                                                                            club: ClubFixture) -> None:
    thread_id = await _member_thread(http, club)
    cases = [({"channel": "SMS", "body": "s" * 1601}, ["input", "body"]),
             ({"channel": "EMAIL", "body": "e" * 100_001, "subject": "Hi"}, ["input", "body"]),
             ({"channel": "EMAIL", "body": "Hello", "subject": "s" * 301}, ["input", "subject"]),
             ({"channel": "SMS", "body": "Hello", "idempotencyKey": "k" * 201}, ["input", "idempotencyKey"])]
    for fields, path in cases:
        with sql_parameters(app) as parameters:
            body = await graphql(http, MESSAGE, {"input": {"threadId": thread_id, **fields}}, token=club.token())
        payload = body["data"]["sendMessage"]
        assert payload["message"] is None and payload["thread"] is None
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", path)], fields
        assert not any(len(value) > 200 for value in parameters)


async def test_oversized_values_smartlist_creation_names_each_field(http: httpx.AsyncClient,
                                                                    club: ClubFixture) -> None:
    query = """mutation($input: CreateSmartlistInput!) { createSmartlist(input: $input) {
      smartlist { id } userErrors { code field } } }"""
    one = {"field": "TAG", "operator": "IN", "values": ["premium"]}
    cases = [({"name": "n" * 301, "filters": [one]}, ["input", "name"]),
             ({"name": "ok", "description": "d" * 2001, "filters": [one]}, ["input", "description"]),
             ({"name": "ok", "filters": [one] * 21}, ["input", "filters"]),
             ({"name": "ok", "filters": [{**one, "values": ["v"] * 501}]}, ["input", "filters", "0", "values"]),
             ({"name": "ok", "filters": [{**one, "values": ["v" * 201]}]}, ["input", "filters", "0", "values", "0"])]
    for value, path in cases:
        payload = (await graphql(http, query, {"input": value}, token=club.token()))["data"]["createSmartlist"]
        assert payload["smartlist"] is None
        assert payload["userErrors"] == [{"code": "INVALID_INPUT", "field": path}], value


@pytest.mark.parametrize("text", ["nul\x00byte", "lone \ud800 surrogate", "\udfff"], ids=["nul", "high", "low"])
async def test_malformed_requests_nul_and_lone_surrogates_are_bad_input(http: httpx.AsyncClient, club: ClubFixture,
                                                                        text: str) -> None:
    async def post(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        # JSON escapes (\u0000, \ud800): what a client's encoder sends for such text.
        response = await http.post("/graphql", content=json.dumps({"query": query, "variables": variables}),
                                   headers={"Authorization": f"Bearer {club.token()}",
                                            "Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        return response.json()

    body = await post("query($s: String) { members(search: $s) { totalCount } }", {"s": text})
    assert code_of(body) == "BAD_USER_INPUT"
    thread_id = await _member_thread(http, club)
    sent = await post(MESSAGE, {"input": {"threadId": thread_id, "channel": "SMS", "body": text}})
    assert sent["data"]["sendMessage"]["userErrors"][0]["code"] == "INVALID_INPUT"


async def test_oversized_values_partner_keys_stay_forbidden_for_oversized_mutations(
    http: httpx.AsyncClient, club: ClubFixture, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        key = await create_api_key(session, club.slug, "Dashboard")
    body = await graphql(http, MESSAGE, {"input": {"threadId": "x", "channel": "SMS", "body": "s" * 2000}}, token=key)
    assert code_of(body) == "FORBIDDEN"


WORDY = " ".join(f"{chr(97 + i % 26)}{i % 10}" for i in range(67))[:200]


@pytest.mark.parametrize("query", SEARCHES, ids=["threads", "members", "smartlists", "sessions", "memberTags"])
async def test_oversized_values_a_200_character_search_of_many_short_words_runs(
    http: httpx.AsyncClient, club: ClubFixture, query: str
) -> None:
    for search in (WORDY, "a " * 100, "06 " * 66, "%_\\ " * 50, "北" * 200):
        body = await graphql(http, query, {"s": search[:200]}, token=club.token())
        assert "errors" not in body, (search, body)


async def test_oversized_values_one_huge_request_does_not_delay_a_small_one(http: httpx.AsyncClient,
                                                                           club: ClubFixture) -> None:
    """Huge requests are refused before any work: small requests sent after them all complete, and the
    huge ones are all refused."""
    finished: list[str] = []
    huge = "h " * 200_000

    async def big(index: int) -> None:
        body = await graphql(http, "query($s: String) { members(search: $s) { totalCount } }", {"s": huge},
                             token=club.token())
        assert code_of(body) == "BAD_USER_INPUT"
        finished.append(f"big{index}")

    async def small(index: int) -> None:
        body = await graphql(http, "{ members(first: 1) { totalCount } }", token=club.token())
        assert body["data"]["members"]["totalCount"] > 0
        health = await http.get("/healthz")
        assert health.status_code == 200
        finished.append(f"small{index}")

    await asyncio.wait_for(asyncio.gather(*[big(i) for i in range(4)], *[small(i) for i in range(4)]), 60)
    assert sorted(finished) == sorted([f"big{i}" for i in range(4)] + [f"small{i}" for i in range(4)])


async def test_oversized_values_one_saved_smartlist_never_breaks_the_smartlist_list_of_its_club(
    http: httpx.AsyncClient, club: ClubFixture, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Smartlists at the size limits, and one stored before the limits with thousands of filters: the
    list counts them all (in as many statements as the drivers' parameter limits need)."""
    largest = [{"field": "TAG", "operator": "IN", "values": [f"t{i}-{j}" for j in range(500)]} for i in range(20)]
    legacy = [{"field": "AGE", "operator": "GTE", "values": ["1"]}] * 3000
    async with club_session(sessions, club.club_id) as session:
        for index in range(8):
            session.add(Smartlist(club_id=club.club_id, external_id=f"big{index}", name=f"Big {index}",
                                  name_key=f"big {index}", filters=largest))
        session.add(Smartlist(club_id=club.club_id, external_id="legacy", name="Big legacy", name_key="big legacy",
                              filters=legacy))
        await session.commit()
    body = await graphql(http, '{ smartlists(search: "big", first: 100) { edges { node { name memberCount '
                               'reachableCount(channel: SMS) } } } }', token=club.token())
    assert "errors" not in body, body["errors"][0]
    counts = {edge["node"]["name"]: edge["node"]["memberCount"] for edge in body["data"]["smartlists"]["edges"]}
    assert len(counts) == 9 and all(counts[f"Big {i}"] == 0 for i in range(8))
    assert counts["Big legacy"] > 0
