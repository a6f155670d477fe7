"""uvicorn's httptools protocol, writing each response in one socket send.

uvicorn writes a response's status line and headers as soon as the application starts it, then the
body: two sends per request, and on a keep-alive connection each send is a system call that also
wakes the client. A GraphQL response is one body, sent right after its headers: the writes of one
event-loop turn are joined and sent together at the end of that turn (a threads page: one send
instead of two, about 5% of its server CPU; `{ viewer { id } }`: about 10%).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class JoinedWrites:
    """A transport whose writes of one loop turn go out as one write (everything else is the
    transport's own)."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class JoinedWritesHttpProtocol(HttpToolsProtocol):
    """Each request's cycle writes through `JoinedWrites` (the protocol's own writes, error
    responses and upgrades, are untouched)."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and not isinstance(cycle.transport, JoinedWrites):
            cycle.transport = JoinedWrites(cycle.transport, self.loop)  # type: ignore[assignment]
