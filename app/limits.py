"""ASGI middleware refusing request bodies over a size limit with 413, before anything reads them."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 512 * 1024
# An inbound email may be several MiB (signed, but the signature is inside the form: it is read first).
MAX_WEBHOOK_BODY_BYTES = 25 * 1024 * 1024
# SMS webhooks and Mailgun's delivery events are small: their signature is checked after reading the body,
# so the body an unsigned caller can make the server read stays small.
MAX_SMALL_WEBHOOK_BODY_BYTES = 1024 * 1024
LARGE_WEBHOOK_PATHS = ("/webhooks/email",)


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES,
                 webhook_max_bytes: int = MAX_WEBHOOK_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.webhook_max_bytes = webhook_max_bytes

    def limit(self, path: str) -> int:
        if path in LARGE_WEBHOOK_PATHS:
            return self.webhook_max_bytes
        if path.startswith("/webhooks/"):
            return min(MAX_SMALL_WEBHOOK_BODY_BYTES, self.webhook_max_bytes)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        body = {"errors": [{"message": f"Request body over {limit} bytes",
                            "extensions": {"code": "BAD_USER_INPUT"}}]}
        await JSONResponse(body, status_code=413)(scope, receive, send)
