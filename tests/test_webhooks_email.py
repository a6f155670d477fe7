"""Mailgun webhooks: members' email replies (POST /webhooks/email, an inbound route's form) and delivery
events (POST /webhooks/email/events, JSON), signed as Mailgun signs them."""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.inbound import NO_CLUB_ADDRESS, NO_INBOX_ADDON, UNKNOWN_SENDER
from inbox.transports import reply_address
from models import Delivery, Message, UnmatchedInbound
from tests.factories import BASE_MEMBERS, ClubFixture, make_club
from tests.inbox_client import StaffClient
from tests.servers import channel_settings, mailgun_signed, running_app

Sessions = async_sessionmaker[AsyncSession]
_ids = iter(range(1, 1_000_000))


@pytest.fixture(scope="module")
async def hooks(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(channel_settings(database_url)) as client:
        yield client


def inbound_address(club: ClubFixture) -> str:
    return club.document["club"]["inboundEmail"]


def reply(recipient: str, body: str = "Thanks!", *, sender: str = "heloise@example.com",
          message_id: str | None = None, **fields: Any) -> dict[str, str]:
    signed = mailgun_signed(**{k: fields.pop(k) for k in ("key", "timestamp", "token") if k in fields})
    return {"sender": sender, "from": f"Someone <{sender}>", "recipient": recipient, "subject": "Re: News",
            "body-plain": f"{body}\n\n> earlier text", "stripped-text": body,
            "Message-Id": message_id or f"<mail-{next(_ids)}-{time.time_ns()}@mail.example>", **signed, **fields}


async def sent_email(http: httpx.AsyncClient, sessions: Sessions, club: ClubFixture, member: str = "m1") -> Delivery:
    """A staff email to a member: its delivery row carries the token of the reply address."""
    lea = StaffClient(http, club, sessions)
    await lea.send((await lea.start("Member", member))["id"], "News", "EMAIL")
    async with sessions() as session:
        return (await session.scalars(select(Delivery).where(
            Delivery.club_id == club.club_id, Delivery.member_id == club.member_ids[member])
            .order_by(Delivery.id.desc()).limit(1))).one()


async def inbound_messages(sessions: Sessions, club: ClubFixture) -> list[Message]:
    async with sessions() as session:
        return list((await session.scalars(
            select(Message).where(Message.club_id == club.club_id, Message.direction == "INBOUND")
            .order_by(Message.id))).all())


async def unmatched(sessions: Sessions, provider_message_id: str) -> list[UnmatchedInbound]:
    async with sessions() as session:
        return list((await session.scalars(select(UnmatchedInbound).where(
            UnmatchedInbound.provider_message_id == provider_message_id))).all())


async def test_a_reply_to_the_plus_tagged_address_lands_unread_in_the_members_thread_linked_to_what_it_answers(
    hooks: httpx.AsyncClient, http: httpx.AsyncClient, sessions: Sessions, club: ClubFixture
) -> None:
    delivery = await sent_email(http, sessions, club)
    form = reply(reply_address(inbound_address(club), delivery.token), "Great, see you!",
                 sender="Heloise@Example.com", message_id="<abc-1@mail.example>")
    response = await hooks.post("/webhooks/email", data=form)
    assert response.status_code == 200 and response.json() == {"status": "stored"}
    [message] = await inbound_messages(sessions, club)
    assert (message.channel, message.subject, message.body, message.provider_message_id) == (
        "EMAIL", "Re: News", "Great, see you!", "abc-1@mail.example")
    assert (message.member_id, message.in_reply_to_id) == (club.member_ids["m1"], delivery.message_id)
    lea = StaffClient(http, club, sessions)
    [thread] = (await lea.threads("MEMBER"))["edges"]
    assert thread["node"]["unreadCount"] == 1 and thread["node"]["lastMessage"]["direction"] == "INBOUND"


async def test_in_reply_to_links_the_reply_when_the_plus_tag_was_lost(
    hooks: httpx.AsyncClient, http: httpx.AsyncClient, sessions: Sessions, club: ClubFixture
) -> None:
    delivery = await sent_email(http, sessions, club)
    form = reply(inbound_address(club), **{"In-Reply-To": f"<{delivery.token}@inbox.example>"})
    assert (await hooks.post("/webhooks/email", data=form)).status_code == 200
    [message] = await inbound_messages(sessions, club)
    assert message.in_reply_to_id == delivery.message_id


async def test_a_multipart_post_with_an_attachment_is_read_and_the_attachment_left_out(
    hooks: httpx.AsyncClient, sessions: Sessions, club: ClubFixture
) -> None:
    form = reply(inbound_address(club), "See the photo", **{"attachment-count": "1"})
    response = await hooks.post("/webhooks/email", data=form,
                                files={"attachment-1": ("photo.jpg", b"\xff\xd8\xff" * 100, "image/jpeg")})
    assert response.status_code == 200
    assert [m.body for m in await inbound_messages(sessions, club)] == ["See the photo"]


async def test_an_inbound_email_with_a_large_attachment_is_not_refused_by_the_graphql_body_limit(
    hooks: httpx.AsyncClient, sessions: Sessions, club: ClubFixture
) -> None:
    form = reply(inbound_address(club), "Here is my medical certificate", **{"attachment-count": "1"})
    response = await hooks.post("/webhooks/email", data=form,
                                files={"attachment-1": ("certificate.pdf", b"%PDF" * (600 * 1024), "application/pdf")})
    assert response.status_code == 200
    assert [m.body for m in await inbound_messages(sessions, club)] == ["Here is my medical certificate"]


@pytest.mark.parametrize("forgery", ["wrong key", "older than 5 minutes", "from the future", "missing"])
async def test_a_bad_or_stale_signature_is_refused_with_403_and_stores_nothing(
    hooks: httpx.AsyncClient, sessions: Sessions, club: ClubFixture, forgery: str
) -> None:
    now = int(time.time())
    options: dict[str, Any] = {
        "wrong key": {"key": "not-the-key"}, "older than 5 minutes": {"timestamp": now - 301},
        "from the future": {"timestamp": now + 301}, "missing": {},
    }[forgery]
    form = reply(inbound_address(club), message_id=f"<forged-{forgery}@x>", **options)
    if forgery == "missing":
        del form["signature"]
    assert (await hooks.post("/webhooks/email", data=form)).status_code == 403
    assert await inbound_messages(sessions, club) == []
    assert await unmatched(sessions, f"forged-{forgery}@x") == []


async def test_a_replayed_token_is_refused_unless_it_is_mailguns_retry_of_a_stored_message(
    hooks: httpx.AsyncClient, sessions: Sessions, club: ClubFixture
) -> None:
    first = reply(inbound_address(club), "Original", message_id="<replay-1@mail.example>")
    assert (await hooks.post("/webhooks/email", data=first)).json() == {"status": "stored"}
    forged = {**first, "stripped-text": "Forged", "Message-Id": "<replay-2@mail.example>"}
    assert (await hooks.post("/webhooks/email", data=forged)).status_code == 403
    retry = await hooks.post("/webhooks/email", data=first)
    assert retry.status_code == 200 and retry.json() == {"status": "duplicate"}
    assert [m.body for m in await inbound_messages(sessions, club)] == ["Original"]


async def test_the_same_message_id_posted_again_is_stored_once(
    hooks: httpx.AsyncClient, sessions: Sessions, club: ClubFixture
) -> None:
    for _ in range(2):  # a new token each time, as for a message routed twice
        response = await hooks.post("/webhooks/email", data=reply(inbound_address(club), "Once",
                                                                  message_id="<once@mail.example>"))
        assert response.status_code == 200
    assert [m.body for m in await inbound_messages(sessions, club)] == ["Once"]


async def test_an_unknown_sender_or_address_is_acknowledged_and_kept_unmatched(
    hooks: httpx.AsyncClient, sessions: Sessions, club: ClubFixture
) -> None:
    stranger = reply(inbound_address(club), sender="stranger@example.net", message_id="<stranger@x>")
    nowhere = reply("nobody@inbox.example", message_id="<nowhere@x>")
    for form in (stranger, nowhere):
        response = await hooks.post("/webhooks/email", data=form)
        assert response.status_code == 200 and response.json() == {"status": "unmatched"}
    [kept] = await unmatched(sessions, "stranger@x")
    assert (kept.club_id, kept.channel, kept.sender, kept.subject, kept.body, kept.reason) == (
        club.club_id, "EMAIL", "stranger@example.net", "Re: News", "Thanks!", UNKNOWN_SENDER)
    assert [(k.club_id, k.reason) for k in await unmatched(sessions, "nowhere@x")] == [(None, NO_CLUB_ADDRESS)]
    assert await inbound_messages(sessions, club) == []


async def test_a_club_without_the_inbox_add_on_acknowledges_and_keeps_the_reply_unmatched(
    hooks: httpx.AsyncClient, sessions: Sessions
) -> None:
    club = await make_club(sessions, addons=[])
    response = await hooks.post("/webhooks/email", data=reply(inbound_address(club), message_id="<no-addon@x>"))
    assert response.status_code == 200
    assert [(k.club_id, k.reason) for k in await unmatched(sessions, "no-addon@x")] == [(club.club_id, NO_INBOX_ADDON)]


async def test_a_token_of_another_club_never_links_nor_lands_across_clubs(
    hooks: httpx.AsyncClient, http: httpx.AsyncClient, sessions: Sessions, club: ClubFixture,
    other_club: ClubFixture,
) -> None:
    delivery_a = await sent_email(http, sessions, club)
    form = reply(reply_address(inbound_address(other_club), delivery_a.token), "To B")
    assert (await hooks.post("/webhooks/email", data=form)).status_code == 200
    [message] = await inbound_messages(sessions, other_club)
    assert (message.member_id, message.in_reply_to_id) == (other_club.member_ids["m1"], None)
    assert await inbound_messages(sessions, club) == []


async def test_an_address_shared_by_a_family_goes_to_whom_the_reply_answers_else_who_last_received_there(
    hooks: httpx.AsyncClient, http: httpx.AsyncClient, sessions: Sessions
) -> None:
    family = [{**BASE_MEMBERS[1], "id": "mum", "email": "family@example.com", "registeredAt": "2020-01-01"},
              {**BASE_MEMBERS[3], "id": "kid", "email": "Family@example.com", "registeredAt": "2023-01-01"}]
    club = await make_club(sessions, members=copy.deepcopy(BASE_MEMBERS) + family)
    to_kid = await sent_email(http, sessions, club, "kid")
    await sent_email(http, sessions, club, "mum")
    async with sessions() as session:  # both sent; mum's most recently (the kid registered later)
        await session.execute(update(Delivery).where(Delivery.club_id == club.club_id).values(status="SENT"))
        await session.commit()
    plain = reply(inbound_address(club), "Without a token", sender="family@example.com")
    tagged = reply(reply_address(inbound_address(club), to_kid.token), "Answering the kid's",
                   sender="family@example.com")
    for form in (plain, tagged):
        assert (await hooks.post("/webhooks/email", data=form)).status_code == 200
    assert [(m.body, m.member_id) for m in await inbound_messages(sessions, club)] == [
        ("Without a token", club.member_ids["mum"]), ("Answering the kid's", club.member_ids["kid"])]


# --- delivery events -------------------------------------------------------------------------------

def event(delivery: Delivery, kind: str, *, event_id: str | None = None, **data: Any) -> dict[str, Any]:
    return {"signature": mailgun_signed(), "event-data": {
        "event": kind, "id": event_id or f"ev-{next(_ids)}", "recipient": delivery.address,
        "message": {"headers": {"message-id": f"{delivery.token}@inbox.example"}}, **data}}


async def state(sessions: Sessions, delivery: Delivery) -> tuple[str, str | None]:
    async with sessions() as session:
        row = (await session.execute(select(Delivery.status, Delivery.reason)
                                     .where(Delivery.id == delivery.id))).one()
    return row.status, row.reason


async def sent(http: httpx.AsyncClient, sessions: Sessions, club: ClubFixture) -> Delivery:
    delivery = await sent_email(http, sessions, club)
    async with sessions() as session:
        await session.execute(update(Delivery).where(Delivery.id == delivery.id).values(
            status="SENT", provider_message_id=f"{delivery.token}@inbox.example"))
        await session.commit()
    return delivery


async def test_delivered_and_permanently_failed_events_move_the_delivery_and_temporary_failures_do_not(
    hooks: httpx.AsyncClient, http: httpx.AsyncClient, sessions: Sessions, club: ClubFixture
) -> None:
    bounced, delivered = await sent(http, sessions, club), await sent(http, sessions, club)
    failure = {"delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist"}}
    temporary = await hooks.post("/webhooks/email/events", json=event(bounced, "failed", severity="temporary",
                                                                      **failure))
    assert temporary.status_code == 200 and await state(sessions, bounced) == ("SENT", None)
    await hooks.post("/webhooks/email/events", json=event(bounced, "failed", severity="permanent", **failure))
    assert await state(sessions, bounced) == ("FAILED", "Mailgun 550: 5.1.1 The email account does not exist")
    assert (await hooks.post("/webhooks/email/events", json=event(delivered, "delivered"))).status_code == 200
    assert await state(sessions, delivered) == ("DELIVERED", None)
    await hooks.post("/webhooks/email/events", json=event(delivered, "failed", severity="permanent", **failure))
    assert await state(sessions, delivered) == ("DELIVERED", None)


async def test_an_event_with_a_bad_signature_or_a_reused_token_is_refused(
    hooks: httpx.AsyncClient, http: httpx.AsyncClient, sessions: Sessions, club: ClubFixture
) -> None:
    delivery = await sent(http, sessions, club)
    forged = event(delivery, "delivered")
    forged["signature"]["signature"] = "0" * 64
    assert (await hooks.post("/webhooks/email/events", json=forged)).status_code == 403
    assert (await hooks.post("/webhooks/email/events", content=b"not json")).status_code == 403
    assert await state(sessions, delivery) == ("SENT", None)
    first = event(delivery, "delivered", event_id="ev-once")
    assert (await hooks.post("/webhooks/email/events", json=first)).status_code == 200
    assert (await hooks.post("/webhooks/email/events", json=first)).status_code == 200  # Mailgun's retry
    other = {**first, "event-data": {**first["event-data"], "id": "ev-other"}}
    assert (await hooks.post("/webhooks/email/events", json=other)).status_code == 403
