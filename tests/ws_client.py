"""A real graphql-transport-ws client over the network (the `websockets` library), and a live server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
import websockets

from app.cli import WEBSOCKET_SETTINGS

PROTOCOL = "graphql-transport-ws"


class GraphQLWebSocket:
    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.ack: dict[str, Any] | None = None
        self._ids = 0
        self._pending: list[dict[str, Any]] = []  # received for another operation than the one awaited

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str, token: str | None, *, init: bool = True,
                   origin: str | None = None) -> AsyncIterator[GraphQLWebSocket]:
        headers = {"Origin": origin} if origin else None
        async with websockets.connect(url, subprotocols=[PROTOCOL], additional_headers=headers,
                                      max_size=None) as connection:
            client = cls(connection)
            if init:
                await client.send({"type": "connection_init",
                                   "payload": {"Authorization": f"Bearer {token}"} if token else {}})
                client.ack = await client.receive()
            yield client

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, timeout: float = 5.0, operation_id: str | None = None) -> dict[str, Any]:
        """The next message (of one operation, when given; the others wait their turn)."""
        for i, message in enumerate(self._pending):
            if operation_id is None or message.get("id") == operation_id:
                return self._pending.pop(i)
        while True:
            frame = await asyncio.wait_for(self.connection.recv(), timeout)
            assert isinstance(frame, str), f"graphql-transport-ws messages are text frames, not {frame!r}"
            message = json.loads(frame)
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            if operation_id is not None and message.get("id") != operation_id:
                self._pending.append(message)
                continue
            return message

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._ids += 1
        operation_id = str(self._ids)
        await self.send({"id": operation_id, "type": "subscribe",
                         "payload": {"query": query, "variables": variables or {}}})
        return operation_id

    async def next(self, operation_id: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        """The next `next` payload (of one operation, when given)."""
        message = await self.receive(timeout, operation_id)
        assert message["type"] == "next", message
        return message["payload"]

    async def nothing_for(self, seconds: float) -> None:
        """Assert that no message arrives for a while."""
        assert not self._pending, self._pending
        try:
            message = await self.receive(seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {message}")

    async def close_code(self, timeout: float = 10.0) -> int | None:
        """Wait for the server to close the connection; its close code."""
        try:
            while True:
                await asyncio.wait_for(self.connection.recv(), timeout)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


@asynccontextmanager
async def live_server(app: Any) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a free local port (as `inbox serve` does); yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=2, **WEBSOCKET_SETTINGS)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
