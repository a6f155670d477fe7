"""Attack: a connection storm (security-and-reliability.md, WebSocket): hundreds of clients connecting at
once with valid tokens to a real `inbox serve` process are all accepted, or told to retry with 1013;
none is refused (4403) nor dropped (1006)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import websockets

from tests.factories import ClubFixture
from tests.serve_process import inbox_serve
from tests.ws_client import PROTOCOL

CONNECTIONS = 300


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[str]:
    with inbox_serve(database_url, tmp_path / "serve.log") as address:
        yield f"ws://{address}/graphql"


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
