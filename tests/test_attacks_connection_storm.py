"""Attack: a connection storm (security-and-reliability.md, WebSocket): hundreds of clients connecting at
once with valid tokens to a real `inbox serve` process are all accepted, or told to retry with 1013;
none is refused (4403) nor dropped (1006)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import websockets

from tests.factories import TEST_SECRET, ClubFixture
from tests.redis_server import free_port
from tests.ws_client import PROTOCOL

CONNECTIONS = 300
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[str]:
    """`inbox serve` in a process of its own, with a small database pool (so a storm would exhaust it)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "INBOX_SECRET_KEY": TEST_SECRET}
    if os.environ.get("INBOX_TEST_REDIS_URL"):
        env["REDIS_URL"] = os.environ["INBOX_TEST_REDIS_URL"]
    log = tmp_path / "serve.log"
    process = subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()", "serve", "--port",
                                str(port), "--no-dispatcher"], env=env, cwd=ROOT, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        process.terminate()
        process.wait(timeout=15)


async def _connect(url: str, token: str) -> str:
    """'ack', or the close code the server answered with."""
    try:
        async with websockets.connect(url, subprotocols=[PROTOCOL], open_timeout=60) as connection:
            await connection.send(json.dumps({"type": "connection_init",
                                              "payload": {"Authorization": f"Bearer {token}"}}))
            message = json.loads(await asyncio.wait_for(connection.recv(), 60))
            return message["type"]
    except websockets.ConnectionClosed as closed:
        return str(closed.rcvd.code if closed.rcvd else 1006)


async def test_connection_storm_hundreds_of_concurrent_connects_with_valid_tokens_are_all_accepted(
    serve: str, club: ClubFixture
) -> None:
    # Half share one token, half have one each (each then needs its own lookup).
    tokens = [club.token() if i % 2 else club.token(ttl=timedelta(hours=1, seconds=i)) for i in range(CONNECTIONS)]
    outcomes = await asyncio.gather(*(_connect(serve, token) for token in tokens))
    counts = {outcome: outcomes.count(outcome) for outcome in set(outcomes)}
    assert set(counts) <= {"connection_ack", "1013"}, counts
    assert counts.get("connection_ack", 0) >= CONNECTIONS // 2, counts
