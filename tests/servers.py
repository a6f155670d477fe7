"""Real servers and real signatures for the channel tests.

- `SmtpServer`: aiosmtpd on 127.0.0.1, recording what it accepts; it can answer chosen replies to
  chosen recipients, and hold a message's final reply (to kill a dispatcher in the middle of a send).
- `TwilioServer`: a local HTTP server (Starlette under uvicorn) speaking Twilio's Messages API.
- The providers' signatures, computed here the way the providers document them (not with our code).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.factory import create_app
from inbox.settings import Settings
from tests.factories import TEST_SECRET

PUBLIC_URL = "https://inbox.example"
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-test-auth-token"
MAILGUN_KEY = "mailgun-test-signing-key"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- SMTP ------------------------------------------------------------------------------------------

@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SmtpHandler:
    received: list[Received] = field(default_factory=list)
    # Replies to give instead of accepting, per recipient, one per message (e.g. "451 4.3.0 later").
    answers: dict[str, list[str]] = field(default_factory=dict)
    logins: list[str] = field(default_factory=list)
    # Hold the final reply of every message from the `hold_from`-th accepted on, until released.
    hold_from: int | None = None
    held: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        answers = self.answers.get(envelope.rcpt_tos[0])
        if answers:
            return answers.pop(0)
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        while self.hold_from is not None and len(self.received) >= self.hold_from:
            self.held.set()
            await asyncio.sleep(0.01)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append(f"{data.login.decode()}:{data.password.decode()}")
        return AuthResult(success=True)

    def reset(self) -> None:
        self.received.clear()
        self.answers.clear()
        self.logins.clear()
        self.hold_from = None
        self.held.clear()


class SmtpServer:
    """aiosmtpd in its own thread, on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.handler = SmtpHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     authenticator=self.handler.authenticate, auth_require_tls=False)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.handler.hold_from = None
        self.controller.stop()


# --- Twilio ----------------------------------------------------------------------------------------

class TwilioServer:
    """Twilio's Messages API on a free port: records each message it accepts (with its sid)."""

    def __init__(self, account_sid: str = TWILIO_SID, auth_token: str = TWILIO_TOKEN) -> None:
        self.auth = (account_sid, auth_token)
        self.accepted: list[dict[str, str]] = []
        # Answers to give instead of accepting, per `To`, one per request: (HTTP status, JSON body).
        self.answers: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self.port = free_port()
        app = Starlette(routes=[Route("/2010-04-01/Accounts/{sid}/Messages.json", self.messages, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def messages(self, request: Request) -> JSONResponse:
        expected = "Basic " + base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
        if request.path_params["sid"] != self.auth[0] or request.headers.get("authorization") != expected:
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
        form = {name: str(value) for name, value in (await request.form()).items()}
        answers = self.answers.get(form.get("To", ""))
        if answers:
            status, body = answers.pop(0)
            return JSONResponse(body, status_code=status)
        sid = f"SM{uuid.uuid4().hex}"
        self.accepted.append({**form, "sid": sid})
        return JSONResponse({"sid": sid, "status": "queued", "to": form.get("To"), "from": form.get("From"),
                             "body": form.get("Body")}, status_code=201)

    def reset(self) -> None:
        self.accepted.clear()
        self.answers.clear()

    async def __aenter__(self) -> TwilioServer:
        self.task = asyncio.create_task(self.server.serve())
        deadline = time.monotonic() + 5
        while not self.server.started:
            assert time.monotonic() < deadline, "the fake Twilio server did not start"
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task


# --- the providers' signatures ---------------------------------------------------------------------

def twilio_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str = TWILIO_TOKEN) -> str:
    """Twilio's documented scheme: the URL, then each POST parameter's name and value sorted by name,
    HMAC-SHA1 with the auth token, base64."""
    data = url + "".join(f"{name}{value}" for name, value in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def mailgun_signed(*, key: str = MAILGUN_KEY, timestamp: int | None = None, token: str | None = None) -> dict[str, str]:
    """Mailgun's documented scheme: HMAC-SHA256 (hex) of timestamp + token with the signing key."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    token = token or uuid.uuid4().hex + uuid.uuid4().hex[:18]
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return {"timestamp": stamp, "token": token, "signature": signature}


# --- a database of their own, an app with the channels configured, the command line ----------------

# --- an app with the channels configured -----------------------------------------------------------

def channel_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": database_url, "INBOX_SECRET_KEY": TEST_SECRET, "REDIS_URL": None,
        "INBOX_PUBLIC_URL": PUBLIC_URL, "INBOX_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "INBOX_MAILGUN_SIGNING_KEY": MAILGUN_KEY, "INBOX_DISPATCH_BACKOFF": 0,
        "INBOX_DISPATCH_POLL_INTERVAL": 0.05, "INBOX_SEND_TIMEOUT": 5,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def running_app(settings: Settings, *, run_dispatcher: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, and an HTTP client to it (base URL http://testserver)."""
    app = create_app(settings, run_dispatcher=run_dispatcher)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            yield client


async def post_sms(client: httpx.AsyncClient, path: str = "/webhooks/sms", *, query: str = "",
                   signature: str | None = None, **params: str) -> httpx.Response:
    """POST a Twilio webhook, signed over the public URL unless `signature` is given."""
    url = f"{PUBLIC_URL}{path}{'?' + query if query else ''}"
    signature = twilio_signature(url, params.items()) if signature is None else signature
    return await client.post(f"{path}{'?' + query if query else ''}", data=params,
                             headers={"X-Twilio-Signature": signature})


async def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    """Poll an async predicate until it holds (bounded)."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def inbox_command(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """`inbox ARGS` in a process of its own, with `env` added to the environment."""
    return subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", *args], env={**os.environ, **env},
        cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
