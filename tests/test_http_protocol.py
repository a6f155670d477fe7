"""`inbox serve` writes each HTTP response in one socket send (app/http_protocol.py): uvicorn's own
protocol sends the head and the body apart. Counted on a real socket served by the real protocol."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from app.http_protocol import JoinedWritesHttpProtocol


class CountingSocket(socket.socket):
    """A socket that counts the sends the transport makes on it."""

    sends = 0

    def send(self, data: Any, flags: int = 0) -> int:
        CountingSocket.sends += 1
        return super().send(data, flags)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    body = b'{"data":{"viewer":{"id":"x"}}}' * (1 if scope["path"] == "/small" else 4000)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _exchange(protocol_class: type[HttpToolsProtocol], paths: list[str]) -> tuple[int, list[bytes]]:
    """Sends per response, and the responses, for keep-alive requests of these paths on one connection."""
    loop = asyncio.get_running_loop()
    config = uvicorn.Config(app, lifespan="off", access_log=False)
    config.load()
    server_side, client = socket.socketpair()
    counting = CountingSocket(fileno=server_side.detach())
    await loop.connect_accepted_socket(lambda: protocol_class(config, ServerState(), {}, _loop=loop), counting)
    client.setblocking(False)
    CountingSocket.sends = 0
    responses = []
    for path in paths:
        await loop.sock_sendall(client, f"GET {path} HTTP/1.1\r\nhost: test\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received or len(received) < _expected_length(received):
            received += await asyncio.wait_for(loop.sock_recv(client, 1 << 16), 5)
        responses.append(received)
    client.close()
    return CountingSocket.sends, responses


def _expected_length(received: bytes) -> int:
    head, _, _ = received.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
    return len(head) + 4 + length


@pytest.mark.parametrize(("protocol_class", "sends_per_response"),
                         [(JoinedWritesHttpProtocol, 1), (HttpToolsProtocol, 2)])
async def test_a_response_is_one_socket_send(protocol_class: type[HttpToolsProtocol], sends_per_response: int) -> None:
    sends, responses = await _exchange(protocol_class, ["/small"] * 5)
    assert sends == 5 * sends_per_response
    assert all(response.startswith(b"HTTP/1.1 200 OK") and response.endswith(b'"x"}}}') for response in responses)


async def test_a_large_response_arrives_whole_after_a_small_one() -> None:
    _, responses = await _exchange(JoinedWritesHttpProtocol, ["/small", "/large", "/small"])
    assert [len(response.partition(b"\r\n\r\n")[2]) for response in responses] == [30, 120_000, 30]
