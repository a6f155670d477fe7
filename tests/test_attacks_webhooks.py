"""Attack: webhooks of every shape (security-and-reliability.md, Webhooks): a validly signed request of
an unexpected shape (missing or odd fields, NUL bytes, over-long ids) answers 2xx or 400, never 5xx (a
provider retries 5xx forever); the unsigned path refuses before parsing anything large."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Message, UnmatchedInbound
from tests.factories import ClubFixture, make_club
from tests.servers import channel_settings, mailgun_signed, post_sms, running_app

Sessions = async_sessionmaker[AsyncSession]
HELOISE = "+33612345678"


@pytest.fixture(scope="module")
async def hooks(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(channel_settings(database_url)) as client:
        yield client


@pytest.fixture
async def gb_club(sessions: Sessions) -> ClubFixture:
    return await make_club(sessions, country="GB")


def _ok(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    assert response.status_code in (200, 204, 400), (response.status_code, response.text)


def sms_shapes(to: str) -> list[dict[str, str]]:
    return [
        {},  # nothing but the signature
        {"From": HELOISE},
        {"From": HELOISE, "To": to},  # no MessageSid
        {"From": HELOISE, "To": to, "Body": "nul\x00byte", "MessageSid": "SM-nul-1"},
        {"From": "\x00", "To": to + "\x00", "Body": "x", "MessageSid": "SM-nul-2"},
        {"From": HELOISE, "To": to, "Body": "long id", "MessageSid": "SM" + "9" * 5000},
        {"From": "+" + "1" * 5000, "To": to, "Body": "long sender", "MessageSid": "SM-long-from"},
        {"From": HELOISE, "To": "+" + "4" * 5000, "Body": "long recipient", "MessageSid": "SM-long-to"},
        {"From": HELOISE, "To": to, "Body": "b" * 200_000, "MessageSid": "SM-long-body"},
        {"From": HELOISE, "To": to, "Body": "STOP\x00", "MessageSid": "SM-stop-nul"},
        {"From": HELOISE, "To": to, "Body": "", "MessageSid": "   "},
    ]


async def test_webhooks_every_shape_of_a_signed_sms_answers_2xx_or_400(
    hooks: httpx.AsyncClient, gb_club: ClubFixture, sessions: Sessions
) -> None:
    to = gb_club.document["club"]["smsNumber"]
    for fields in sms_shapes(to):
        _ok(await post_sms(hooks, **fields))
    async with sessions() as session:
        bodies = list((await session.scalars(select(Message.body).where(Message.club_id == gb_club.club_id))).all())
    assert "nulbyte" in bodies and all("\x00" not in body for body in bodies)


async def test_webhooks_every_shape_of_a_signed_sms_status_answers_2xx_or_400(hooks: httpx.AsyncClient) -> None:
    shapes: list[dict[str, str]] = [
        {}, {"MessageStatus": "delivered"}, {"MessageStatus": "failed", "MessageSid": "SM" + "x" * 5000},
        {"MessageStatus": "undelivered", "MessageSid": "SM\x00", "ErrorCode": "\x00" * 10, "ErrorMessage": "e" * 9000},
        {"MessageStatus": "\x00", "MessageSid": "nope"},
    ]
    for fields in shapes:
        _ok(await post_sms(hooks, "/webhooks/sms/status", **fields))
        _ok(await post_sms(hooks, "/webhooks/sms/status", query="token=" + "t" * 3000, **fields))


def email_shapes(recipient: str) -> list[dict[str, str]]:
    return [
        {},
        {"recipient": recipient},
        {"sender": "a@b.example", "recipient": recipient, "stripped-text": "nul\x00", "Message-Id": "<m\x00@x>"},
        {"sender": "\x00", "recipient": recipient + "\x00", "subject": "s\x00" * 2000, "body-plain": "b"},
        {"sender": "a@b.example", "recipient": recipient, "Message-Id": "<" + "i" * 5000 + "@x>", "stripped-text": "x"},
        {"sender": "a" * 5000 + "@b.example", "recipient": recipient, "stripped-text": "long sender"},
        {"sender": "a@b.example", "recipient": ", ".join(f"n{i}@nowhere.example" for i in range(2000)),
         "stripped-text": "many recipients"},
        {"sender": "a@b.example", "recipient": "x" * 5000 + "@nowhere.example", "stripped-text": "long recipient"},
        {"sender": "a@b.example", "recipient": recipient, "In-Reply-To": "<" + "r" * 5000 + ">", "body-plain": "x"},
    ]


async def test_webhooks_every_shape_of_a_signed_inbound_email_answers_2xx_or_400(
    hooks: httpx.AsyncClient, sessions: Sessions, club: ClubFixture
) -> None:
    for fields in email_shapes(club.document["club"]["inboundEmail"]):
        _ok(await hooks.post("/webhooks/email", data={**fields, **mailgun_signed()}))
    _ok(await hooks.post("/webhooks/email", data={"recipient": "x@y.example", **mailgun_signed(token="t" * 300)}))
    async with sessions() as session:
        kept = list((await session.scalars(select(UnmatchedInbound.body))).all())
    assert all("\x00" not in body for body in kept)


def _event(**event_data: Any) -> dict[str, Any]:
    signed = mailgun_signed()
    return {"signature": signed, "event-data": event_data}


EVENT_SHAPES: list[Any] = [
    {"event": "delivered"},
    {"event": "delivered", "message": "not an object"},
    {"event": "delivered", "message": {"headers": ["a", "list"]}},
    {"event": "delivered", "message": {"headers": {"message-id": {"an": "object"}}}},
    {"event": "delivered", "message": {"headers": {"message-id": "m" * 5000}}, "id": "i" * 5000},
    {"event": "delivered", "message": {"headers": {"message-id": "nul\x00@x"}}, "id": "\x00"},
    {"event": "failed", "severity": "permanent", "delivery-status": "not an object", "reason": ["x"]},
    {"event": "failed", "severity": "permanent", "delivery-status": {"code": {"a": 1}, "message": "\x00" * 9000}},
    {"event": ["delivered"], "severity": {"x": 1}},
    {"event": None},
]


async def test_webhooks_every_shape_of_a_signed_email_event_answers_2xx_or_400(hooks: httpx.AsyncClient) -> None:
    for event in EVENT_SHAPES:
        _ok(await hooks.post("/webhooks/email/events", json=_event(**event)))
    for payload in ({"signature": mailgun_signed(), "event-data": "not an object"},
                    {"signature": mailgun_signed(), "event-data": [1, 2]},
                    {"signature": mailgun_signed()},
                    {"signature": mailgun_signed(token="t" * 300), "event-data": {"event": "delivered"}}):
        _ok(await hooks.post("/webhooks/email/events", json=payload))


@pytest.mark.parametrize("body", [b"[" * 200_000, b'{"a":' * 100_000, b"\xff\xfe", b"1", b"[]", b"null"],
                         ids=["deep-array", "deep-object", "invalid-utf8", "number", "array", "null"])
async def test_webhooks_an_unsigned_event_body_of_any_shape_is_refused_with_403(hooks: httpx.AsyncClient,
                                                                               body: bytes) -> None:
    response = await hooks.post("/webhooks/email/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 403


async def test_webhooks_the_unsigned_path_refuses_large_bodies_before_parsing_them(hooks: httpx.AsyncClient) -> None:
    big = json.dumps({"signature": {}, "padding": "x" * (2 * 1024 * 1024)})
    for path in ("/webhooks/email/events", "/webhooks/sms", "/webhooks/sms/status"):
        response = await hooks.post(path, content=big, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, path
