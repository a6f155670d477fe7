"""`inbox unmatched`: operators see the inbound messages that matched no member (never silently dropped)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.inbound import NO_CLUB_NUMBER, UNKNOWN_SENDER, list_unmatched
from tests.factories import make_club
from tests.servers import channel_settings, inbox_command, mailgun_signed, post_sms, running_app


@pytest.fixture(scope="module")
async def hooks(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(channel_settings(database_url)) as client:
        yield client


def unmatched_command(database_url: str, *args: str) -> tuple[int, str, str]:
    process = inbox_command("unmatched", *args, env={"DATABASE_URL": database_url})
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


async def test_inbox_unmatched_lists_them_newest_first_with_time_club_channel_sender_and_reason(
    hooks: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    club = await make_club(sessions, country="GB")
    number, address = club.document["club"]["smsNumber"], club.document["club"]["inboundEmail"]
    await post_sms(hooks, From="+447700900777", To=number, Body="Hi", MessageSid="SM-u1")
    email = {"sender": "who@example.net", "recipient": address, "subject": "Hello", "body-plain": "Hello",
             "Message-Id": "<u2@example.net>", **mailgun_signed()}
    assert (await hooks.post("/webhooks/email", data=email)).status_code == 200
    await post_sms(hooks, From="+447700900777", To="+15005550009", Body="?", MessageSid="SM-u3")

    code, out, err = unmatched_command(database_url, "--limit", "3")
    assert code == 0, err
    header, *lines = out.splitlines()
    assert header.split("\t") == ["received", "club", "channel", "sender", "recipient", "reason"]
    rows = [line.split("\t") for line in lines]
    assert [row[1:] for row in rows] == [
        ["-", "SMS", "+447700900777", "+15005550009", NO_CLUB_NUMBER],
        [club.slug, "EMAIL", "who@example.net", address, UNKNOWN_SENDER],
        [club.slug, "SMS", "+447700900777", number, UNKNOWN_SENDER]]
    assert rows[0][0] >= rows[2][0] and "T" in rows[0][0]

    async with sessions() as session:
        only_club = await list_unmatched(session, club_slug=club.slug)
    assert [(row.provider_message_id, slug) for row, slug in only_club] == [
        ("u2@example.net", club.slug), ("SM-u1", club.slug)]


def test_inbox_unmatched_for_an_unknown_club_is_one_line_on_stderr(database_url: str) -> None:
    code, out, err = unmatched_command(database_url, "--club", "no-such-club")
    assert (code, out, err) == (1, "", "error: no club with slug 'no-such-club'\n")
