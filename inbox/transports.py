"""Transports: how one delivery leaves the platform (SMTP, the Twilio REST API, or the log).

A transport returns the provider's message id, or raises `SendFailure` saying whether another
attempt is safe: only when the provider certainly did not take the message (it refused it, or was
never reached). When the outcome is unknown (the connection dropped after the message was handed
over) there is no retry, so a member never receives a message twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlencode, urlsplit

import aiosmtplib
import httpx

from inbox.settings import Settings
from models.base import utcnow

log = logging.getLogger("inbox.transports")

SMS_STATUS_PATH = "/webhooks/sms/status"
TWILIO_MESSAGES = "/2010-04-01/Accounts/{sid}/Messages.json"
# What Twilio's error codes mean (its status callbacks carry the code only).
TWILIO_ERRORS = {
    "21610": "recipient unsubscribed",
    "30001": "queue overflow",
    "30002": "account suspended",
    "30003": "unreachable destination handset",
    "30004": "message blocked",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "carrier filtered",
    "30008": "unknown error",
}


@dataclass(frozen=True)
class Outgoing:
    """One delivery, as a transport needs it."""

    token: str
    channel: str
    to: str
    to_name: str
    club_name: str
    body: str
    subject: str | None = None
    reply_to: str | None = None
    from_number: str | None = None


class SendFailure(Exception):
    """The provider did not take the message; `retry` only when it certainly did not."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class Transport(Protocol):
    async def send(self, outgoing: Outgoing) -> str | None: ...

    async def aclose(self) -> None: ...


# --- reply addresses and message ids: the delivery token routes a reply back -----------------------

def reply_address(inbound_email: str, token: str) -> str:
    """The club's inbound address plus-tagged with a delivery token: riverside+<token>@inbox.example."""
    local, _, domain = inbound_email.rpartition("@")
    return f"{local}+{token}@{domain}"


def split_reply_address(address: str) -> tuple[str, str] | None:
    """(the untagged address, lowercased; the token) of a plus-tagged address, else None."""
    local, _, domain = address.strip().rpartition("@")
    base, plus, token = local.rpartition("+")
    if not (plus and base and token and domain):
        return None
    return f"{base}@{domain}".lower(), token


def message_id_for(token: str, sender: str) -> str:
    """The Message-ID of a delivery's email (without brackets): a reply's In-Reply-To gives the token back."""
    return f"{token}@{sender.rpartition('@')[2]}"


def bare_message_id(value: str | None) -> str | None:
    """A Message-Id header without its angle brackets (and only the first id of a list)."""
    if not value or not value.strip():
        return None
    return value.strip().split()[0].strip("<>") or None


def token_of_message_id(value: str | None) -> str | None:
    """The delivery token a Message-ID of ours carries (see `message_id_for`)."""
    local = (bare_message_id(value) or "").rpartition("@")[0]
    return local or None


def twilio_reason(code: str | int | None, message: str | None = None) -> str:
    """A Twilio failure as "Twilio <code>: <message>", e.g. "Twilio 30007: carrier filtered"."""
    code = str(code) if code not in (None, "") else "?"
    return f"Twilio {code}: {message or TWILIO_ERRORS.get(code, 'failed')}"


# --- email -----------------------------------------------------------------------------------------

def email_message(outgoing: Outgoing, sender: str) -> EmailMessage:
    """A plain-text email with the headers a mail client needs to thread and answer it."""
    message = EmailMessage()
    message["From"] = Address(display_name=outgoing.club_name, addr_spec=sender)
    message["To"] = Address(display_name=outgoing.to_name, addr_spec=outgoing.to)
    message["Subject"] = outgoing.subject or outgoing.club_name
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = f"<{message_id_for(outgoing.token, sender)}>"
    if outgoing.reply_to:
        message["Reply-To"] = outgoing.reply_to
    message.set_content(outgoing.body)
    return message


class _SMTP(aiosmtplib.SMTP):
    """Remembers whether DATA began: a connection lost after that leaves the outcome unknown."""

    data_started = False

    async def data(self, message: str | bytes, /, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.data_started = True
        return await super().data(message, **kwargs)


class SmtpTransport:
    """Email through an SMTP server: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://`."""

    def __init__(self, url: str, sender: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.options: dict[str, Any] = {
            "hostname": parts.hostname, "port": parts.port, "use_tls": parts.scheme == "smtps",
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None, "timeout": timeout,
        }
        self.sender = sender

    async def send(self, outgoing: Outgoing) -> str:
        client = _SMTP(**self.options)
        try:
            message = email_message(outgoing, self.sender)
            async with client:
                await client.send_message(message)
        except aiosmtplib.SMTPResponseException as exc:
            raise SendFailure(f"SMTP {exc.code}: {exc.message}", retry=400 <= exc.code < 500) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            raise SendFailure(f"SMTP {refused.code}: {refused.message}", retry=400 <= refused.code < 500) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            if client.data_started:
                raise SendFailure(f"SMTP connection lost while sending ({exc}): outcome unknown", retry=False) from exc
            raise SendFailure(f"SMTP unreachable: {exc}", retry=True) from exc
        except ValueError as exc:  # an address the message or the envelope cannot carry
            raise SendFailure(f"SMTP invalid address: {exc}", retry=False) from exc
        return message_id_for(outgoing.token, self.sender)

    async def aclose(self) -> None:
        return None


# --- SMS -------------------------------------------------------------------------------------------

class TwilioTransport:
    """SMS through Twilio's Messages API; its status callback carries the delivery token."""

    def __init__(self, account_sid: str, auth_token: str, api_url: str, status_callback: str, timeout: float) -> None:
        self.path = TWILIO_MESSAGES.format(sid=account_sid)
        self.status_callback = status_callback
        self.client = httpx.AsyncClient(base_url=api_url, auth=(account_sid, auth_token), timeout=timeout)

    async def send(self, outgoing: Outgoing) -> str:
        if not outgoing.from_number:
            raise SendFailure("Twilio: the club has no SMS number to send from", retry=False)
        form = {"To": outgoing.to, "From": outgoing.from_number, "Body": outgoing.body,
                "StatusCallback": f"{self.status_callback}?{urlencode({'token': outgoing.token})}"}
        try:
            response = await self.client.post(self.path, data=form)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError,
                httpx.WriteTimeout) as exc:  # the request never reached Twilio whole
            raise SendFailure(f"Twilio unreachable: {exc!r}", retry=True) from exc
        except httpx.HTTPError as exc:
            raise SendFailure(f"Twilio gave no answer ({exc!r}): outcome unknown", retry=False) from exc
        if response.is_success:
            return str(response.json()["sid"])
        try:
            error = response.json()
            code, text = error.get("code") or response.status_code, error.get("message")
        except ValueError:
            code, text = response.status_code, response.reason_phrase
        # Too many requests, or unavailable: not processed. Any other error may have been: no retry.
        raise SendFailure(twilio_reason(code, text), retry=response.status_code in (429, 503))

    async def aclose(self) -> None:
        await self.client.aclose()


# --- nothing configured ----------------------------------------------------------------------------

class LogTransport:
    """Records each delivery as sent in the log, so the demo works offline."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, outgoing: Outgoing) -> None:
        log.info("delivered by the log transport: %s to %s (%s), %d characters%s", self.channel, outgoing.to,
                 outgoing.to_name, len(outgoing.body), f", subject {outgoing.subject!r}" if outgoing.subject else "")

    async def aclose(self) -> None:
        return None


def transports_from_settings(settings: Settings) -> dict[str, Transport]:
    """The transport of each channel: the configured provider, else the log."""
    email: Transport = LogTransport("EMAIL")
    if settings.smtp_url:
        email = SmtpTransport(settings.smtp_url, settings.email_from, settings.send_timeout)
    sms: Transport = LogTransport("SMS")
    if settings.twilio_account_sid and settings.twilio_auth_token:
        sms = TwilioTransport(settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_url,
                              settings.public_url.rstrip("/") + SMS_STATUS_PATH, settings.send_timeout)
    return {"EMAIL": email, "SMS": sms}
