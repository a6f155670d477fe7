"""The delivery dispatcher with real transports (aiosmtpd, a local Twilio), on a database of its own.

Exactly once: each recipient of a broadcast gets the message once, whatever crashes; retries only
when the provider certainly did not take the message.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.dispatcher import INTERRUPTED, Dispatcher, DispatchOptions, dispatcher_from_settings
from inbox.settings import Settings
from inbox.transports import transports_from_settings
from models import Delivery
from models.base import utcnow
from models.engine import create_engine, session_factory
from tests.databases import fresh_database
from tests.factories import BASE_MEMBERS, ClubFixture, make_club
from tests.inbox_client import StaffClient
from tests.servers import (
    TWILIO_SID,
    SmtpServer,
    TwilioServer,
    channel_settings,
    inbox_command,
    mailgun_signed,
    post_sms,
    running_app,
    wait_until,
)

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(tmp_path_factory.mktemp("dispatcher")) as url:
        yield url


@pytest.fixture(scope="module")
async def sessions(database: str) -> AsyncIterator[Sessions]:
    """This module's database (it overrides the shared one: see `fresh_database`)."""
    engine = create_engine(database)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture(scope="module")
def settings(database: str, smtp_server: SmtpServer, twilio_server: TwilioServer) -> Settings:
    return channel_settings(database, INBOX_SMTP_URL=smtp_server.url, INBOX_EMAIL_FROM="desk@inbox.example",
                            INBOX_TWILIO_ACCOUNT_SID=TWILIO_SID, INBOX_TWILIO_API_URL=twilio_server.url)


@pytest.fixture(scope="module")
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as client:
        yield client


@pytest.fixture
async def dispatcher(settings: Settings, sessions: Sessions) -> AsyncIterator[Dispatcher]:
    dispatcher = dispatcher_from_settings(settings, sessions)
    yield dispatcher
    await dispatcher.aclose()


def staff(http: httpx.AsyncClient, club: ClubFixture, sessions: Sessions) -> StaffClient:
    return StaffClient(http, club, sessions, "s1")


async def broadcast(lea: StaffClient, channel: str = "EMAIL", smartlist: str = "l2", **extra: Any) -> dict[str, Any]:
    thread = (await lea.start("Smartlist", smartlist))["id"]
    sent = await lea.send(thread, extra.pop("body", "Class moved to 7pm"), channel, **extra)
    assert sent["userErrors"] == [], sent
    return sent


async def deliveries(sessions: Sessions, club: ClubFixture) -> dict[str, Delivery]:
    """The club's deliveries by member external id (one message per test)."""
    external = {pk: ext for ext, pk in club.member_ids.items()}
    async with sessions() as session:
        rows = (await session.scalars(select(Delivery).where(Delivery.club_id == club.club_id))).all()
    return {external[row.member_id]: row for row in rows}


def for_club(smtp: SmtpServer, club: ClubFixture) -> list[str]:
    """Recipients of the emails of one club (its reply address carries its slug)."""
    return sorted(r.rcpt_tos[0] for r in smtp.received if f"{club.slug}+" in str(r.message["Reply-To"]))


async def test_an_email_broadcast_reaches_each_consenting_member_with_an_address_once_and_a_reply_lands_unread(
    sessions: Sessions, http: httpx.AsyncClient, smtp: SmtpServer, dispatcher: Dispatcher
) -> None:
    members = copy.deepcopy(BASE_MEMBERS)
    members[1]["acceptsEmail"] = False  # m2 opted out of email; m3 has no email
    club = await make_club(sessions, members=members)
    lea = staff(http, club, sessions)
    sent = await broadcast(lea, "EMAIL", subject="Schedule")

    assert await dispatcher.drain() == 3
    assert await dispatcher.drain() == 0
    assert for_club(smtp, club) == ["dm@example.com", "heloise@example.com", "lukasz@example.pl"]
    rows = await deliveries(sessions, club)
    assert {m: (d.status, d.reason) for m, d in rows.items()} == {
        "m1": ("SENT", None), "m2": ("SKIPPED", "opted out of email"), "m3": ("SKIPPED", "no email address"),
        "m4": ("SENT", None), "m5": ("SENT", None)}
    assert rows["m1"].attempts == 1 and rows["m1"].provider_message_id == f"{rows['m1'].token}@inbox.example"

    email = next(r.message for r in smtp.received if r.rcpt_tos == ["heloise@example.com"])
    assert email["Subject"] == "Schedule" and email["Reply-To"] == f"{club.slug}+{rows['m1'].token}@inbox.example"
    reply = {"sender": "HELOISE@example.com", "from": "Héloïse <HELOISE@example.com>",
             "recipient": str(email["Reply-To"]), "subject": "Re: Schedule",
             "body-plain": "Great, thanks!\n\n> Class moved to 7pm", "stripped-text": "Great, thanks!",
             "Message-Id": "<reply-1@mail.example>", "In-Reply-To": str(email["Message-ID"]), **mailgun_signed()}
    response = await http.post("/webhooks/email", data=reply)
    assert response.status_code == 200 and response.json() == {"status": "stored"}

    [thread] = [e["node"] for e in (await lea.threads("MEMBER"))["edges"] if e["node"]["target"]["externalId"] == "m1"]
    assert thread["unreadCount"] == 1
    assert thread["lastMessage"]["body"] == "Great, thanks!" and thread["lastMessage"]["direction"] == "INBOUND"
    data = await lea.ok("query($id: ID!) { node(id: $id) { ... on Message { subject inReplyTo { id } } } }",
                        {"id": thread["lastMessage"]["id"]})
    assert data["node"] == {"subject": "Re: Schedule", "inReplyTo": {"id": sent["message"]["id"]}}


async def test_a_dispatcher_killed_mid_send_and_restarted_sends_no_duplicate(
    sessions: Sessions, http: httpx.AsyncClient, smtp: SmtpServer, database: str, dispatcher: Dispatcher
) -> None:
    club = await make_club(sessions)
    await broadcast(staff(http, club, sessions), "EMAIL")  # m1, m2, m4, m5 (m3 has no email)
    env = {"DATABASE_URL": database, "INBOX_SMTP_URL": smtp.url, "INBOX_DISPATCH_CONCURRENCY": "1",
           "INBOX_DISPATCH_LEASE": "0.3", "INBOX_EMAIL_FROM": "desk@inbox.example"}
    smtp.handler.hold_from = 2  # the server takes the 2nd email but holds its final reply
    process = inbox_command("dispatch", env=env)

    async def second_email_held() -> bool:
        return smtp.handler.held.is_set()

    try:
        await wait_until(second_email_held, timeout=15)
    finally:
        process.kill()  # SIGKILL: no cleanup, in the middle of the 2nd send
        process.communicate(timeout=10)
    smtp.handler.hold_from = None
    first, second = (r.rcpt_tos[0] for r in smtp.received)
    by_address = {d.address: d for d in (await deliveries(sessions, club)).values()}
    assert by_address[first].status == "SENT"
    assert by_address[second].status == "QUEUED" and by_address[second].sending_at is not None

    await asyncio.sleep(0.35)  # the dead process's lease expires
    assert await dispatcher.drain() == 2  # restarted: the two never started; the one in flight is not resent
    received = [r.rcpt_tos[0] for r in smtp.received]
    assert sorted(received) == sorted(set(received)) == ["dm@example.com", "heloise@example.com",
                                                         "jf.muller@example.fr", "lukasz@example.pl"]
    statuses = {d.address: (d.status, d.reason) for d in (await deliveries(sessions, club)).values() if d.address}
    assert statuses.pop(second) == ("FAILED", INTERRUPTED)  # it may have arrived: never sent again
    assert set(statuses.values()) == {("SENT", None)}


async def test_inbox_dispatch_runs_alone_and_stops_cleanly_on_sigterm(
    sessions: Sessions, http: httpx.AsyncClient, smtp: SmtpServer, database: str
) -> None:
    club = await make_club(sessions)
    lea = staff(http, club, sessions)
    await lea.send((await lea.start("Member", "m1"))["id"], "Hello", "EMAIL")
    process = inbox_command("dispatch", env={"DATABASE_URL": database, "INBOX_SMTP_URL": smtp.url,
                                             "INBOX_DISPATCH_POLL_INTERVAL": "0.05"})

    async def sent() -> bool:
        return (await deliveries(sessions, club))["m1"].status == "SENT"

    try:
        await wait_until(sent, timeout=15)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0 and "delivery dispatcher running" in err
    assert for_club(smtp, club) == ["heloise@example.com"]


async def test_a_club_without_an_inbound_address_gets_replies_at_the_sending_staff_users_address(
    sessions: Sessions, http: httpx.AsyncClient, smtp: SmtpServer, dispatcher: Dispatcher
) -> None:
    club = await make_club(sessions, inboundEmail=None)
    lea = staff(http, club, sessions)
    await lea.send((await lea.start("Member", "m1"))["id"], "Hello", "EMAIL")
    await dispatcher.drain()
    [email] = [r.message for r in smtp.received if r.message["Reply-To"] == f"lea@{club.slug}.example"]
    assert email["To"] == "Héloïse Dupont <heloise@example.com>"


@pytest.mark.parametrize(("sending", "sent_again", "status"), [(False, 1, "SENT"), (True, 0, "FAILED")])
async def test_a_claim_whose_process_died_is_taken_again_after_its_lease_only_if_the_send_had_not_started(
    sessions: Sessions, http: httpx.AsyncClient, smtp: SmtpServer, dispatcher: Dispatcher,
    sending: bool, sent_again: int, status: str,
) -> None:
    club = await make_club(sessions)
    lea = staff(http, club, sessions)
    await lea.send((await lea.start("Member", "m1"))["id"], "Hello", "EMAIL")
    now = utcnow()
    dead = {"claimed_by": "a-dead-dispatcher", "sending_at": now if sending else None}

    async def leave_claim(until: Any) -> None:
        async with sessions() as session:
            await session.execute(update(Delivery).where(Delivery.club_id == club.club_id)
                                  .values(claimed_until=until, **dead))
            await session.commit()

    await leave_claim(now + timedelta(minutes=5))
    assert await dispatcher.drain() == 0 and for_club(smtp, club) == []  # the lease still holds
    await leave_claim(now - timedelta(seconds=1))
    await dispatcher.drain()
    assert len(for_club(smtp, club)) == sent_again
    delivery = (await deliveries(sessions, club))["m1"]
    assert delivery.status == status and delivery.claimed_by is None and delivery.sending_at is None
    assert delivery.reason == (INTERRUPTED if sending else None)


async def test_two_dispatchers_at_once_send_each_delivery_once(
    sessions: Sessions, http: httpx.AsyncClient, smtp: SmtpServer, settings: Settings, database: str
) -> None:
    extra = [{"id": f"x{i}", "memberNumber": f"X-{i}", "firstName": "Member", "lastName": f"N{i:02d}",
              "email": f"member{i:02d}@example.org", "registeredAt": "2024-01-01"} for i in range(40)]
    club = await make_club(sessions, members=copy.deepcopy(BASE_MEMBERS) + extra)
    await broadcast(staff(http, club, sessions), "EMAIL")  # 44 addresses (m3 has none)
    engines = [create_engine(database) for _ in range(2)]
    options = DispatchOptions(concurrency=4, batch_size=7, backoff=0)
    dispatchers = [Dispatcher(session_factory(engine), transports_from_settings(settings), options)
                   for engine in engines]
    try:
        handled = await asyncio.gather(*(d.drain() for d in dispatchers))
    finally:
        for d, engine in zip(dispatchers, engines, strict=True):
            await d.aclose()
            await engine.dispose()
    assert sum(handled) == 44 and all(handled)  # both took a share
    assert for_club(smtp, club) == sorted([f"member{i:02d}@example.org" for i in range(40)] + [
        "dm@example.com", "heloise@example.com", "jf.muller@example.fr", "lukasz@example.pl"])
    assert {d.status for d in (await deliveries(sessions, club)).values()} == {"SENT", "SKIPPED"}


async def test_a_temporary_refusal_is_retried_after_the_backoff_then_sent(
    sessions: Sessions, http: httpx.AsyncClient, smtp: SmtpServer, settings: Settings
) -> None:
    club = await make_club(sessions)
    lea = staff(http, club, sessions)
    await lea.send((await lea.start("Member", "m1"))["id"], "Hello", "EMAIL")
    smtp.handler.answers["heloise@example.com"] = ["451 4.3.0 Mailbox busy"]
    # A backoff long enough that a loaded machine still checks "not due" inside it.
    dispatcher = Dispatcher(sessions, transports_from_settings(settings), DispatchOptions(backoff=2.0))
    try:
        await dispatcher.drain()
        queued = (await deliveries(sessions, club))["m1"]
        assert (queued.status, queued.attempts, queued.reason) == ("QUEUED", 1, None)
        assert await dispatcher.run_once() == 0  # not due before the backoff
        await asyncio.sleep(2.05)
        await dispatcher.drain()
    finally:
        await dispatcher.aclose()
    delivered = (await deliveries(sessions, club))["m1"]
    assert (delivered.status, delivered.attempts) == ("SENT", 2)
    assert for_club(smtp, club) == ["heloise@example.com"]


def test_the_backoff_doubles_up_to_an_hour() -> None:
    options = DispatchOptions(backoff=30)
    assert [options.retry_delay(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


@pytest.mark.parametrize(("answers", "attempts", "reason"), [
    (["451 4.3.0 Busy", "451 4.3.0 Still busy"], 2, "SMTP 451: 4.3.0 Still busy"),
    (["550 5.1.1 No such user"], 1, "SMTP 550: 5.1.1 No such user"),
])
async def test_a_send_that_keeps_failing_or_is_refused_for_good_fails_with_the_providers_reason(
    sessions: Sessions, http: httpx.AsyncClient, smtp: SmtpServer, settings: Settings,
    answers: list[str], attempts: int, reason: str,
) -> None:
    club = await make_club(sessions)
    lea = staff(http, club, sessions)
    await lea.send((await lea.start("Member", "m1"))["id"], "Hello", "EMAIL")
    smtp.handler.answers["heloise@example.com"] = list(answers)
    dispatcher = Dispatcher(sessions, transports_from_settings(settings), DispatchOptions(backoff=0, max_attempts=2))
    try:
        await dispatcher.drain()
    finally:
        await dispatcher.aclose()
    failed = (await deliveries(sessions, club))["m1"]
    assert (failed.status, failed.attempts, failed.reason) == ("FAILED", attempts, reason)
    assert for_club(smtp, club) == []


async def test_an_sms_broadcast_goes_through_twilio_and_a_member_who_said_stop_meanwhile_is_skipped(
    sessions: Sessions, http: httpx.AsyncClient, twilio_server: TwilioServer, dispatcher: Dispatcher
) -> None:
    club = await make_club(sessions, country="GB")
    await broadcast(staff(http, club, sessions), "SMS", body="Class cancelled")  # m1, m2 (m3 opted out, m4 none)
    response = await post_sms(http, From="+33698765432", To=club.document["club"]["smsNumber"], Body="STOP",
                              MessageSid="SM-stop-m2")
    assert response.status_code == 200
    twilio_server.reset()
    await dispatcher.drain()
    rows = await deliveries(sessions, club)
    assert (rows["m2"].status, rows["m2"].reason) == ("SKIPPED", "opted out of SMS")
    [accepted] = twilio_server.accepted
    assert (accepted["To"], accepted["From"], accepted["Body"]) == (
        "+33612345678", club.document["club"]["smsNumber"], "Class cancelled")
    assert (rows["m1"].status, rows["m1"].provider_message_id) == ("SENT", accepted["sid"])


async def test_an_sms_twilio_refuses_fails_with_twilios_code_and_message(
    sessions: Sessions, http: httpx.AsyncClient, twilio_server: TwilioServer, dispatcher: Dispatcher
) -> None:
    club = await make_club(sessions, country="GB")
    lea = staff(http, club, sessions)
    refusal = {"code": 21610, "message": "Attempt to send to unsubscribed recipient"}
    twilio_server.answers["+33612345678"] = [(400, refusal)]
    await lea.send((await lea.start("Member", "m1"))["id"], "Hello", "SMS")
    await dispatcher.drain()
    failed = (await deliveries(sessions, club))["m1"]
    assert (failed.status, failed.reason) == ("FAILED", "Twilio 21610: Attempt to send to unsubscribed recipient")


async def test_a_providers_long_reason_is_cut_to_fit_rather_than_lost(
    sessions: Sessions, http: httpx.AsyncClient, twilio_server: TwilioServer, dispatcher: Dispatcher
) -> None:
    club = await make_club(sessions, country="GB")
    lea = staff(http, club, sessions)
    twilio_server.answers["+33612345678"] = [(400, {"code": 21211, "message": "Invalid 'To' " + "x" * 700})]
    await lea.send((await lea.start("Member", "m1"))["id"], "Hello", "SMS")
    await dispatcher.drain()
    failed = (await deliveries(sessions, club))["m1"]
    assert failed.status == "FAILED" and failed.reason is not None
    assert len(failed.reason) == 500 and failed.reason.startswith("Twilio 21211: Invalid 'To' xxx")


async def test_with_no_transport_configured_serve_delivers_in_the_log_and_delivery_summary_shows_it(
    sessions: Sessions, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="inbox.transports")
    club = await make_club(sessions)
    async with running_app(channel_settings(database), run_dispatcher=True) as client:
        lea = staff(client, club, sessions)
        message_id = (await broadcast(lea, "EMAIL"))["message"]["id"]
        query = "query($id: ID!) { node(id: $id) { ... on Message { deliverySummary { total sent skipped } } } }"

        async def all_sent() -> bool:
            summary = (await lea.ok(query, {"id": message_id}))["node"]["deliverySummary"]
            return summary == {"total": 5, "sent": 4, "skipped": 1}

        await wait_until(all_sent)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 2  # the lifespan stops its dispatcher promptly
    assert caplog.text.count("delivered by the log transport: EMAIL to") >= 4


def test_claims_are_short_by_default_a_minute_at_most() -> None:
    assert DispatchOptions().lease <= 60
    assert Settings(DATABASE_URL="sqlite+aiosqlite://", INBOX_SECRET_KEY="x" * 32).dispatch_lease <= 60


async def test_a_live_dispatcher_renews_its_claims_and_a_killed_ones_unsent_rows_are_taken_over_after_its_lease(
    sessions: Sessions, http: httpx.AsyncClient, smtp: SmtpServer, database: str, settings: Settings
) -> None:
    """A real `inbox dispatch` process with a 1 s lease holds one send for three leases: its heartbeat
    keeps its claims, so a second dispatcher polling all along takes nothing. Killed, its unsent rows
    go to the second one once the lease has run out; the row in flight is never sent again."""
    club = await make_club(sessions)
    await broadcast(staff(http, club, sessions), "EMAIL")  # m1, m2, m4, m5
    env = {"DATABASE_URL": database, "INBOX_SMTP_URL": smtp.url, "INBOX_DISPATCH_CONCURRENCY": "1",
           "INBOX_DISPATCH_LEASE": "1", "INBOX_EMAIL_FROM": "desk@inbox.example"}
    smtp.handler.hold_from = 2
    process = inbox_command("dispatch", env=env)
    other = Dispatcher(sessions, transports_from_settings(settings), DispatchOptions(lease=1, poll_interval=0.05))
    try:
        async def second_email_held() -> bool:
            return smtp.handler.held.is_set()

        await wait_until(second_email_held, timeout=15)
        taken_meanwhile = 0
        deadline = time.monotonic() + 3  # three leases
        while time.monotonic() < deadline:
            taken_meanwhile += await other.run_once()
            await asyncio.sleep(0.05)
        assert taken_meanwhile == 0, "the live dispatcher's claims were renewed"
    finally:
        process.kill()
        process.communicate(timeout=10)
    smtp.handler.hold_from = None
    in_flight = smtp.received[1].rcpt_tos[0]
    running = asyncio.create_task(other.run())
    try:
        async def settled() -> bool:
            return all(d.status != "QUEUED" for d in (await deliveries(sessions, club)).values() if d.address)

        await wait_until(settled, timeout=15)
    finally:
        other.stop()
        await running
        await other.aclose()
    received = [r.rcpt_tos[0] for r in smtp.received]
    assert sorted(received) == sorted(set(received)) and len(received) == 4
    statuses = {d.address: (d.status, d.reason) for d in (await deliveries(sessions, club)).values() if d.address}
    assert statuses.pop(in_flight) == ("FAILED", INTERRUPTED)
    assert set(statuses.values()) == {("SENT", None)}
