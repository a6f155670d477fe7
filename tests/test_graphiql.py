"""GraphiQL works offline: the page and its assets come from this server (docs/operations.md),
the committed assets are the pinned npm builds, and it renders and subscribes in a real browser."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, Route, async_playwright

from app.factory import create_app
from app.graphiql import ASSETS, ASSETS_PATH
from inbox.settings import Settings
from tests.factories import TEST_SECRET, ClubFixture
from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent
NPM_PROJECT = ROOT / "web-tools" / "graphiql"
HTML = {"Accept": "text/html"}
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden)"  # the variables editor is hidden


def manifest() -> dict[str, dict[str, str]]:
    return json.loads((ASSETS / "manifest.json").read_text())["files"]


# --- the committed assets -------------------------------------------------------------------------


def test_assets_are_the_locked_npm_versions() -> None:
    """A package-lock.json bumped without `npm run build` (or the reverse) fails here."""
    locked = json.loads((NPM_PROJECT / "package-lock.json").read_text())["packages"]
    declared = json.loads((NPM_PROJECT / "package.json").read_text())["dependencies"]
    for name, entry in manifest().items():
        assert entry["version"] == locked[f"node_modules/{entry['package']}"]["version"], name
        assert entry["version"] == declared[entry["package"]], f"{entry['package']} is not pinned exactly"


def test_assets_are_unchanged_since_the_build() -> None:
    files = manifest()
    assert sorted(files) == sorted(path.name for path in ASSETS.iterdir() if path.name != "manifest.json")
    for name, entry in files.items():
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == entry["sha256"], f"{name} was edited"


def test_assets_match_the_installed_packages_when_there_are_some() -> None:
    if not (NPM_PROJECT / "node_modules").is_dir():
        pytest.skip("web-tools/graphiql/node_modules is not installed (npm ci there to compare)")
    for name, entry in manifest().items():
        source = NPM_PROJECT / "node_modules" / entry["package"] / entry["source"]
        assert source.read_bytes() == (ASSETS / name).read_bytes(), f"{name} is stale: run `npm run build`"


# --- the served page ------------------------------------------------------------------------------


async def test_the_page_references_no_external_url(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    references = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert len(references) == 5  # an icon, a stylesheet and three scripts
    assert all(ref.startswith(ASSETS_PATH + "/") or ref.startswith("data:") for ref in references), references
    assert "://" not in page.replace("window.location.href", "")
    for ref in references:
        if ref.startswith(ASSETS_PATH):
            asset = await http.get(ref)
            assert asset.status_code == 200, ref
            assert asset.content == (ASSETS / ref.split("?")[0].rsplit("/", 1)[1]).read_bytes()


async def test_the_assets_carry_no_external_url_either() -> None:
    css = (ASSETS / "graphiql.min.css").read_text()
    assert re.findall(r"url\(\s*['\"]?(?:https?:)?//", css) == []


async def test_production_serves_neither_the_page_nor_its_assets(database_url: str) -> None:
    settings = Settings(DATABASE_URL=database_url, INBOX_SECRET_KEY=TEST_SECRET, INBOX_ENV="production")
    application = create_app(settings, run_dispatcher=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            page = await client.get("/graphql", headers=HTML)
            asset = await client.get(f"{ASSETS_PATH}/graphiql.min.js")
    assert "GraphiQL" not in page.text
    assert asset.status_code == 404


# --- in a real browser, with no network but the server ----------------------------------------------

# Debian's Chromium under Playwright, never a downloaded browser.
CHROMIUM = Path(os.environ.get("INBOX_TEST_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Headless Chromium; skipped locally when it is not installed, a failure under CI."""
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def offline_page(browser: Browser, origin: str) -> AsyncIterator[tuple[Page, list[str]]]:
    """A page in a fresh context that reaches `origin` only; yields it and the list of refused URLs."""
    context = await browser.new_context()
    refused: list[str] = []

    async def only_origin(route: Route) -> None:
        url = route.request.url
        if url.startswith(origin + "/") or url.startswith("data:"):
            await route.continue_()
        else:
            refused.append(url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_origin)
    try:
        yield await context.new_page(), refused
    finally:
        await context.close()


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """`app` (its lifespan already running) on a free port under uvicorn; yields its origin."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server under test did not start"
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _editor(page: Any, selector: str) -> str:
    """The text of the CodeMirror editor under `selector`."""
    return await page.evaluate("(s) => document.querySelector(s + ' .CodeMirror').CodeMirror.getValue()", selector)


async def _type_into(page: Any, selector: str, text: str) -> None:
    """Replace the editor's text as a user does: click, select all, type."""
    await page.click(f"{selector} .CodeMirror")
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(text)


async def test_graphiql_renders_offline_and_subscribes(app: Any, club: ClubFixture) -> None:
    async with served(app) as origin, chromium() as browser, offline_page(browser, origin) as (page, refused):
        errors: list[str] = []
        sockets: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("websocket", lambda socket: sockets.append(socket.url))
        await page.goto(f"{origin}/graphql")
        await page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=30_000)
        assert "viewer { name }" in await _editor(page, ".graphiql-query-editor")

        await _type_into(page, HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {club.token()}"}))
        await _type_into(page, ".graphiql-query-editor", "subscription { unreadCountsChanged { members total } }")
        await page.wait_for_timeout(1000)  # GraphiQL parses the edited document after a short debounce
        await page.click(".graphiql-execute-button")
        await page.wait_for_function(
            "() => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"
            ".includes('unreadCountsChanged')", timeout=30_000)
        result = json.loads(await _editor(page, ".result-window"))
        assert result["data"] == {"unreadCountsChanged": {"members": 0, "total": 0}}
        assert sockets == [origin.replace("http:", "ws:") + "/graphql"]  # graphql-ws, the token in connection_init
        assert refused == []
        assert errors == []
