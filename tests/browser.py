"""A real browser for tests: Debian's Chromium driven by Playwright (never a downloaded browser).

`offline_page` opens a page that may reach one origin only (the server under test): every other request
is refused and recorded, so a page that needs a CDN fails its test.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, Page, Route, async_playwright

from tests.redis_server import free_port

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
