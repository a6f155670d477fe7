"""Debian's headless Chromium driven by playwright, and the web inbox served by a real `inbox serve`.

Never a downloaded browser: playwright launches /usr/bin/chromium (`apt-get install chromium
fonts-noto-color-emoji`). Without it the browser tests skip on a developer's machine and fail under CI.
Every request the page makes to another host is refused, so the tests also prove the page works offline.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright

from inbox.auth import issue_staff_token
from tests.factories import TEST_SECRET
from tests.servers import PUBLIC_URL, TWILIO_TOKEN, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
INBOX = Path(sys.executable).parent / "inbox"
DEMO_CLUB = "riverside"


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-color-emoji"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class InboxServer:
    """`inbox serve` in a process of its own, on a database loaded with the demo club."""

    database_url: str
    redis_url: str | None
    log: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {**os.environ, "DATABASE_URL": self.database_url, "INBOX_SECRET_KEY": TEST_SECRET,
               "INBOX_TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "INBOX_PUBLIC_URL": PUBLIC_URL}
        env.pop("REDIS_URL", None)
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    def load_demo(self) -> None:
        subprocess.run([str(INBOX), "demo"], env=self.env(), check=True, capture_output=True)

    def start(self) -> None:
        self.port = self.port or free_port()
        self.process = subprocess.Popen([str(INBOX), "serve", "--port", str(self.port), "--no-dispatcher"],
                                        env=self.env(), stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"inbox serve did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    @contextlib.contextmanager
    def running(self) -> Iterator[InboxServer]:
        self.start()
        try:
            yield self
        finally:
            self.stop()


def staff_token(staff: str, ttl: timedelta = timedelta(hours=1)) -> str:
    """A token of the demo club's staff user `staff` (s1 Léa, s2 Tom, s3 Aisha)."""
    return issue_staff_token(TEST_SECRET, staff_external_id=staff, club_slug=DEMO_CLUB, ttl=ttl)


async def offline_context(browser: Browser, base_url: str) -> BrowserContext:
    """A context of its own (its own sessionStorage) that may only reach the server under test."""
    context = await browser.new_context(viewport={"width": 1400, "height": 860}, locale="en-GB",
                                        timezone_id="Europe/London")
    context.set_default_timeout(10_000)
    allowed = urlsplit(base_url).netloc

    async def only_the_server(route: Route) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in ("data", "blob") or parts.netloc == allowed:
            await route.continue_()
        else:
            await route.abort()

    await context.route("**/*", only_the_server)
    return context


async def signed_in_page(context: BrowserContext, base_url: str, token: str) -> Page:
    """Open the inbox with a token in the URL fragment, as `./dev serve`'s link does; wait for the list."""
    page = await context.new_page()
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{base_url}/#token={token}")
    await page.get_by_role("list", name="Threads").get_by_role("listitem").first.wait_for()
    return page
