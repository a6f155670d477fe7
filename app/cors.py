"""CORS for the frontends of INBOX_ALLOWED_ORIGINS (operations.md, "Browsers").

Starlette's CORSMiddleware answers actual requests; its preflight answer is replaced, because the
contract is narrower: 204 with exactly GET, POST and Authorization, Content-Type, no credentials, and a
refused origin gets no CORS header at all (Starlette's 400 would still list the allowed methods).
Origins compare as browsers send them (the same normalisation as the WebSocket origin check)."""

from __future__ import annotations

from collections.abc import Collection

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp
from strawberry.http.websocket_origin import normalize_origin

METHODS = ("GET", "POST")
HEADERS = ("Authorization", "Content-Type")
MAX_AGE = 600
VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


class BrowserOrigins(CORSMiddleware):
    def __init__(self, app: ASGIApp, allowed_origins: Collection[str]) -> None:
        origins = {normalize_origin(origin) or origin for origin in allowed_origins}
        super().__init__(app, allow_origins=origins, allow_methods=METHODS, allow_headers=HEADERS, max_age=MAX_AGE)

    def is_allowed_origin(self, origin: str) -> bool:
        return self.allow_all_origins or normalize_origin(origin) in self.allow_origins

    def preflight_response(self, request_headers: Headers) -> Response:
        origin = request_headers["origin"]
        asked = request_headers.get("access-control-request-headers") or ""
        asked_headers = {name.strip().lower() for name in asked.split(",") if name.strip()}
        if (not self.is_allowed_origin(origin) or request_headers["access-control-request-method"] not in METHODS
                or not asked_headers <= {name.lower() for name in HEADERS}):
            return PlainTextResponse("Disallowed CORS request", status_code=400, headers={"Vary": VARY})
        return Response(status_code=204, headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ", ".join(METHODS),
            "Access-Control-Allow-Headers": ", ".join(HEADERS),
            "Access-Control-Max-Age": str(MAX_AGE),
            "Vary": VARY,
        })
