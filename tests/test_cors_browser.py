"""CORS as a browser enforces it (operations.md, Browsers): Debian's headless Chromium loads a page from
another origin that calls the API with a bearer token (so the browser sends a preflight first). From an
origin of INBOX_ALLOWED_ORIGINS the page reads the answer; from any other origin the browser blocks it."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.factory import create_app
from inbox.settings import Settings
from tests.factories import ClubFixture
from tests.ws_client import live_server

CHROMIUM = shutil.which("chromium")
PAGE = """<!doctype html><title>frontend</title><body>waiting</body><script>
fetch("http://%(api)s/graphql", {method: "POST", body: JSON.stringify({query: "{ viewer { name } }"}),
  headers: {"Content-Type": "application/json", "Authorization": "Bearer %(token)s"}})
  .then((response) => response.json())
  .then((body) => { document.body.textContent = "ANSWERED " + body.data.viewer.name; })
  .catch((error) => { document.body.textContent = "BLOCKED " + error.name; });
</script>"""


@pytest.fixture(scope="module")
async def frontend_and_api(settings: Settings) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A page server (the frontend's origin) and the API allowing that origin, both on real ports."""
    page_values: dict[str, str] = {}

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE % page_values)

    async with live_server(Starlette(routes=[Route("/", page)])) as frontend:
        api_app = create_app(settings.model_copy(update={"allowed_origins": [f"http://{frontend}"]}),
                             run_dispatcher=False)
        async with live_server(api_app) as api:
            page_values["api"] = api
            yield frontend, page_values


async def page_text(url: str) -> str:
    """What the page shows once its script ran, as headless Chromium renders it."""
    assert CHROMIUM is not None
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
        "--virtual-time-budget=5000", "--dump-dom", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return stdout.decode()


def needs_chromium() -> None:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is needed for the browser CORS test")
        pytest.skip("chromium is not installed")


async def test_a_page_of_an_allowed_origin_reads_the_answer(frontend_and_api: tuple[str, Any],
                                                            club: ClubFixture) -> None:
    needs_chromium()
    frontend, values = frontend_and_api
    values["token"] = club.token()
    text = await page_text(f"http://{frontend}/")
    assert "ANSWERED Léa Martin" in text, text


async def test_a_page_of_another_origin_is_blocked_by_the_browser(frontend_and_api: tuple[str, Any],
                                                                  club: ClubFixture) -> None:
    """The same page from `localhost` instead of `127.0.0.1`: another origin, not allowed."""
    needs_chromium()
    frontend, values = frontend_and_api
    values["token"] = club.token()
    text = await page_text(f"http://{frontend.replace('127.0.0.1', 'localhost')}/")
    assert "BLOCKED TypeError" in text, text
