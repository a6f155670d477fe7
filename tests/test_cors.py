"""CORS for INBOX_ALLOWED_ORIGINS (operations.md, Browsers): a preflight from an allowed origin answers 204
with that origin, GET and POST, Authorization and Content-Type, no credentials; other origins get no
CORS header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.factory import create_app
from inbox.settings import Settings
from tests.factories import ClubFixture

ALLOWED = "https://inbox.example"
OTHER = "https://evil.example"
QUERY = {"query": "{ viewer { name } }"}


@pytest.fixture(scope="module")
async def browser_app(settings: Settings) -> AsyncIterator[Any]:
    app = create_app(settings.model_copy(update={"allowed_origins": [ALLOWED, "http://localhost:5173"]}),
                     run_dispatcher=False)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(browser_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=browser_app), base_url="http://api.test") as http:
        yield http


async def preflight(client: httpx.AsyncClient, origin: str, method: str = "POST",
                    headers: str | None = "authorization, content-type") -> httpx.Response:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        asked["Access-Control-Request-Headers"] = headers
    return await client.options("/graphql", headers=asked)


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_preflight_from_an_allowed_origin_answers_204_with_the_contracts_headers(
        client: httpx.AsyncClient, method: str) -> None:
    response = await preflight(client, ALLOWED, method)
    assert response.status_code == 204 and response.content == b""
    headers = cors_headers(response)
    assert headers["access-control-allow-origin"] == ALLOWED
    assert headers["access-control-allow-methods"] == "GET, POST"
    assert headers["access-control-allow-headers"] == "Authorization, Content-Type"
    assert "access-control-allow-credentials" not in headers, "no cookies, so no credentials mode"
    assert "Origin" in response.headers["vary"]


async def test_each_allowed_origin_is_answered_with_itself(client: httpx.AsyncClient) -> None:
    response = await preflight(client, "http://localhost:5173")
    assert (response.status_code, response.headers["access-control-allow-origin"]) == (204, "http://localhost:5173")


async def test_origins_compare_as_browsers_send_them(client: httpx.AsyncClient) -> None:
    """Scheme and host are case-insensitive and the default port is implied (as for WebSockets)."""
    response = await preflight(client, "https://INBOX.example:443")
    assert response.status_code == 204
    assert (await preflight(client, "https://inbox.example:8443")).status_code == 400


@pytest.mark.parametrize("origin", [OTHER, "http://inbox.example", "https://inbox.example.evil.example", "null"])
async def test_a_preflight_from_another_origin_gets_no_cors_header(client: httpx.AsyncClient, origin: str) -> None:
    response = await preflight(client, origin)
    assert response.status_code == 400
    assert cors_headers(response) == {}


@pytest.mark.parametrize(("method", "headers"), [("PUT", None), ("DELETE", "authorization"),
                                                 ("POST", "authorization, x-custom"), ("POST", "cookie")])
async def test_a_preflight_for_other_methods_or_headers_is_refused(client: httpx.AsyncClient, method: str,
                                                                   headers: str | None) -> None:
    response = await preflight(client, ALLOWED, method, headers)
    assert response.status_code == 400 and cors_headers(response) == {}


async def test_a_request_from_an_allowed_origin_carries_its_origin(client: httpx.AsyncClient,
                                                                   club: ClubFixture) -> None:
    response = await client.post("/graphql", json=QUERY,
                                 headers={"Origin": ALLOWED, "Authorization": f"Bearer {club.token()}"})
    assert response.status_code == 200 and response.json()["data"]["viewer"]["name"] == "Léa Martin"
    assert cors_headers(response) == {"access-control-allow-origin": ALLOWED}
    assert "Origin" in response.headers["vary"]


async def test_a_get_request_from_an_allowed_origin_carries_its_origin(client: httpx.AsyncClient,
                                                                       club: ClubFixture) -> None:
    response = await client.get("/graphql", params=QUERY,
                                headers={"Origin": ALLOWED, "Authorization": f"Bearer {club.token()}"})
    assert response.status_code == 200 and "errors" not in response.json()
    assert response.headers["access-control-allow-origin"] == ALLOWED


async def test_errors_reach_an_allowed_origin_too(client: httpx.AsyncClient) -> None:
    """A 401 must be readable by the frontend (to refresh its token), so it carries the header as well."""
    response = await client.post("/graphql", json=QUERY, headers={"Origin": ALLOWED})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ALLOWED


async def test_a_request_from_another_origin_gets_no_cors_header(client: httpx.AsyncClient,
                                                                 club: ClubFixture) -> None:
    response = await client.post("/graphql", json=QUERY,
                                 headers={"Origin": OTHER, "Authorization": f"Bearer {club.token()}"})
    assert response.status_code == 200, "the server answers; the browser withholds it from the page"
    assert cors_headers(response) == {}


async def test_without_allowed_origins_no_origin_gets_cors_headers(http: httpx.AsyncClient) -> None:
    response = await preflight(http, ALLOWED)
    assert response.status_code == 400 and cors_headers(response) == {}
    response = await http.post("/graphql", json=QUERY, headers={"Origin": ALLOWED})
    assert cors_headers(response) == {}
