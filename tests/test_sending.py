"""Sending messages (docs/rules.md, Messages): recipients, consent, broadcasts, add-on, validation, idempotency."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Delivery, Message
from tests.factories import ClubFixture, make_club
from tests.inbox_client import StaffClient

SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
  message { id subject body channel direction author { __typename ... on Staff { name } }
            deliverySummary { total queued sent delivered failed skipped }
            deliveries(first: 100) { totalCount edges { node { status reason address channel
                                                                member { externalId } } } } }
  thread { id unreadCount } userErrors { code field message } } }"""


async def send(lea: StaffClient, **input: Any) -> dict[str, Any]:
    return (await lea.ok(SEND, {"input": input}))["sendMessage"]


async def stored_messages(sessions: async_sessionmaker[AsyncSession], club: ClubFixture) -> tuple[int, int]:
    async with sessions() as session:
        messages = await session.scalar(select(func.count(Message.id)).where(Message.club_id == club.club_id))
        deliveries = await session.scalar(select(func.count(Delivery.id)).where(Delivery.club_id == club.club_id))
    return int(messages or 0), int(deliveries or 0)


async def test_a_member_thread_sends_one_queued_delivery_to_the_members_address(lea: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    result = await send(lea, threadId=thread, channel="EMAIL", body="Hello Héloïse", subject="News")
    message = result["message"]
    assert result["userErrors"] == []
    assert (message["subject"], message["direction"], message["author"]) == (
        "News", "OUTBOUND", {"__typename": "Staff", "name": "Léa Martin"})
    assert message["deliverySummary"] == {"total": 1, "queued": 1, "sent": 0, "delivered": 0, "failed": 0,
                                          "skipped": 0}
    assert message["deliveries"]["edges"][0]["node"] == {
        "status": "QUEUED", "reason": None, "address": "heloise@example.com", "channel": "EMAIL",
        "member": {"externalId": "m1"}}


async def test_an_email_without_subject_gets_the_clubs_name(lea: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    result = await send(lea, threadId=thread, channel="EMAIL", body="Hi")
    assert result["message"]["subject"] == f"Club {lea.club.slug}"


@pytest.mark.parametrize(("member", "channel", "reason"), [
    ("m3", "EMAIL", "no email address"), ("m4", "SMS", "no phone number"), ("m3", "SMS", "opted out of SMS"),
])
async def test_a_member_thread_without_address_or_consent_refuses_and_stores_nothing(
    lea: StaffClient, sessions: async_sessionmaker[AsyncSession], member: str, channel: str, reason: str
) -> None:
    thread = (await lea.start("Member", member))["id"]
    before = await stored_messages(sessions, lea.club)
    result = await send(lea, threadId=thread, channel=channel, body="Hello")
    assert result["message"] is None and result["thread"] is None
    assert result["userErrors"][0]["code"] == "NO_RECIPIENT_ADDRESS" and reason in result["userErrors"][0]["message"]
    assert await stored_messages(sessions, lea.club) == before


async def test_a_smartlist_broadcast_skips_members_without_address_with_the_reason(lea: StaffClient) -> None:
    thread = (await lea.start("Smartlist", "l2"))["id"]  # everyone: m1..m5
    result = await send(lea, threadId=thread, channel="SMS", body="Class cancelled")
    message = result["message"]
    by_member = {e["node"]["member"]["externalId"]: (e["node"]["status"], e["node"]["reason"])
                 for e in message["deliveries"]["edges"]}
    assert by_member == {
        "m1": ("QUEUED", None), "m2": ("QUEUED", None), "m3": ("SKIPPED", "opted out of SMS"),
        "m4": ("SKIPPED", "no phone number"), "m5": ("SKIPPED", "no phone number"),
    }
    assert message["deliverySummary"]["total"] == 5 and message["deliverySummary"]["skipped"] == 3


async def test_a_smartlist_sends_to_its_members_at_send_time(lea: StaffClient) -> None:
    thread = (await lea.start("Smartlist", "l1"))["id"]  # tag premium: m1
    result = await send(lea, threadId=thread, channel="EMAIL", body="Premium news")
    assert [e["node"]["member"]["externalId"] for e in result["message"]["deliveries"]["edges"]] == ["m1"]


async def test_a_broadcast_to_nobody_is_refused_with_no_recipient(lea: StaffClient) -> None:
    thread = (await lea.start("Smartlist", "l3"))["id"]
    result = await send(lea, threadId=thread, channel="EMAIL", body="Anyone?")
    assert result["userErrors"][0]["code"] == "NO_RECIPIENT"
    empty_class = (await lea.start("Session", "c2"))["id"]
    result = await send(lea, threadId=empty_class, channel="EMAIL", body="Anyone?")
    assert result["userErrors"][0]["code"] == "NO_RECIPIENT"


async def test_a_session_sends_to_bookings_and_to_the_waitlist_only_when_asked(lea: StaffClient) -> None:
    thread = (await lea.start("Session", "c1"))["id"]
    booked = await send(lea, threadId=thread, channel="EMAIL", body="See you")
    assert [e["node"]["member"]["externalId"] for e in booked["message"]["deliveries"]["edges"]] == [
        "m1", "m3", "m4"]
    everyone = await send(lea, threadId=thread, channel="EMAIL", body="See you all", includeWaitlist=True)
    assert [e["node"]["member"]["externalId"] for e in everyone["message"]["deliveries"]["edges"]] == [
        "m1", "m3", "m4", "m2"]


async def test_sms_needs_the_sms_addon(http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    club = await make_club(sessions, addons=["inbox"])
    lea = StaffClient(http, club, sessions, "s1")
    thread = (await lea.start("Member", "m1"))["id"]
    result = await send(lea, threadId=thread, channel="SMS", body="Hi")
    assert result["userErrors"][0]["code"] == "ADDON_REQUIRED"
    assert (await send(lea, threadId=thread, channel="EMAIL", body="Hi"))["userErrors"] == []


@pytest.mark.parametrize(("input", "field"), [
    ({"channel": "EMAIL", "body": "   \n "}, "body"),
    ({"channel": "SMS", "body": "x" * 1601}, "body"),
    ({"channel": "EMAIL", "body": "x" * 100_001}, "body"),
    ({"channel": "SMS", "body": "Hi", "subject": "Nope"}, "subject"),
])
async def test_blank_or_oversized_bodies_and_subjects_on_sms_are_invalid_input(
    lea: StaffClient, input: dict[str, Any], field: str
) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    result = await send(lea, threadId=thread, **input)
    assert result["userErrors"][0]["code"] == "INVALID_INPUT" and result["userErrors"][0]["field"] == ["input", field]


async def test_bodies_at_the_limits_are_accepted(lea: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    assert (await send(lea, threadId=thread, channel="SMS", body="x" * 1600))["userErrors"] == []


async def test_an_unknown_or_foreign_thread_is_not_found(lea: StaffClient, other_club: ClubFixture,
                                                         sessions: async_sessionmaker[AsyncSession]) -> None:
    theirs = StaffClient(lea.http, other_club, sessions, "s1")
    foreign = (await theirs.start("Member", "m1"))["id"]
    for thread in (foreign, "garbage"):
        result = await send(lea, threadId=thread, channel="EMAIL", body="Hi")
        assert result["userErrors"][0]["code"] == "NOT_FOUND"


async def test_a_retried_idempotency_key_returns_the_first_message_and_sends_nothing(
    lea: StaffClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    thread = (await lea.start("Smartlist", "l2"))["id"]
    first = await send(lea, threadId=thread, channel="EMAIL", body="Once", idempotencyKey="k-1")
    before = await stored_messages(sessions, lea.club)
    again = await send(lea, threadId=thread, channel="EMAIL", body="Once", idempotencyKey="k-1")
    assert again["message"]["id"] == first["message"]["id"]
    assert await stored_messages(sessions, lea.club) == before
    changed = await send(lea, threadId=thread, channel="EMAIL", body="Twice?", idempotencyKey="k-1")
    assert changed["userErrors"] == [{"code": "INVALID_INPUT", "field": ["input", "idempotencyKey"],
                                      "message": "This idempotency key was used for another message"}]


async def test_concurrent_retries_with_one_idempotency_key_store_one_message(
    lea: StaffClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    thread = (await lea.start("Smartlist", "l2"))["id"]
    before = await stored_messages(sessions, lea.club)
    results = await asyncio.gather(*[
        send(lea, threadId=thread, channel="EMAIL", body="Race", idempotencyKey="race-1") for _ in range(8)])
    assert len({r["message"]["id"] for r in results}) == 1
    messages, deliveries = await stored_messages(sessions, lea.club)
    assert (messages, deliveries) == (before[0] + 1, before[1] + 5)


async def test_idempotency_keys_are_per_staff_user(lea: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    mine = await send(lea, threadId=thread, channel="EMAIL", body="Same", idempotencyKey="shared")
    theirs = await send(lea.as_staff("s2"), threadId=thread, channel="EMAIL", body="Same", idempotencyKey="shared")
    assert mine["message"]["id"] != theirs["message"]["id"]


async def test_a_broadcast_to_thousands_records_every_delivery_in_the_same_transaction(
    http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from tests.factories import BASE_MEMBERS

    many = [{**BASE_MEMBERS[1], "id": f"x{i}", "memberNumber": f"X-{i}", "email": f"x{i}@example.com",
             "phone": None} for i in range(2100)]
    club = await make_club(sessions, members=many + BASE_MEMBERS)
    lea = StaffClient(http, club, sessions, "s1")
    thread = (await lea.start("Smartlist", "l2"))["id"]
    result = await send(lea, threadId=thread, channel="EMAIL", body="Big news")
    assert result["message"]["deliverySummary"] == {"total": 2105, "queued": 2104, "sent": 0, "delivered": 0,
                                                    "failed": 0, "skipped": 1}


async def test_deliveries_can_be_listed_by_status(lea: StaffClient) -> None:
    thread = (await lea.start("Smartlist", "l2"))["id"]
    sent = await send(lea, threadId=thread, channel="SMS", body="Tonight's class is full")
    query = """query($id: ID!, $status: [DeliveryStatus!]) { node(id: $id) { ... on Message {
      deliveries(status: $status, first: 10) { totalCount edges { node { status member { externalId } } } } } } }"""
    skipped = (await lea.ok(query, {"id": sent["message"]["id"], "status": ["SKIPPED"]}))["node"]["deliveries"]
    assert skipped["totalCount"] == 3 and {e["node"]["status"] for e in skipped["edges"]} == {"SKIPPED"}
    queued = (await lea.ok(query, {"id": sent["message"]["id"], "status": ["QUEUED", "SENT"]}))["node"]["deliveries"]
    assert [e["node"]["member"]["externalId"] for e in queued["edges"]] == ["m1", "m2"]
