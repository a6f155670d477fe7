"""uvicorn's sans-I/O WebSocket protocol, lighter per idle connection.

uvicorn keeps the handshake's parsed request and its response (their headers) for the connection's
whole life, though nothing reads them once the connection is open; and its receive queue and
"writable" event each hold deques (about 600 bytes apiece) that an idle connection never uses. This
protocol lets the handshake go once it is sent (uvicorn's copy and websockets' parser's), and holds a
future only while someone waits (subscriptions.waiters).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from subscriptions.waiters import Waiters


class ReceiveQueue(Waiters):
    """What uvicorn uses of asyncio.Queue (put_nowait, get, empty), unbounded as its queue is."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        super().__init__()
        self._items: list[Any] = []

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self.wake()

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            await self.wait()
        return self._items.pop(0)


class Flag(Waiters):
    """What uvicorn uses of asyncio.Event (set, clear, wait)."""

    __slots__ = ("_value",)

    def __init__(self) -> None:
        super().__init__()
        self._value = False

    def set(self) -> None:
        self._value = True
        self.wake()

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> None:
        while not self._value:
            await super().wait()


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = ReceiveQueue()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]
        self.writable.set()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and self.request is not None:
            self.request = self.response = None  # type: ignore[assignment]
            self._forget_handshake_parser()

    def _forget_handshake_parser(self) -> None:
        """websockets' parser keeps the handshake request (its headers, about 2 KB) as a local for the
        connection's life: once the connection is open and nothing past the handshake was received,
        a fresh parser (frames only, as the old one is then) replaces it."""
        conn = self.conn
        if conn.state is State.OPEN and not conn.reader.buffer:
            conn.parser = conn.parse()
            next(conn.parser)
