"""uvicorn's sans-I/O WebSocket protocol, lighter per idle connection.

uvicorn keeps the handshake's parsed request and its response (their headers) for the connection's
whole life, though nothing reads them once the connection is open: a few KB of every idle
subscriber. This protocol lets them go as soon as the handshake is sent.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and self.request is not None:
            self.request = self.response = None  # type: ignore[assignment]
