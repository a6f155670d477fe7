"""uvicorn's sans-I/O WebSocket protocol, lighter per idle connection.

uvicorn keeps the handshake's parsed request and its response (their headers) for the connection's
whole life, though nothing reads them once the connection is open; and its receive queue and
"writable" event each hold deques (about 600 bytes apiece) that an idle connection never uses. This
protocol lets the handshake go once it is sent, and holds a future only while someone waits.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class _Waiters:
    """Futures of the coroutines waiting for something, made only while they wait."""

    __slots__ = ("_futures",)

    def __init__(self) -> None:
        self._futures: list[asyncio.Future[None]] | None = None

    async def wait(self) -> None:
        future = asyncio.get_running_loop().create_future()
        if self._futures is None:
            self._futures = []
        self._futures.append(future)
        try:
            await future
        finally:
            if self._futures is not None and future in self._futures:
                self._futures.remove(future)
            if not self._futures:
                self._futures = None

    def wake(self) -> None:
        for future in self._futures or ():
            if not future.done():
                future.set_result(None)


class ReceiveQueue:
    """What uvicorn uses of asyncio.Queue (put_nowait, get, empty), unbounded as its queue is."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiters = _Waiters()

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._waiters.wake()

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            await self._waiters.wait()
        return self._items.pop(0)


class Flag:
    """What uvicorn uses of asyncio.Event (set, clear, wait)."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters = _Waiters()

    def set(self) -> None:
        self._value = True
        self._waiters.wake()

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> None:
        while not self._value:
            await self._waiters.wait()


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
