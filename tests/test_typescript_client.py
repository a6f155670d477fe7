"""Typed clients (clients/typescript): GraphQL Code Generator types a frontend's operations from
schema.graphql, `tsc --noEmit` compiles them, and an Apollo Client 4 scenario runs against a live
`inbox serve`: threadUpdated re-sorts the cached list by sortKey, pushes and payloads update the cached
unread counts (UnreadCounts.id), a member's SMS reply lands in the cached history, and a socket closed at
its token's expiry reconnects with a fresh token and resumes without a gap or a duplicate.

Node and npm are needed: the test fails under CI (CI=true) without them and skips elsewhere."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TEST_SECRET, make_club
from tests.inbox_client import global_id
from tests.redis_server import free_port
from tests.servers import PUBLIC_URL, TWILIO_TOKEN

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "clients" / "typescript"
INBOX = Path(sys.executable).parent / "inbox"
STEP_TIMEOUT = 90  # seconds, per npm step; the whole test stays under two minutes once node_modules is installed


def npm() -> str:
    """The npm executable; its absence fails under CI, where the check must run."""
    found = shutil.which("npm")
    if found is None or shutil.which("node") is None:
        message = "node and npm are needed for the TypeScript client check"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(*command: str, env: dict[str, str] | None = None, timeout: float = STEP_TIMEOUT) -> str:
    result = subprocess.run(command, cwd=CLIENT, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                            timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def install(npm_path: str) -> None:
    """`npm ci` when node_modules is missing or older than the lockfile."""
    installed = CLIENT / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < (CLIENT / "package-lock.json").stat().st_mtime:
        run(npm_path, "ci", "--no-audit", "--no-fund", "--loglevel=error")


@pytest.fixture
def inbox_serve(database_url: str, tmp_path: Path) -> Iterator[str]:
    """`inbox serve` on the test database (and the run's Redis, when it has one); yields its base URL."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "INBOX_SECRET_KEY": TEST_SECRET,
           "INBOX_TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "INBOX_PUBLIC_URL": PUBLIC_URL,
           "REDIS_URL": os.environ.get("INBOX_TEST_REDIS_URL", "")}
    log = tmp_path / "serve.log"
    process = subprocess.Popen([str(INBOX), "serve", "--port", str(port), "--no-dispatcher"], env=env,
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            started = process.poll() is None and time.monotonic() < deadline
            assert started, f"inbox serve did not start: {log.read_text()}"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.mark.timeout(240)
async def test_an_apollo_client_keeps_its_cache_exact_from_pushes_and_payloads(
        inbox_serve: str, sessions: async_sessionmaker[AsyncSession]) -> None:
    npm_path = npm()
    club = await make_club(sessions, country="GB")  # two-way SMS: the sms add-on in CA, US or GB
    members = [{"id": global_id("Member", club.member_ids[m]),
                "phone": next(doc.get("phone", "") for doc in club.document["members"] if doc["id"] == m)}
               for m in ("m1", "m2", "m4")]  # m3 has no email address
    await asyncio.to_thread(install, npm_path)
    for script in ("codegen", "build"):  # build: `tsc`, the same type check as `tsc --noEmit`, then the emit
        await asyncio.to_thread(run, npm_path, "run", "--silent", script)
    setup = {"url": inbox_serve, "token": club.token(), "shortToken": club.token(ttl=timedelta(seconds=8)),
             "members": members,
             "sms": {"to": club.document["club"]["smsNumber"], "publicUrl": PUBLIC_URL, "authToken": TWILIO_TOKEN}}
    output = await asyncio.to_thread(run, npm_path, "run", "--silent", "scenario",
                                     env={"INBOX_SCENARIO": json.dumps(setup)}, timeout=70)
    assert "scenario passed" in output and "4403" in output, output
