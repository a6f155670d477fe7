"""The providers' webhooks: thin HTTP adapters over `inbox.inbound`, which verifies and stores.

A valid request answers 2xx whatever became of it (stored, duplicate, unknown sender), so the
provider does not retry forever; a bad signature answers 403 and stores nothing; a database that is
down answers 503, so the provider retries later.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from inbox import inbound
from inbox.transports import SMS_STATUS_PATH
from resolvers.context import Services
from schema.errors import is_unavailable

log = logging.getLogger("inbox.webhooks")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _services(request: Request) -> Services:
    return request.app.state.services


def _public_url(request: Request, services: Services) -> str:
    """The URL the provider called, as it signed it: the public base URL, path and query."""
    query = f"?{request.url.query}" if request.url.query else ""
    return services.settings.public_url.rstrip("/") + request.url.path + query


async def _form_fields(request: Request) -> list[tuple[str, str]]:
    """The text fields of a form post (attachments are not kept)."""
    async with request.form() as form:
        return [(name, value) for name, value in form.multi_items() if isinstance(value, str)]


async def _answer(request: Request, handle: Callable[[], Awaitable[inbound.Outcome]],
                  respond: Callable[[inbound.Outcome], Response]) -> Response:
    try:
        outcome = await handle()
    except inbound.InvalidSignature as exc:
        log.warning("webhook %s refused: %s", request.url.path, exc)
        return PlainTextResponse("Forbidden", status_code=403)
    except inbound.BadWebhook as exc:
        return PlainTextResponse(str(exc), status_code=400)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        log.warning("webhook %s: service unavailable: %r", request.url.path, exc)
        return PlainTextResponse("Service unavailable", status_code=503, headers={"Retry-After": "30"})
    log.info("webhook %s: %s", request.url.path, outcome)
    return respond(outcome)


def _twiml(outcome: inbound.Outcome) -> Response:
    return Response(EMPTY_TWIML, media_type="text/xml")


def _no_content(outcome: inbound.Outcome) -> Response:
    return Response(status_code=204)


def _json(outcome: inbound.Outcome) -> Response:
    return JSONResponse({"status": outcome.value})


async def sms(request: Request) -> Response:
    services = _services(request)
    fields = await _form_fields(request)
    return await _answer(request, lambda: inbound.receive_sms(
        services.sessions, auth_token=services.settings.twilio_auth_token, url=_public_url(request, services),
        fields=fields, signature=request.headers.get("x-twilio-signature"), bus=services.bus,
    ), _twiml)


async def sms_status(request: Request) -> Response:
    services = _services(request)
    fields = await _form_fields(request)
    return await _answer(request, lambda: inbound.receive_sms_status(
        services.sessions, auth_token=services.settings.twilio_auth_token, url=_public_url(request, services),
        fields=fields, signature=request.headers.get("x-twilio-signature"), on_change=services.delivery_changes.touch,
    ), _no_content)


async def email(request: Request) -> Response:
    services = _services(request)
    fields = await _form_fields(request)
    return await _answer(request, lambda: inbound.receive_email(
        services.sessions, signing_key=services.settings.mailgun_signing_key, fields=fields, bus=services.bus,
    ), _json)


async def email_events(request: Request) -> Response:
    services = _services(request)
    try:
        payload = json.loads(await request.body())
    except (ValueError, RecursionError):  # invalid UTF-8 or JSON, nesting beyond the parser's depth
        payload = None  # no signature to verify: refused as such
    return await _answer(request, lambda: inbound.receive_email_event(
        services.sessions, signing_key=services.settings.mailgun_signing_key, payload=payload,
        on_change=services.delivery_changes.touch,
    ), _json)


routes = [
    Route("/webhooks/sms", sms, methods=["POST"]),
    Route(SMS_STATUS_PATH, sms_status, methods=["POST"]),
    Route("/webhooks/email", email, methods=["POST"]),
    Route("/webhooks/email/events", email_events, methods=["POST"]),
]
