"""Transports against real servers: SMTP (aiosmtpd) and a local server speaking Twilio's API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest

from inbox.settings import Settings
from inbox.transports import (
    LogTransport,
    Outgoing,
    SendFailure,
    SmtpTransport,
    TwilioTransport,
    reply_address,
    split_reply_address,
    token_of_message_id,
    transports_from_settings,
)
from tests.servers import PUBLIC_URL, TWILIO_SID, TWILIO_TOKEN, SmtpServer, TwilioServer, free_port

EMAIL = Outgoing(token="tok-EN_123", channel="EMAIL", to="heloise@example.com", to_name="Héloïse Dupont",
                 club_name="Riverside Fitness", body="Bonjour Héloïse,\nclass is at 6pm.", subject="Yoga",
                 reply_to="riverside+tok-EN_123@inbox.example")
SMS = Outgoing(token="tok-SMS", channel="SMS", to="+447700900001", to_name="Zoë O'Brien", club_name="Riverside",
               body="Class cancelled", from_number="+447700900123")
STATUS_CALLBACK = f"{PUBLIC_URL}/webhooks/sms/status"


@pytest.fixture
async def twilio(twilio_server: TwilioServer) -> AsyncIterator[TwilioTransport]:
    twilio_server.reset()
    transport = TwilioTransport(TWILIO_SID, TWILIO_TOKEN, twilio_server.url, STATUS_CALLBACK, timeout=5)
    yield transport
    await transport.aclose()


def test_a_reply_address_is_the_clubs_inbound_address_plus_tagged_with_the_token() -> None:
    assert reply_address("riverside@inbox.example", "AbC-_9") == "riverside+AbC-_9@inbox.example"
    assert split_reply_address("Riverside+AbC-_9@Inbox.Example") == ("riverside@inbox.example", "AbC-_9")
    assert split_reply_address("riverside@inbox.example") is None
    assert split_reply_address("club+desk+AbC@inbox.example") == ("club+desk@inbox.example", "AbC")
    assert token_of_message_id("<AbC-_9@inbox.example>") == "AbC-_9"


async def test_an_email_goes_out_as_plain_text_with_threading_and_reply_headers(smtp: SmtpServer) -> None:
    transport = SmtpTransport(smtp.url, "desk@inbox.example", timeout=5)
    provider_id = await transport.send(EMAIL)
    [received] = smtp.received
    message = received.message
    assert received.mail_from == "desk@inbox.example" and received.rcpt_tos == ["heloise@example.com"]
    assert message["From"] == "Riverside Fitness <desk@inbox.example>"
    assert message["To"] == "Héloïse Dupont <heloise@example.com>"
    assert message["Subject"] == "Yoga"
    assert message["Reply-To"] == "riverside+tok-EN_123@inbox.example"
    assert message["Message-ID"] == "<tok-EN_123@inbox.example>" and provider_id == "tok-EN_123@inbox.example"
    assert message["Date"] is not None and message["Date"].datetime.tzinfo is not None
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    assert message.get_content().replace("\r\n", "\n") == "Bonjour Héloïse,\nclass is at 6pm.\n"


async def test_smtp_credentials_from_the_url_are_used(smtp: SmtpServer) -> None:
    transport = SmtpTransport(f"smtp://desk%40club:s3cr%2Ft@127.0.0.1:{smtp.port}", "desk@inbox.example", 5)
    await transport.send(EMAIL)
    assert smtp.handler.logins == ["desk@club:s3cr/t"]


@pytest.mark.parametrize(("answer", "reason", "retry"), [
    ("451 4.3.0 Try again later", "SMTP 451: 4.3.0 Try again later", True),
    ("550 5.1.1 No such user", "SMTP 550: 5.1.1 No such user", False),
])
async def test_an_smtp_refusal_says_the_code_and_retries_only_temporary_ones(
    smtp: SmtpServer, answer: str, reason: str, retry: bool
) -> None:
    smtp.handler.answers[EMAIL.to] = [answer]
    with pytest.raises(SendFailure) as failure:
        await SmtpTransport(smtp.url, "desk@inbox.example", timeout=5).send(EMAIL)
    assert (failure.value.reason, failure.value.retry) == (reason, retry)
    assert smtp.received == []


async def test_an_unreachable_smtp_server_is_retried() -> None:
    with pytest.raises(SendFailure) as failure:
        await SmtpTransport(f"smtp://127.0.0.1:{free_port()}", "desk@inbox.example", timeout=2).send(EMAIL)
    assert failure.value.retry and failure.value.reason.startswith("SMTP unreachable")


async def test_an_sms_goes_to_twilio_with_the_clubs_number_and_a_status_callback_carrying_the_token(
    twilio_server: TwilioServer, twilio: TwilioTransport
) -> None:
    sid = await twilio.send(SMS)
    [accepted] = twilio_server.accepted
    assert accepted["sid"] == sid
    assert (accepted["To"], accepted["From"], accepted["Body"]) == ("+447700900001", "+447700900123", "Class cancelled")
    callback = urlsplit(accepted["StatusCallback"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == STATUS_CALLBACK
    assert parse_qs(callback.query) == {"token": ["tok-SMS"]}


@pytest.mark.parametrize(("status", "body", "reason", "retry"), [
    (400, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400},
     "Twilio 21211: The 'To' number is not a valid phone number.", False),
    (429, {"code": 20429, "message": "Too Many Requests", "status": 429}, "Twilio 20429: Too Many Requests", True),
    (503, {"code": 20503, "message": "Service unavailable", "status": 503}, "Twilio 20503: Service unavailable",
     True),
    (500, {"code": 20500, "message": "Internal Server Error", "status": 500}, "Twilio 20500: Internal Server Error",
     False),
])
async def test_a_twilio_error_says_the_providers_code_and_retries_only_what_was_certainly_not_sent(
    twilio_server: TwilioServer, twilio: TwilioTransport, status: int, body: dict, reason: str, retry: bool
) -> None:
    twilio_server.answers[SMS.to] = [(status, body)]
    with pytest.raises(SendFailure) as failure:
        await twilio.send(SMS)
    assert (failure.value.reason, failure.value.retry) == (reason, retry)


async def test_an_unreachable_twilio_is_retried() -> None:
    transport = TwilioTransport(TWILIO_SID, TWILIO_TOKEN, f"http://127.0.0.1:{free_port()}", STATUS_CALLBACK, 2)
    try:
        with pytest.raises(SendFailure) as failure:
            await transport.send(SMS)
    finally:
        await transport.aclose()
    assert failure.value.retry and failure.value.reason.startswith("Twilio unreachable")


async def test_wrong_twilio_credentials_fail_without_retry(twilio_server: TwilioServer) -> None:
    transport = TwilioTransport(TWILIO_SID, "wrong-token", twilio_server.url, STATUS_CALLBACK, 5)
    try:
        with pytest.raises(SendFailure) as failure:
            await transport.send(SMS)
    finally:
        await transport.aclose()
    assert (failure.value.reason, failure.value.retry) == ("Twilio 20003: Authenticate", False)


async def test_a_club_without_an_sms_number_cannot_send_sms(twilio: TwilioTransport) -> None:
    with pytest.raises(SendFailure) as failure:
        await twilio.send(Outgoing(**{**SMS.__dict__, "from_number": None}))
    assert not failure.value.retry and "no SMS number" in failure.value.reason


def test_with_nothing_configured_both_channels_use_the_log_transport() -> None:
    transports = transports_from_settings(Settings(DATABASE_URL="sqlite+aiosqlite:///unused.db"))
    assert all(isinstance(t, LogTransport) for t in transports.values())
    configured = transports_from_settings(Settings(
        DATABASE_URL="sqlite+aiosqlite:///unused.db", INBOX_SMTP_URL="smtp://127.0.0.1:2525",
        INBOX_TWILIO_ACCOUNT_SID=TWILIO_SID, INBOX_TWILIO_AUTH_TOKEN=TWILIO_TOKEN))
    assert isinstance(configured["EMAIL"], SmtpTransport) and isinstance(configured["SMS"], TwilioTransport)


async def test_the_log_transport_records_a_delivery_as_sent(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="inbox.transports")
    assert await LogTransport("EMAIL").send(EMAIL) is None
    assert "delivered by the log transport: EMAIL to heloise@example.com" in caplog.text
