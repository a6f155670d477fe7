"""Attacks on the GraphQL surface not covered elsewhere (security-and-reliability.md): limits reached
through fragments, forged ids of the wrong type, subscribing charged to the rate limit, WebSocket
compression off on a real `inbox serve`."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets

from app.factory import create_app
from inbox.settings import Settings
from resolvers.ids import encode_id
from tests.factories import ClubFixture, graphql
from tests.serve_process import inbox_serve
from tests.ws_client import PROTOCOL, GraphQLWebSocket, live_server


def code_of(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


async def test_alias_flood_through_fragments_is_rejected(http: httpx.AsyncClient, club: ClubFixture) -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(16))
    body = await graphql(http, "{ ...F } fragment F on Query { " + aliases + " }", token=club.token(),
                         expect_status=None)
    assert code_of(body) == "GRAPHQL_VALIDATION_FAILED"
    spread = await graphql(http, "{ ...A ...B } fragment A on Query { " + " ".join(
        f"a{i}: __typename" for i in range(8)) + " } fragment B on Query { " + " ".join(
        f"b{i}: __typename" for i in range(8)) + " }", token=club.token(), expect_status=None)
    assert code_of(spread) == "GRAPHQL_VALIDATION_FAILED"


async def test_deep_query_through_fragments_is_rejected_at_validation(http: httpx.AsyncClient,
                                                                      club: ClubFixture) -> None:
    nested = "messages(first: 1) { edges { node { thread { " * 3 + "id" + " } } } }" * 3
    query = "{ ...T } fragment T on Query { threads(category: MEMBER, first: 1) { edges { node { " + nested + \
        " } } } }"
    body = await graphql(http, query, token=club.token(), expect_status=None)
    assert code_of(body) == "GRAPHQL_VALIDATION_FAILED" and "depth" in body["errors"][0]["message"].lower()


@pytest.mark.parametrize("forged", [
    base64.b64encode(b"Member:not-a-number").decode(), base64.b64encode(b"Nope:1").decode(), "%%%", "",
    base64.b64encode(b"Member:99999999999999999999999").decode(), base64.b64encode(b"Member:-1").decode(),
], ids=["non-numeric", "unknown-type", "not-base64", "empty", "huge", "negative"])
async def test_forged_or_foreign_ids_read_as_null_or_not_found_and_write_nothing(
    http: httpx.AsyncClient, club: ClubFixture, forged: str
) -> None:
    read = await graphql(http, "query($id: ID!) { node(id: $id) { id } }", {"id": forged}, token=club.token(),
                         expect_status=None)
    assert read.get("data") == {"node": None} or code_of(read) in ("NOT_FOUND", "BAD_USER_INPUT"), read
    for mutation in ("startThread(input: {targetId: $id}) { thread { id } userErrors { code } }",
                     "markThreadRead(input: {threadId: $id}) { thread { id } userErrors { code } }"):
        body = await graphql(http, "mutation($id: ID!) { " + mutation + " }", {"id": forged}, token=club.token(),
                             expect_status=None)
        payload = next(iter(body["data"].values()))
        assert payload["thread"] is None and payload["userErrors"][0]["code"] in ("NOT_FOUND", "INVALID_INPUT")


async def test_forged_or_foreign_ids_of_the_wrong_type_are_not_found(http: httpx.AsyncClient,
                                                                     club: ClubFixture) -> None:
    member_id = encode_id("Member", club.member_ids["m1"])
    body = await graphql(http, "mutation($id: ID!) { markThreadRead(input: {threadId: $id}) { thread { id } "
                               "userErrors { code } } }", {"id": member_id}, token=club.token())
    assert body["data"]["markThreadRead"] == {"thread": None, "userErrors": [{"code": "NOT_FOUND"}]}


@pytest.fixture(scope="module")
async def tight_ws(settings: Settings) -> AsyncIterator[str]:
    app = create_app(settings.model_copy(update={"rate_limit_per_minute": 30}), run_dispatcher=False)
    async with live_server(app) as address:
        yield f"ws://{address}/graphql"


async def test_abuse_each_subscription_is_charged_its_cost_when_subscribing(tight_ws: str, club: ClubFixture) -> None:
    query = "subscription { unreadCountsChanged { members smartlists sessions total } }"  # 5 points
    async with GraphQLWebSocket.open(tight_ws, club.token()) as ws:
        outcomes = []
        for _ in range(8):
            operation = await ws.subscribe(query)
            message = await ws.receive(operation_id=operation)
            errors = (message.get("payload") or {}).get("errors") if message["type"] == "next" else message["payload"]
            outcomes.append(errors[0]["extensions"]["code"] if errors else "ok")
            await ws.send({"id": operation, "type": "complete"})
    assert outcomes[:6] == ["ok"] * 6 and outcomes[6:] == ["RATE_LIMITED"] * 2, outcomes


async def test_websocket_compression_is_off_on_inbox_serve(database_url: str, tmp_path: Path,
                                                           club: ClubFixture) -> None:
    with inbox_serve(database_url, tmp_path / "serve.log") as address:
        async with websockets.connect(f"ws://{address}/graphql", subprotocols=[PROTOCOL]) as connection:
            extensions = connection.response.headers.get("Sec-WebSocket-Extensions")
    assert extensions is None
