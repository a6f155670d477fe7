"""The /graphql endpoint: strawberry's ASGI view with our authentication and HTTP semantics."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import sys
from collections.abc import Hashable
from datetime import timedelta
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation

from app.expiry import Expiries
from app.graphiql import graphiql_page
from inbox.auth import Principal, authenticate, bearer_value
from inbox.errors import DomainError, ServiceUnavailable, Unauthenticated
from inbox.principals import PrincipalCache
from resolvers.context import Context, Services
from schema.errors import is_unavailable
from subscriptions.grouping import CURRENT_SINK, SharedEvent

log = logging.getLogger("inbox.graphql")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
STATUS_BY_CODE = {"UNAUTHENTICATED": 401, "RATE_LIMITED": 429, "SERVICE_UNAVAILABLE": 503}
_REQUEST_PREFIX, _REQUEST_NUMBERS = os.urandom(4).hex(), itertools.count(1)


def new_request_id() -> str:
    """16 hex digits: the process's random half, then its request number (a uuid4 per request cost
    more than the rest of a small request's bookkeeping)."""
    return f"{_REQUEST_PREFIX}{next(_REQUEST_NUMBERS) & 0xFFFFFFFF:08x}"


def error_body(code: str, message: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


class _RetryLater(ConnectionRejectionError):
    """Authentication could not be done now (the database is busy or down): the client should retry."""


def _frame_problem(message: object) -> str | None:
    """Why a JSON frame is not a graphql-transport-ws message (None when its shape is right)."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "A message must be a JSON object with a string `type`"
    kind = message["type"]
    if kind in ("connection_init", "ping", "pong"):
        return None if isinstance(message.get("payload"), dict | None) else "`payload` must be an object"
    if not isinstance(message.get("id"), str):
        return None if kind not in ("subscribe", "complete") else "`id` must be a string"
    if kind != "subscribe":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return "`payload` must be an object with a string `query`"
    if not isinstance(payload.get("variables"), dict | None) or not isinstance(payload.get("extensions"), dict | None):
        return "`variables` and `extensions` must be objects"
    return None if isinstance(payload.get("operationName"), str | None) else "`operationName` must be a string"


class _OperationSink:
    """An operation's frames as a group's subscriber sends them (subscriptions.grouping.FrameSink)."""

    __slots__ = ("handler", "operation", "current")

    def __init__(self, handler: TransportWSHandler, operation: Operation[Context, None]) -> None:
        self.handler = handler
        self.operation = operation
        self.current: tuple[SharedEvent, Hashable] | None = None

    async def send_payload(self, payload: str) -> None:
        """As strawberry sends a `next` (nothing once the operation completed); a connection gone
        meanwhile ends the operation as its handler would (cancelled), without another frame."""
        operation = self.operation
        if operation.completed:
            return
        websocket: Any = self.handler.websocket
        try:
            await websocket.ws.send_text(next_frame(operation.id, payload))
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise asyncio.CancelledError() from exc


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with every malformed frame closed by 4400 (the protocol's "invalid message"),
    and 1013 (try again later) when authentication cannot be done now; each operation's task has its
    sink, through which a subscription sends the frames its group shares."""

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        CURRENT_SINK.set(_OperationSink(self, operation))  # the operation's own task: its context only
        await super().run_operation(operation)

    async def handle_message(self, message: Any) -> None:
        problem = _frame_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        if message["type"] == "subscribe":  # its operation keeps the document's text: one copy for all
            message["payload"]["query"] = sys.intern(message["payload"]["query"])
        await super().handle_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except _RetryLater:
            await self.websocket.close(code=1013, reason="Try again later")
        self.connection_init_timeout_task = None  # cancelled by now: an idle connection keeps no done task


class InboxGraphQL(GraphQL[Context, None]):
    """Authenticates every HTTP request (bearer staff token or API key) and every WebSocket
    (`connection_init`), and builds the one context through which the principal reaches resolvers."""

    def __init__(self, schema: BaseSchema, services: Services) -> None:
        settings = services.settings
        protocols = [GRAPHQL_TRANSPORT_WS_PROTOCOL]
        super().__init__(
            schema,
            graphql_ide=None if settings.is_production else "graphiql",
            subscription_protocols=protocols + ([GRAPHQL_WS_PROTOCOL] if settings.legacy_graphql_ws else []),
            connection_init_wait_timeout=timedelta(seconds=5),
            max_subscriptions_per_connection=20,
            allowed_origins=settings.allowed_origins,
        )
        self.services = services
        self.signing_key = settings.signing_key()
        self.principals = PrincipalCache()
        self.expiries = Expiries()

    graphql_transport_ws_handler_class = TransportWSHandler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        request_id = new_request_id()
        response = await self._handle_http(request, request_id)
        response.headers["X-Request-Id"] = request_id
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql_page())

    async def _handle_http(self, request: Request, request_id: str) -> Response:
        if self._wants_ide(request):
            return await self.run(request, context=Context(services=self.services, request=request))
        try:
            principal = await self._authenticate(request.headers.get("authorization"))
            context = Context(services=self.services, principal=principal, request=request, request_id=request_id)
            await self._load_club(context)  # nearly every resolver needs it: loaded once, before they run
        except DomainError as exc:
            status = STATUS_BY_CODE.get(exc.code, 400)
            return JSONResponse(error_body(exc.code, str(exc)), status_code=status)
        context.fresh_loaders()
        try:
            response = await self.run(request, context=context)
        except HTTPException as exc:
            return JSONResponse(error_body("BAD_REQUEST", exc.reason), status_code=exc.status_code)
        if GRAPHQL_RESPONSE_JSON in request.headers.get("accept", ""):
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
            if getattr(request.state, "request_error", False):
                response.status_code = 400
        return response

    def _wants_ide(self, request: Request) -> bool:
        return (
            self.graphql_ide is not None
            and request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
        )

    async def _authenticate(self, authorization: str | None) -> Principal:
        credential = bearer_value(authorization)
        if credential is None:
            raise Unauthenticated("Authentication required: send 'Authorization: Bearer <token>'")
        return await self.principals.authenticate(credential, self._look_up)

    async def _look_up(self, credential: str) -> Principal:
        try:
            async with self.services.sessions() as session:
                return await authenticate(session, self.signing_key, credential)
        except DomainError:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                raise ServiceUnavailable("Service unavailable, try again shortly") from exc
            raise

    @staticmethod
    async def _load_club(context: Context) -> None:
        try:
            await context.club()
        except Exception as exc:
            if is_unavailable(exc):
                raise ServiceUnavailable("Service unavailable, try again shortly") from exc
            raise

    def decode_json(self, data: str | bytes) -> object:
        """JSON as the protocols read it; nesting beyond the parser's depth is invalid JSON like any other."""
        try:
            return json.loads(data)
        except RecursionError as exc:
            raise json.JSONDecodeError("JSON nested too deeply", "", 0) from exc

    def parse_json(self, data: str | bytes) -> Any:
        """A request body must be a JSON object (an array is a batch, refused as such): anything else,
        invalid UTF-8 or nesting beyond the parser's depth is 400 BAD_REQUEST, never a 500."""
        try:
            value = self.decode_json(data)
        except ValueError as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        if not isinstance(value, dict | list):
            raise HTTPException(400, "Expected a JSON object")
        return value

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        # Only WebSockets get here (HTTP passes its context to run()); the principal is set by
        # on_ws_connect from the connection_init payload.
        return Context(services=self.services, request=request, response=response)

    async def on_ws_connect(self, context: Context) -> dict[str, object]:
        params = context.connection_params or {}
        context.connection_params = None  # read here only: an idle connection keeps no copy of its token
        authorization = next((v for k, v in params.items() if k.lower() == "authorization"), None)
        try:
            # Only the (cached) principal: a storm of connections must not queue on the database pool.
            principal = await self._authenticate(authorization if isinstance(authorization, str) else None)
        except ServiceUnavailable as exc:
            raise _RetryLater() from exc
        except DomainError as exc:
            raise ConnectionRejectionError() from exc
        if not principal.is_staff:
            raise ConnectionRejectionError()
        context.principal = principal
        if principal.expires_at is not None and isinstance(context.request, WebSocket):
            self.expiries.close_at(context.request, principal.expires_at)
        expires_at = principal.expires_at.isoformat() if principal.expires_at else None
        return {"expiresAt": expires_at}

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        """strawberry's response, with its body encoded straight to bytes (text would be encoded again)."""
        response = Response(dumps_bytes(response_data), status_code=sub_response.status_code or 200,
                            media_type="application/json")
        response.headers.raw.extend(sub_response.headers.raw)
        response.background = sub_response.background
        if isinstance(response_data, dict) and response_data.get("data") is None:
            for error in response_data.get("errors") or []:
                extensions = (error.get("extensions") if isinstance(error, dict) else None) or {}
                status = STATUS_BY_CODE.get(extensions.get("code", ""))
                if status:
                    response.status_code = status
                    if "retryAfter" in extensions:
                        response.headers["Retry-After"] = str(extensions["retryAfter"])
                    break
        return response

    async def process_result(self, request: Request, result: Any) -> GraphQLHTTPResponse:
        data = await super().process_result(request, result)
        if GRAPHQL_RESPONSE_JSON in request.headers.get("accept", "") and data.get("data") is None and result.errors:
            if all(error.path is None for error in result.errors):
                request.state.request_error = True
                data.pop("data", None)
        return data

    def encode_json(self, data: object) -> str:
        """A subscription frame of a result shared by a group of subscribers has its payload encoded
        once for the group (subscriptions.grouping); everything else is encoded by `dumps`."""
        sink = CURRENT_SINK.get()
        if sink is not None and sink.current is not None and isinstance(data, dict) and data.get("type") == "next":
            payload = data.get("payload")
            if data.keys() == _NEXT_KEYS and isinstance(payload, dict) and payload.keys() <= _DATA_EXTENSIONS:
                event, key = sink.current
                encoded = event.encoded(key, payload.get("data"), payload, dumps)
                if encoded is not None:
                    return next_frame(data["id"], encoded)
        return dumps(data)


def next_frame(operation_id: object, payload: str) -> str:
    """A graphql-transport-ws `next` frame around an encoded payload (as `dumps` would write it)."""
    return f'{{"id":{dumps(operation_id)},"type":"next","payload":{payload}}}'


def dumps(data: object) -> str:
    """JSON text for WebSocket frames (strawberry sends bytes as binary frames, which
    graphql-transport-ws clients refuse)."""
    return dumps_bytes(data).decode()


def dumps_bytes(data: object) -> bytes:
    """orjson: a threads page's body in a tenth of the standard library's time; what it cannot
    encode (an integer beyond 64 bits) goes the standard way."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":")).encode()


_NEXT_KEYS, _DATA_EXTENSIONS = {"id", "type", "payload"}, {"data", "extensions"}
