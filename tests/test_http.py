"""HTTP surface of /graphql and the health endpoints (docs/api.md, docs/architecture.md)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from app.factory import create_app
from app.graphql_view import InboxGraphQL
from inbox.settings import Settings
from tests.factories import TEST_SECRET, ClubFixture, graphql


async def test_healthz_and_readyz_report_a_live_service(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "up", "bus": "up"}}


async def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = Settings(DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/none", INBOX_SECRET_KEY=TEST_SECRET,
                        INBOX_DB_CONNECT_TIMEOUT=1)
    app = create_app(settings, run_dispatcher=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"] == {"database": "down", "bus": "up"}
            response = await client.post("/graphql", json={"query": "{ viewer { name } }"},
                                         headers={"Authorization": "Bearer ibx_whatever"})
            assert response.status_code == 503
            assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


async def test_graphiql_is_served_in_development(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_request_bodies_over_512_kib_get_413(http: httpx.AsyncClient, club: ClubFixture) -> None:
    big = {"query": "{ viewer { name } }", "variables": {"pad": "x" * (513 * 1024)}}
    response = await http.post("/graphql", json=big, headers={"Authorization": f"Bearer {club.token()}"})
    assert response.status_code == 413


async def test_batched_operations_are_refused(http: httpx.AsyncClient, club: ClubFixture) -> None:
    response = await http.post("/graphql", json=[{"query": "{ viewer { name } }"}] * 2,
                               headers={"Authorization": f"Bearer {club.token()}"})
    assert response.status_code == 400


async def test_only_json_posts_are_accepted(http: httpx.AsyncClient, club: ClubFixture) -> None:
    response = await http.post("/graphql", content="query={viewer{name}}",
                               headers={"Authorization": f"Bearer {club.token()}",
                                        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400


def _nested(pairs: int) -> str:
    """threads > edges > node > (lastMessage > thread) x pairs > id: depth 4 + 2 * pairs."""
    return ("{ threads(category: MEMBER) { edges { node { " + "lastMessage { thread { " * pairs + "id"
            + " } }" * pairs + " } } } }")


async def test_deep_queries_are_rejected_at_validation(http: httpx.AsyncClient, club: ClubFixture) -> None:
    assert "errors" not in await graphql(http, _nested(3), token=club.token())  # depth 10
    body = await graphql(http, _nested(4), token=club.token())  # depth 12
    assert body.get("data") is None
    assert "depth" in body["errors"][0]["message"]


async def test_more_than_15_aliases_are_rejected(http: httpx.AsyncClient, club: ClubFixture) -> None:
    fifteen = "query { " + " ".join(f"a{i}: viewer {{ name }}" for i in range(15)) + " }"
    assert "errors" not in await graphql(http, fifteen, token=club.token())
    sixteen = "query { " + " ".join(f"a{i}: viewer {{ name }}" for i in range(16)) + " }"
    body = await graphql(http, sixteen, token=club.token())
    assert body.get("data") is None and "aliases" in body["errors"][0]["message"]


async def test_more_than_2000_tokens_are_rejected(http: httpx.AsyncClient, club: ClubFixture) -> None:
    query = "query { viewer { " + " ".join(["name"] * 2100) + " } }"
    body = await graphql(http, query, token=club.token())
    assert body.get("data") is None and "token" in body["errors"][0]["message"].lower()


async def test_every_response_carries_a_request_id(http: httpx.AsyncClient, club: ClubFixture) -> None:
    ok = await http.post("/graphql", json={"query": "{ viewer { name } }"},
                         headers={"Authorization": f"Bearer {club.token()}"})
    refused = await http.post("/graphql", json={"query": "{ viewer { name } }"})
    assert refused.status_code == 401
    assert ok.headers["x-request-id"] and refused.headers["x-request-id"] != ok.headers["x-request-id"]


async def test_every_response_reports_its_cost_and_rate_limit_shows_the_budget(
    http: httpx.AsyncClient, club: ClubFixture
) -> None:
    body = await graphql(http, "{ rateLimit { cost limit remaining resetAt } members(first: 10) "
                               "{ edges { node { id } } } }", token=club.token())
    assert body["extensions"]["cost"] == body["data"]["rateLimit"]["cost"] > 10
    budget = body["data"]["rateLimit"]
    assert budget["limit"] == 100_000 and budget["remaining"] <= budget["limit"] - budget["cost"]


async def test_queries_over_the_cost_limit_are_query_too_complex(http: httpx.AsyncClient, club: ClubFixture) -> None:
    query = ("{ threads(category: MEMBER, first: 100) { edges { node { messages(first: 100) { edges { node "
             "{ body } } } } } } }")
    body = await graphql(http, query, token=club.token())
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_an_exhausted_budget_answers_429_with_retry_after(app: object, club: ClubFixture) -> None:
    from inbox.ratelimit import MemoryRateLimiter

    services = app.state.services  # type: ignore[attr-defined]
    original = services.rate_limiter
    services.rate_limiter = MemoryRateLimiter(capacity=5, window_seconds=60)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            headers = {"Authorization": f"Bearer {club.token()}"}
            first = await client.post("/graphql", json={"query": "{ viewer { name } }"}, headers=headers)
            assert first.status_code == 200
            refused = await client.post("/graphql", json={"query": "{ members(first: 10) { edges { node { id } } } }"},
                                        headers=headers)
    finally:
        services.rate_limiter = original
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["retryAfter"] >= 1


async def test_metrics_report_latency_by_operation_subscriptions_events_and_deliveries(
    http: httpx.AsyncClient, club: ClubFixture
) -> None:
    await graphql(http, "query Inbox { viewer { name } }", token=club.token())
    text = (await http.get("/metrics")).text
    assert 'inbox_graphql_request_seconds_count{operation="query Inbox"}' in text
    for name in ("inbox_open_subscriptions", "inbox_events_published", 'inbox_deliveries{status="QUEUED"}'):
        assert name in text


def test_responses_are_utf8_json_and_what_orjson_cannot_encode_still_encodes() -> None:
    encode = InboxGraphQL.encode_json
    body = encode(None, {"data": {"name": "Léa Müller", "n": 2**70}})  # type: ignore[arg-type]
    assert json.loads(body) == {"data": {"name": "Léa Müller", "n": 2**70}}
    assert json.loads(encode(None, {"data": {"name": "Léa"}})) == {"data": {"name": "Léa"}}  # type: ignore[arg-type]
    assert "Léa" in encode(None, {"data": {"name": "Léa"}})  # type: ignore[arg-type]


async def test_error_messages_say_null_where_graphql_core_says_none(http: httpx.AsyncClient, club: ClubFixture) -> None:
    query = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }"
    response = await http.post("/graphql", json={"query": query, "variables": {"input": {"threadId": None}}},
                               headers={"Authorization": f"Bearer {club.token()}"})
    error = response.json()["errors"][0]
    assert "not to be null." in error["message"] and "not to be None." not in error["message"], error
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
