"""Attacks: malformed requests, error shape, schema mining, batching and WebSocket frames
(security-and-reliability.md, "GraphQL surface" and "WebSocket")."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
import websockets

from app.factory import create_app
from inbox.settings import Settings
from tests.factories import TEST_SECRET, ClubFixture, graphql
from tests.ws_client import PROTOCOL, GraphQLWebSocket, live_server

NOT_OBJECTS = [b"1", b'"a string"', b"null", b"true", b"\xff\xfe{}", b"[" * 50_000, b'{"a":' * 20_000 + b"1",
               b'{"query": "{ __typename }", "variables": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"]


@pytest.mark.parametrize("body", NOT_OBJECTS, ids=["number", "string", "null", "true", "invalid-utf8", "deep-array",
                                                   "deep-object", "deep-variables"])
async def test_malformed_requests_a_body_that_is_not_a_json_object_is_400_bad_request(
    http: httpx.AsyncClient, club: ClubFixture, body: bytes
) -> None:
    response = await http.post("/graphql", content=body, headers={"Authorization": f"Bearer {club.token()}",
                                                                  "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("body", [b"[]", b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]'],
                         ids=["empty", "two"])
async def test_batching_arrays_of_operations_are_refused(http: httpx.AsyncClient, club: ClubFixture,
                                                         body: bytes) -> None:
    response = await http.post("/graphql", content=body, headers={"Authorization": f"Bearer {club.token()}",
                                                                  "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def _signed(club: ClubFixture, /, **claims: Any) -> str:
    now = int(datetime.now(UTC).timestamp())
    base = {"sub": "s1", "club": club.slug, "aud": "inbox", "iat": now, "exp": now + 3600}
    return jwt.encode({**base, **claims}, TEST_SECRET, algorithm="HS256")


ABSURD_CLAIMS = [{"exp": 10**20}, {"exp": 1e300}, {"exp": "tomorrow"}, {"exp": [1]}, {"iat": "x"}, {"sub": 5},
                 {"sub": {"a": 1}}, {"club": ["a"]}, {"club": None}, {"aud": ["other"]}]


@pytest.mark.parametrize("claims", ABSURD_CLAIMS, ids=[next(iter(c)) + str(i) for i, c in enumerate(ABSURD_CLAIMS)])
async def test_malformed_requests_a_signed_token_with_absurd_claims_is_401(http: httpx.AsyncClient, club: ClubFixture,
                                                                          claims: dict[str, Any]) -> None:
    body = await graphql(http, "{ viewer { name } }", token=_signed(club, **claims), expect_status=401)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


ERRORS_BY_CODE = [
    ("{ viewer { name ", None, "GRAPHQL_PARSE_FAILED"),
    ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("{ members(bogus: 1) { totalCount } }", None, "GRAPHQL_VALIDATION_FAILED"),
    ('{ threads(category: NOPE) { totalCount } }', None, "GRAPHQL_VALIDATION_FAILED"),
    ("query($c: ThreadCategory!) { threads(category: $c) { totalCount } }", {"c": "MEMBR"}, "BAD_USER_INPUT"),
    ("query($n: Int) { members(first: $n) { totalCount } }", {"n": "many"}, "BAD_USER_INPUT"),
    ("query($n: Int) { members(first: $n) { totalCount } }", {"n": 0}, "BAD_USER_INPUT"),
    ("{ a: viewer { name } a: club { name } }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("{ viewer { " * 12 + "}" * 12, None, "GRAPHQL_PARSE_FAILED"),
]


@pytest.mark.parametrize(("query", "variables", "code"), ERRORS_BY_CODE,
                         ids=["parse", "unknown-field", "unknown-argument", "unknown-enum", "variable-enum",
                              "variable-type", "first-0", "conflicting-aliases", "alias-flood", "depth"])
async def test_error_shape_every_error_carries_extensions_code(http: httpx.AsyncClient, club: ClubFixture,
                                                               query: str, variables: Any, code: str) -> None:
    body = await graphql(http, query, variables, token=club.token(), expect_status=None)
    assert body["errors"], body
    assert all("code" in (error.get("extensions") or {}) for error in body["errors"]), body
    assert body["errors"][0]["extensions"]["code"] == code, body


@pytest.fixture(scope="module")
async def production(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"env": "production"}), run_dispatcher=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://prod") as client:
            yield client


SUGGESTED = [
    ("{ viewr { name } }", None),  # field
    ("{ members(serch: \"a\") { totalCount } }", None),  # argument
    ("{ threads(category: MEMBR) { totalCount } }", None),  # enum value (literal)
    ("query($c: ThreadCategory!) { threads(category: $c) { totalCount } }", {"c": "MEMBR"}),  # enum value (variable)
    ("query($c: ThreadCategori!) { threads(category: $c) { totalCount } }", {"c": "MEMBER"}),  # type
    ('mutation { startThread(input: {targetID: "x"}) { created } }', None),  # input field (literal)
    ("mutation($i: StartThreadInput!) { startThread(input: $i) { created } }", {"i": {"targetID": "x"}}),  # variable
    ("{ viewer { ... on Staf { name } } }", None),  # fragment type
]


@pytest.mark.parametrize(("query", "variables"), SUGGESTED, ids=["field", "argument", "enum", "enum-variable", "type",
                                                                 "input-field", "input-field-variable", "fragment"])
async def test_schema_mining_production_gives_no_suggestions_anywhere(
    production: httpx.AsyncClient, http: httpx.AsyncClient, club: ClubFixture, query: str, variables: Any
) -> None:
    development = await graphql(http, query, variables, token=club.token(), expect_status=None)
    assert "Did you mean" in json.dumps(development), "the case must make a suggestion in development"
    body = await graphql(production, query, variables, token=club.token(), expect_status=None)
    assert body["errors"] and "Did you mean" not in json.dumps(body)
    assert all("code" in error["extensions"] for error in body["errors"])


async def test_error_shape_an_expected_error_logs_one_line_without_traceback(
    http: httpx.AsyncClient, club: ClubFixture, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for query in ("{ nope }", "{ members(first: 0) { totalCount } }", '{ node(id: "garbage") { id } }'):
        caplog.clear()
        await graphql(http, query, token=club.token(), expect_status=None)
        records = [r for r in caplog.records if r.levelno >= logging.INFO and not r.name.startswith("httpx")]
        assert len(records) <= 1, [r.getMessage() for r in records]
        assert all(r.exc_info is None and r.stack_info is None and "\n" not in r.getMessage() for r in records)


@pytest.fixture(scope="module")
async def ws_url(settings: Settings) -> AsyncIterator[str]:
    app = create_app(settings, run_dispatcher=False)
    async with live_server(app) as address:
        yield f"ws://{address}/graphql"


NOT_PROTOCOL = ["[]", '"text"', "42", "null", '{"type": 5}', '{"type": ["connection_init"]}',
                '{"type": "connection_init", "payload": []}', '{"type": "subscribe", "id": 1, "payload": {}}',
                '{"type": "subscribe", "id": "1", "payload": "query"}', '{"type": "subscribe", "id": "1"}',
                '{"type": "subscribe", "id": "1", "payload": {"query": 5}}',
                '{"type": "subscribe", "id": "1", "payload": {"query": "{ __typename }", "variables": []}}',
                '{"type": "complete", "id": {"a": 1}}', "[" * 30_000]


@pytest.mark.parametrize("frame", NOT_PROTOCOL, ids=[f"frame{i}" for i in range(len(NOT_PROTOCOL))])
async def test_websocket_a_json_frame_that_is_not_a_protocol_message_closes_with_4400(
    ws_url: str, club: ClubFixture, frame: str
) -> None:
    async with GraphQLWebSocket.open(ws_url, club.token()) as ws:
        assert ws.ack is not None and ws.ack["type"] == "connection_ack"
        await ws.connection.send(frame)
        assert await ws.close_code() == 4400


async def test_websocket_a_bad_frame_before_connection_init_closes_with_4400(ws_url: str) -> None:
    async with websockets.connect(ws_url, subprotocols=[PROTOCOL]) as connection:
        await connection.send("[1, 2]")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await connection.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
