"""The GraphQL surface under attack (docs/architecture.md): production hardening, CSRF, leakage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.factory import create_app
from inbox.settings import Settings
from models import Smartlist
from models.engine import club_session
from tests.factories import ClubFixture, graphql


@pytest.fixture(scope="module")
async def production(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"env": "production"}), run_dispatcher=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://prod") as client:
            yield client


async def test_production_turns_off_introspection(production: httpx.AsyncClient, club: ClubFixture) -> None:
    body = await graphql(production, "{ __schema { types { name } } }", token=club.token())
    assert body.get("data") is None and "introspection" in body["errors"][0]["message"].lower()


async def test_production_turns_off_graphiql(production: httpx.AsyncClient) -> None:
    page = await production.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in page.text.lower()


async def test_production_gives_no_field_suggestions(production: httpx.AsyncClient, club: ClubFixture,
                                                     http: httpx.AsyncClient) -> None:
    development = await graphql(http, "{ viewr { name } }", token=club.token(), expect_status=None)
    assert "Did you mean" in development["errors"][0]["message"]
    body = await graphql(production, "{ viewr { name } }", token=club.token(), expect_status=None)
    assert "Did you mean" not in body["errors"][0]["message"]


async def test_get_may_carry_queries_but_never_mutations(http: httpx.AsyncClient, club: ClubFixture) -> None:
    headers = {"Authorization": f"Bearer {club.token()}"}
    query = await http.get("/graphql", params={"query": "{ viewer { name } }"}, headers=headers)
    assert query.status_code == 200 and query.json()["data"]["viewer"]["name"] == "Léa Martin"
    mutation = 'mutation { setThreadFavorite(input: {threadId: "x", value: true}) { thread { id } } }'
    refused = await http.get("/graphql", params={"query": mutation}, headers=headers)
    assert refused.status_code == 400 and "data" not in refused.json()
    assert "not allowed" in refused.json()["errors"][0]["message"]


async def test_graphql_response_json_requests_get_400_for_documents_that_fail_to_validate(
    http: httpx.AsyncClient, club: ClubFixture
) -> None:
    response = await http.post("/graphql", json={"query": "{ nope }"},
                               headers={"Authorization": f"Bearer {club.token()}",
                                        "Accept": "application/graphql-response+json"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    assert "data" not in response.json()


async def test_unexpected_errors_say_unexpected_error_with_a_request_id_and_log_the_details(
    http: httpx.AsyncClient, club: ClubFixture, sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A smartlist whose stored filters never went through validation: compiling them fails.
    async with club_session(sessions, club.club_id) as session:
        session.add(Smartlist(club_id=club.club_id, external_id="broken", name="Broken", name_key="broken",
                              filters=[{"field": "AGE", "operator": "GTE", "values": ["not a number"]}]))
        await session.commit()
    response = await http.post(
        "/graphql", json={"query": '{ nodesByExternalId(category: SMARTLIST, externalIds: ["broken"]) '
                                   '{ ... on Smartlist { name memberCount } } }'},
        headers={"Authorization": f"Bearer {club.token()}"})
    error: dict[str, Any] = response.json()["errors"][0]
    assert error["message"] == "Unexpected error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": response.headers["x-request-id"]}
    assert "not a number" not in response.text
    assert any("not a number" in str(record.exc_info[1]) for record in caplog.records if record.exc_info)
