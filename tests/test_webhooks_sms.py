"""Twilio webhooks: members' SMS replies (POST /webhooks/sms) and status callbacks (POST /webhooks/sms/status),
signed as Twilio signs them, over the public URL."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.factory import create_app
from inbox.dispatcher import INTERRUPTED
from inbox.inbound import NO_CLUB_NUMBER, NO_INBOX_ADDON, NO_SMS_ADDON, NO_TWO_WAY_SMS, UNKNOWN_SENDER
from models import Delivery, Member, Message, UnmatchedInbound
from models.base import utcnow
from tests.factories import BASE_MEMBERS, ClubFixture, make_club
from tests.inbox_client import StaffClient
from tests.servers import PUBLIC_URL, channel_settings, post_sms, running_app, twilio_signature
from tests.ws_client import GraphQLWebSocket, live_server

Sessions = async_sessionmaker[AsyncSession]
HELOISE = "+33612345678"


@pytest.fixture(scope="module")
async def hooks(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(channel_settings(database_url)) as client:
        yield client


@pytest.fixture
async def gb_club(sessions: Sessions) -> ClubFixture:
    return await make_club(sessions, country="GB")


def number(club: ClubFixture) -> str:
    return club.document["club"]["smsNumber"]


async def sms(hooks: httpx.AsyncClient, club: ClubFixture, body: str, sid: str, sender: str = HELOISE,
              **kwargs: Any) -> httpx.Response:
    return await post_sms(hooks, From=sender, To=number(club), Body=body, MessageSid=sid, **kwargs)


async def inbound_messages(sessions: Sessions, club: ClubFixture) -> list[Message]:
    async with sessions() as session:
        return list((await session.scalars(
            select(Message).where(Message.club_id == club.club_id, Message.direction == "INBOUND")
            .order_by(Message.id))).all())


async def unmatched(sessions: Sessions, **where: Any) -> list[UnmatchedInbound]:
    async with sessions() as session:
        return list((await session.scalars(select(UnmatchedInbound).filter_by(**where)
                                           .order_by(UnmatchedInbound.id))).all())


async def accepts_sms(sessions: Sessions, club: ClubFixture, member: str) -> bool:
    async with sessions() as session:
        return bool(await session.scalar(select(Member.accepts_sms).where(Member.id == club.member_ids[member])))


async def test_an_inbound_sms_lands_in_the_members_thread_as_unread(
    hooks: httpx.AsyncClient, http: httpx.AsyncClient, sessions: Sessions, gb_club: ClubFixture
) -> None:
    twilio_fields = {"AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01", "NumMedia": "0", "NumSegments": "1",
                     "SmsStatus": "received", "FromCountry": "FR", "ToCity": "", "ToZip": ""}
    response = await sms(hooks, gb_club, "À 18h, c'est noté 👍", "SM-land-1", **twilio_fields)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    assert "<Response>" in response.text
    [message] = await inbound_messages(sessions, gb_club)
    assert (message.channel, message.body, message.provider_message_id, message.member_id) == (
        "SMS", "À 18h, c'est noté 👍", "SM-land-1", gb_club.member_ids["m1"])
    lea = StaffClient(http, gb_club, sessions)
    [thread] = (await lea.threads("MEMBER"))["edges"]
    assert thread["node"]["target"]["externalId"] == "m1" and thread["node"]["unreadCount"] == 1
    assert thread["node"]["lastMessage"]["body"] == "À 18h, c'est noté 👍"


async def test_an_inbound_sms_reaches_a_staff_users_open_chat_live(
    database_url: str, sessions: Sessions, gb_club: ClubFixture
) -> None:
    app = create_app(channel_settings(database_url), run_dispatcher=False)
    async with live_server(app) as address, httpx.AsyncClient(base_url=f"http://{address}") as client:
        thread = await StaffClient(client, gb_club, sessions).start("Member", "m1")
        async with GraphQLWebSocket.open(f"ws://{address}/graphql", gb_club.token()) as ws:
            operation = await ws.subscribe(
                "subscription($id: ID!) { messageAdded(threadId: $id) { body direction } }", {"id": thread["id"]})
            assert (await sms(client, gb_club, "Live!", "SM-live-1")).status_code == 200
            assert (await ws.next(operation))["data"]["messageAdded"] == {"body": "Live!", "direction": "INBOUND"}


@pytest.mark.parametrize("forgery", ["wrong token", "host of the request", "missing", "body changed"])
async def test_a_bad_signature_is_refused_with_403_and_stores_nothing(
    hooks: httpx.AsyncClient, sessions: Sessions, gb_club: ClubFixture, forgery: str
) -> None:
    params = {"From": HELOISE, "To": number(gb_club), "Body": "Hi", "MessageSid": f"SM-forged-{forgery}"}
    signature = {
        "wrong token": twilio_signature(f"{PUBLIC_URL}/webhooks/sms", params.items(), auth_token="not-the-token"),
        "host of the request": twilio_signature("http://testserver/webhooks/sms", params.items()),
        "missing": "",
        "body changed": twilio_signature(f"{PUBLIC_URL}/webhooks/sms", {**params, "Body": "Other"}.items()),
    }[forgery]
    response = await post_sms(hooks, signature=signature, **params)
    assert response.status_code == 403
    assert await inbound_messages(sessions, gb_club) == []
    assert await unmatched(sessions, provider_message_id=params["MessageSid"]) == []


async def test_the_same_provider_message_delivered_several_times_is_stored_once(
    hooks: httpx.AsyncClient, sessions: Sessions, gb_club: ClubFixture
) -> None:
    first = await sms(hooks, gb_club, "Once", "SM-dup-1")
    concurrent = await asyncio.gather(*(sms(hooks, gb_club, "Once", "SM-dup-1") for _ in range(3)))
    assert [r.status_code for r in (first, *concurrent)] == [200] * 4
    assert [m.body for m in await inbound_messages(sessions, gb_club)] == ["Once"]


async def test_a_message_to_club_bs_number_never_reaches_club_a(
    hooks: httpx.AsyncClient, sessions: Sessions, gb_club: ClubFixture
) -> None:
    club_b = await make_club(sessions, country="GB")  # the same members, Héloïse's phone included
    assert (await sms(hooks, club_b, "For B", "SM-b-1")).status_code == 200
    assert [(m.body, m.member_id) for m in await inbound_messages(sessions, club_b)] == [
        ("For B", club_b.member_ids["m1"])]
    assert await inbound_messages(sessions, gb_club) == []


@pytest.mark.parametrize("keyword", ["STOP", " stop ", "Unsubscribe", "stopall", "CANCEL", "end", "Quit"])
async def test_stop_opts_the_member_out_the_sms_is_kept_and_the_next_broadcast_skips_them(
    hooks: httpx.AsyncClient, http: httpx.AsyncClient, sessions: Sessions, gb_club: ClubFixture, keyword: str
) -> None:
    assert (await sms(hooks, gb_club, keyword, f"SM-stop-{keyword}")).status_code == 200
    assert not await accepts_sms(sessions, gb_club, "m1")
    assert [m.body for m in await inbound_messages(sessions, gb_club)] == [keyword]
    lea = StaffClient(http, gb_club, sessions)
    thread = (await lea.start("Smartlist", "l1"))["id"]  # premium: Héloïse only
    sent = await lea.send(thread, "Flash sale", "SMS")
    assert sent["message"]["deliverySummary"] == {"total": 1, "queued": 0, "skipped": 1}
    async with sessions() as session:
        reason = await session.scalar(select(Delivery.reason).where(Delivery.club_id == gb_club.club_id))
    assert reason == "opted out of SMS"


@pytest.mark.parametrize("keyword", ["START", "yes", "Unstop"])
async def test_start_opts_the_member_back_in(
    hooks: httpx.AsyncClient, sessions: Sessions, gb_club: ClubFixture, keyword: str
) -> None:
    await sms(hooks, gb_club, "STOP", f"SM-restart-stop-{keyword}")
    await sms(hooks, gb_club, keyword, f"SM-restart-{keyword}")
    assert await accepts_sms(sessions, gb_club, "m1")


async def test_a_keyword_within_a_sentence_is_only_a_message(
    hooks: httpx.AsyncClient, sessions: Sessions, gb_club: ClubFixture
) -> None:
    await sms(hooks, gb_club, "please stop the yoga class", "SM-sentence")
    assert await accepts_sms(sessions, gb_club, "m1")


async def test_an_unknown_sender_is_acknowledged_and_kept_unmatched(
    hooks: httpx.AsyncClient, sessions: Sessions, gb_club: ClubFixture
) -> None:
    response = await sms(hooks, gb_club, "Who is this?", "SM-unknown-1", sender="+447700900999")
    assert response.status_code == 200
    [kept] = await unmatched(sessions, provider_message_id="SM-unknown-1")
    assert (kept.club_id, kept.channel, kept.sender, kept.recipient, kept.body, kept.reason) == (
        gb_club.club_id, "SMS", "+447700900999", number(gb_club), "Who is this?", UNKNOWN_SENDER)
    await sms(hooks, gb_club, "Who is this?", "SM-unknown-1", sender="+447700900999")
    assert len(await unmatched(sessions, provider_message_id="SM-unknown-1")) == 1  # retries kept once
    assert await inbound_messages(sessions, gb_club) == []


async def test_a_number_no_club_has_is_acknowledged_and_kept_unmatched(hooks: httpx.AsyncClient,
                                                                      sessions: Sessions) -> None:
    response = await post_sms(hooks, From=HELOISE, To="+15005550006", Body="Hello?", MessageSid="SM-nobody-1")
    assert response.status_code == 200
    [kept] = await unmatched(sessions, provider_message_id="SM-nobody-1")
    assert (kept.club_id, kept.reason) == (None, NO_CLUB_NUMBER)


@pytest.mark.parametrize(("country", "addons", "reason"), [
    ("FR", ["inbox", "sms"], NO_TWO_WAY_SMS),
    ("US", ["inbox"], NO_SMS_ADDON),
    ("CA", ["sms"], NO_INBOX_ADDON),
])
async def test_a_club_without_two_way_sms_acknowledges_and_keeps_the_reply_unmatched_with_the_reason(
    hooks: httpx.AsyncClient, sessions: Sessions, country: str, addons: list[str], reason: str
) -> None:
    club = await make_club(sessions, country=country, addons=addons)
    response = await sms(hooks, club, "Can I book?", f"SM-no-two-way-{country}")
    assert response.status_code == 200
    [kept] = await unmatched(sessions, provider_message_id=f"SM-no-two-way-{country}")
    assert (kept.club_id, kept.reason, kept.body) == (club.club_id, reason, "Can I book?")
    assert await inbound_messages(sessions, club) == []


async def test_an_opt_out_counts_even_where_replies_are_not_received(
    hooks: httpx.AsyncClient, sessions: Sessions
) -> None:
    club = await make_club(sessions)  # FR: no two-way SMS
    await sms(hooks, club, "STOP", "SM-fr-stop")
    assert not await accepts_sms(sessions, club, "m1")
    assert [kept.reason for kept in await unmatched(sessions, provider_message_id="SM-fr-stop")] == [NO_TWO_WAY_SMS]


async def test_a_phone_shared_by_a_family_goes_to_who_last_received_a_delivery_there_else_the_newest_member(
    hooks: httpx.AsyncClient, http: httpx.AsyncClient, sessions: Sessions
) -> None:
    family = [{**BASE_MEMBERS[1], "id": "mum", "phone": "+447700900500", "registeredAt": "2020-01-01"},
              {**BASE_MEMBERS[3], "id": "kid", "phone": "+447700900500", "registeredAt": "2023-01-01"}]
    club = await make_club(sessions, members=copy.deepcopy(BASE_MEMBERS) + family, country="GB")
    await sms(hooks, club, "First", "SM-family-1", sender="07700 900500")  # national form, club's country
    lea = StaffClient(http, club, sessions)
    await lea.send((await lea.start("Member", "mum"))["id"], "Your renewal", "SMS")
    async with sessions() as session:  # the dispatcher's outcome: sent
        await session.execute(update(Delivery).where(Delivery.club_id == club.club_id).values(status="SENT"))
        await session.commit()
    await sms(hooks, club, "Second", "SM-family-2", sender="+447700900500")
    assert [(m.body, m.member_id) for m in await inbound_messages(sessions, club)] == [
        ("First", club.member_ids["kid"]), ("Second", club.member_ids["mum"])]


# --- status callbacks ------------------------------------------------------------------------------

async def queued_sms(http: httpx.AsyncClient, sessions: Sessions, club: ClubFixture) -> Delivery:
    lea = StaffClient(http, club, sessions)
    await lea.send((await lea.start("Member", "m1"))["id"], "Your class", "SMS")
    async with sessions() as session:
        return (await session.scalars(select(Delivery).where(Delivery.club_id == club.club_id))).one()


async def set_delivery(sessions: Sessions, delivery: Delivery, **values: Any) -> None:
    async with sessions() as session:
        await session.execute(update(Delivery).where(Delivery.id == delivery.id).values(**values))
        await session.commit()


async def delivery_state(sessions: Sessions, delivery: Delivery) -> tuple[str, str | None]:
    async with sessions() as session:
        row = (await session.execute(select(Delivery.status, Delivery.reason)
                                     .where(Delivery.id == delivery.id))).one()
    return row.status, row.reason


async def status(hooks: httpx.AsyncClient, delivery: Delivery, message_status: str, *, by_token: bool = True,
                 **extra: str) -> httpx.Response:
    query = f"token={delivery.token}" if by_token else ""
    return await post_sms(hooks, "/webhooks/sms/status", query=query, MessageSid="SM-status-" + delivery.token,
                          MessageStatus=message_status, **extra)


async def test_status_callbacks_move_a_delivery_to_delivered_and_never_back(
    hooks: httpx.AsyncClient, http: httpx.AsyncClient, sessions: Sessions, gb_club: ClubFixture
) -> None:
    delivery = await queued_sms(http, sessions, gb_club)
    await set_delivery(sessions, delivery, status="SENT")
    assert (await status(hooks, delivery, "sent")).status_code == 204
    assert await delivery_state(sessions, delivery) == ("SENT", None)
    assert (await status(hooks, delivery, "delivered")).status_code == 204
    assert await delivery_state(sessions, delivery) == ("DELIVERED", None)
    await status(hooks, delivery, "undelivered", ErrorCode="30003")
    assert await delivery_state(sessions, delivery) == ("DELIVERED", None)


@pytest.mark.parametrize(("message_status", "extra", "reason"), [
    ("undelivered", {"ErrorCode": "30007"}, "Twilio 30007: carrier filtered"),
    ("failed", {"ErrorCode": "30006", "ErrorMessage": "Landline"}, "Twilio 30006: Landline"),
])
async def test_undelivered_or_failed_reports_fail_the_delivery_with_twilios_reason(
    hooks: httpx.AsyncClient, http: httpx.AsyncClient, sessions: Sessions, gb_club: ClubFixture,
    message_status: str, extra: dict[str, str], reason: str,
) -> None:
    delivery = await queued_sms(http, sessions, gb_club)
    await set_delivery(sessions, delivery, status="SENT", provider_message_id="SM-status-" + delivery.token)
    response = await status(hooks, delivery, message_status, by_token=False, **extra)  # found by its sid
    assert response.status_code == 204
    assert await delivery_state(sessions, delivery) == ("FAILED", reason)


async def test_a_report_about_a_delivery_not_yet_sent_changes_nothing_and_a_forged_one_is_refused(
    hooks: httpx.AsyncClient, http: httpx.AsyncClient, sessions: Sessions, gb_club: ClubFixture
) -> None:
    delivery = await queued_sms(http, sessions, gb_club)
    assert (await status(hooks, delivery, "delivered")).status_code == 204
    assert await delivery_state(sessions, delivery) == ("QUEUED", None)
    await set_delivery(sessions, delivery, status="SENT")
    forged = await post_sms(hooks, "/webhooks/sms/status", query=f"token={delivery.token}", signature="forged",
                            MessageSid="SM-x", MessageStatus="failed", ErrorCode="30007")
    assert forged.status_code == 403
    assert await delivery_state(sessions, delivery) == ("SENT", None)


@pytest.mark.parametrize(("before", "after"), [
    ({"status": "QUEUED", "sending_at": "now", "claimed_by": "a-dispatcher"}, ("DELIVERED", None)),
    ({"status": "FAILED", "reason": INTERRUPTED}, ("DELIVERED", None)),
    ({"status": "SKIPPED", "reason": "no phone number"}, ("SKIPPED", "no phone number")),
])
async def test_a_delivered_report_settles_a_send_in_flight_or_interrupted_but_never_a_skipped_delivery(
    hooks: httpx.AsyncClient, http: httpx.AsyncClient, sessions: Sessions, gb_club: ClubFixture,
    before: dict[str, Any], after: tuple[str, str | None],
) -> None:
    delivery = await queued_sms(http, sessions, gb_club)
    await set_delivery(sessions, delivery, **{k: utcnow() if v == "now" else v for k, v in before.items()})
    assert (await status(hooks, delivery, "delivered")).status_code == 204
    assert await delivery_state(sessions, delivery) == after
    async with sessions() as session:
        claim = (await session.execute(select(Delivery.claimed_by, Delivery.sending_at)
                                       .where(Delivery.id == delivery.id))).one()
    assert tuple(claim) == (None, None)


@pytest.mark.parametrize("url", ["sqlite+aiosqlite:////nonexistent-dir/inbox.db",
                                 "postgresql+asyncpg://postgres@127.0.0.1:1/inbox"])
async def test_a_database_that_is_down_answers_503_so_twilio_retries(url: str) -> None:
    async with running_app(channel_settings(url, INBOX_DB_CONNECT_TIMEOUT=1)) as client:
        response = await post_sms(client, From=HELOISE, To="+447700900123", Body="Hi", MessageSid="SM-down")
    assert response.status_code == 503

