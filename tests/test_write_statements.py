"""The write path's cost: the SQL statements each mutation sends, pinned so a regression fails CI.

Counted on the app's engine with `before_cursor_execute` over the whole request; transaction control
(BEGIN, COMMIT, ROLLBACK) is not a statement, a batched insert (executemany) is one. The staff user
and club come with the cached principal (warmed by the request before), and these payloads ask for
the unread counts (1; read only when asked): the rest is the action, which locks and reads the thread
in one statement, writes each table once, and never reads back what it wrote (the answer's thread
view is built from it). A send's deliveries are one INSERT … SELECT, whatever the number of members;
the change stamp comes with the change-log row (its unique (club_id, seq)), the club's row is not written.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import BASE_MEMBERS, make_club
from tests.inbox_client import StaffClient
from tests.statements import statements

COUNTS = 1  # the payload's unreadCounts
SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
  message { id body } thread { id unreadCount sortKey activityAt } unreadCounts { total } userErrors { code } } }"""
# What the benchmark's send selects: the message's delivery summary, no unread counts.
BENCH_SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
  message { id cursor createdAt deliverySummary { total queued skipped } } thread { id sortKey unreadCount activityAt }
  userErrors { code field message } } }"""
ACTION = """mutation($input: %s!) { %s(input: $input) {
  thread { id unreadCount isFavorite isMuted isArchived sortKey activityAt } unreadCounts { total }
  userErrors { code } } }"""


def listing(sent: list[str]) -> str:
    return "\n".join(statement[:140] for statement in sent)


def writes(sent: list[str]) -> list[str]:
    """The writes, as verb and table: "INSERT message", "UPDATE thread"."""
    words = [statement.split() for statement in sent if not statement.startswith("SELECT")]
    return [f"{w[0]} {w[2] if w[0] == 'INSERT' else w[1]}" for w in words]


async def test_send_message_to_a_member_is_one_read_and_five_writes(app: Any, lea: StaffClient) -> None:
    """Lock and read (thread, member's addresses, sender's state, anyone archived), then the message,
    its delivery, the sender's read marker, the change log (which stamps it) and the thread."""
    thread = (await lea.start("Member", "m1"))["id"]
    await lea.reply("m1", "question")
    await lea.unread_counts()  # the principal is cached
    with statements(app) as sent:
        data = await lea.ok(SEND, {"input": {"threadId": thread, "channel": "EMAIL", "body": "answer"}})
    payload = data["sendMessage"]
    assert payload["userErrors"] == [] and payload["thread"]["unreadCount"] == 0
    assert payload["unreadCounts"]["total"] == 0
    assert writes(sent) == ["INSERT message", "INSERT delivery", "INSERT thread_state", "INSERT thread_change",
                            "UPDATE thread"], listing(sent)
    assert len(sent) == 1 + 5 + COUNTS, listing(sent)


async def test_a_send_without_unread_counts_reads_nothing_after_its_writes(app: Any, lea: StaffClient) -> None:
    """The member's one delivery is queued (their address was checked under the lock): its summary is
    known, and the unread counts are not read when not asked for."""
    thread = (await lea.start("Member", "m1"))["id"]
    await lea.unread_counts()  # the principal is cached
    with statements(app) as sent:
        data = await lea.ok(BENCH_SEND, {"input": {"threadId": thread, "channel": "EMAIL", "body": "answer"}})
    assert data["sendMessage"]["message"]["deliverySummary"] == {"total": 1, "queued": 1, "skipped": 0}
    assert len(sent) == 1 + 5 and not any(s.startswith("SELECT") for s in sent[1:]), listing(sent)


async def broadcast_statements(app: Any, lea: StaffClient) -> tuple[list[str], dict[str, int]]:
    """The statements of an email to the club's "Everyone" smartlist, and its delivery summary."""
    thread = (await lea.start("Smartlist", "l2"))["id"]
    await lea.unread_counts()  # the principal is cached
    with statements(app) as sent:
        data = await lea.ok(BENCH_SEND, {"input": {"threadId": thread, "channel": "EMAIL", "body": "news"}})
    assert data["sendMessage"]["userErrors"] == []
    return sent, data["sendMessage"]["message"]["deliverySummary"]


async def test_a_broadcast_costs_the_same_statements_whatever_its_size(
        app: Any, http: httpx.AsyncClient, lea: StaffClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Lock and read, the smartlist, the message, its deliveries in one INSERT … SELECT, the sender's
    state, the change log, the thread, then the summary; only this club's members."""
    many = BASE_MEMBERS + [{"id": f"x{n}", "memberNumber": f"X-{n}", "firstName": "Extra", "lastName": f"N{n}",
                            "email": f"x{n}@example.com" if n % 3 else None, "registeredAt": "2024-01-01"}
                           for n in range(120)]
    big = StaffClient(http, await make_club(sessions, members=many), sessions, "s1")
    small_sent, small = await broadcast_statements(app, lea)
    big_sent, summary = await broadcast_statements(app, big)
    assert small == {"total": 5, "queued": 4, "skipped": 1}
    assert summary == {"total": 125, "queued": 4 + 80, "skipped": 1 + 40}
    assert writes(big_sent) == ["INSERT message", "INSERT delivery", "INSERT thread_state", "INSERT thread_change",
                                "UPDATE thread"], listing(big_sent)
    assert len(big_sent) == len(small_sent) == 2 + 5 + 1, listing(big_sent)


async def test_a_send_to_an_archived_thread_also_restores_it_for_everyone(app: Any, lea: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    await lea.as_staff("s2").action("setThreadArchived", thread, True)
    with statements(app) as sent:
        await lea.ok(SEND, {"input": {"threadId": thread, "channel": "EMAIL", "body": "back"}})
    assert "UPDATE thread_state" in writes(sent), listing(sent)
    assert (await lea.as_staff("s2").thread(thread))["isArchived"] is False


@pytest.mark.parametrize(("mutation", "value"), [
    ("setThreadFavorite", True), ("setThreadMuted", True), ("setThreadArchived", True), ("markThreadRead", None),
    ("markThreadUnread", None),
])
async def test_a_viewer_action_is_one_read_and_two_writes(app: Any, lea: StaffClient, mutation: str,
                                                          value: bool | None) -> None:
    """Lock and read (thread and the viewer's state), then the change log (which stamps it) and the
    viewer's state in one upsert."""
    thread = (await lea.start("Member", "m1"))["id"]
    await lea.send(thread, "staff wrote")
    await lea.reply("m1", "member wrote")
    if mutation == "markThreadUnread":
        await lea.action("markThreadRead", thread)
    input_type = "ThreadInput" if value is None else "SetThreadFlagInput"
    variables: dict[str, Any] = {"threadId": thread, **({} if value is None else {"value": value})}
    await lea.unread_counts()  # the principal is cached
    with statements(app) as sent:
        data = await lea.ok(ACTION % (input_type, mutation), {"input": variables})
    assert data[mutation]["userErrors"] == []
    assert writes(sent) == ["INSERT thread_change", "INSERT thread_state"], listing(sent)
    assert len(sent) == 1 + 2 + COUNTS, listing(sent)
    # Without unreadCounts in its payload, the action reads nothing after its writes.
    await lea.action("markThreadRead" if mutation == "markThreadUnread" else "markThreadUnread", thread)
    if value is not None:
        variables["value"] = not value
        await lea.ok(ACTION % (input_type, mutation), {"input": variables})
        variables["value"] = value
    without_counts = ACTION.replace(" unreadCounts { total }", "")
    with statements(app) as sent:
        data = await lea.ok(without_counts % (input_type, mutation), {"input": variables})
    assert data[mutation]["userErrors"] == [] and "unreadCounts" not in data[mutation]
    assert len(sent) == 1 + 2, listing(sent)


async def test_a_viewer_action_that_changes_nothing_writes_nothing(app: Any, lea: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    await lea.action("setThreadFavorite", thread, True)
    await lea.unread_counts()  # the principal is cached
    with statements(app) as sent:
        data = await lea.ok(ACTION % ("SetThreadFlagInput", "setThreadFavorite"),
                            {"input": {"threadId": thread, "value": True}})
    assert data["setThreadFavorite"]["thread"]["isFavorite"] is True
    assert writes(sent) == [] and len(sent) == 1 + COUNTS, listing(sent)
