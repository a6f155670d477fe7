"""What generated and cached clients rely on (contract.graphql): thread(id:), UnreadCounts.id, a nullable
`status` that means ALL, and error messages in GraphQL's words."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.factory import create_app
from inbox.settings import Settings
from tests.factories import ClubFixture
from tests.inbox_client import THREAD_FIELDS, StaffClient, global_id
from tests.ws_client import GraphQLWebSocket, live_server

THREAD = f"query($id: ID!) {{ thread(id: $id) {{ {THREAD_FIELDS} }} }}"
COUNTS = "id members smartlists sessions total"
SEND = f"mutation($input: SendMessageInput!) {{ sendMessage(input: $input) {{ unreadCounts {{ {COUNTS} }} }} }}"


# --- thread(id:) ----------------------------------------------------------------------------------

async def test_thread_by_id_answers_the_viewers_thread(lea: StaffClient) -> None:
    started = await lea.start("Member", "m1")
    await lea.reply("m1", "hello")
    thread = (await lea.ok(THREAD, {"id": started["id"]}))["thread"]
    assert thread["id"] == started["id"] and thread["unreadCount"] == 1
    assert thread["target"] == {"__typename": "Member", "externalId": "m1"}
    assert thread == await lea.thread(started["id"]), "thread(id:) and node(id:) answer the same thread"


async def test_thread_by_id_is_null_for_unknown_malformed_and_other_types_ids(lea: StaffClient) -> None:
    await lea.start("Member", "m1")
    for wrong in (global_id("Thread", 987_654_321), "not-an-id", "", lea.target_id("Member", "m1"),
                  global_id("Club", lea.club.club_id)):
        body = await lea.query(THREAD, {"id": wrong})
        assert body["data"] == {"thread": None} and "errors" not in body, wrong


async def test_thread_by_id_of_another_club_is_null(lea: StaffClient, other_club: ClubFixture) -> None:
    theirs = await StaffClient(lea.http, other_club, lea.sessions).start("Member", "m1")
    body = await lea.query(THREAD, {"id": theirs["id"]})
    assert body["data"] == {"thread": None} and "errors" not in body


async def test_date_times_carry_their_utc_offset(lea: StaffClient) -> None:
    """The DateTime scalar's description: ISO-8601 with a UTC offset."""
    started = await lea.start("Member", "m1")
    created = (await lea.ok(THREAD, {"id": started["id"]}))["thread"]["createdAt"]
    assert dt.datetime.fromisoformat(created).utcoffset() is not None, created


# --- UnreadCounts.id ------------------------------------------------------------------------------

async def test_unread_counts_have_one_id_per_viewer_in_queries_and_every_payload(lea: StaffClient) -> None:
    tom = lea.as_staff("s2")
    thread = (await lea.start("Member", "m1"))["id"]
    await lea.reply("m1", "question")
    counts_id = (await lea.ok(f"{{ unreadCounts {{ {COUNTS} }} }}"))["unreadCounts"]["id"]
    assert counts_id == (await lea.ok("{ unreadCounts { id } }"))["unreadCounts"]["id"], "stable across reads"
    tom_id = (await tom.ok("{ unreadCounts { id } }"))["unreadCounts"]["id"]
    assert tom_id != counts_id, "each viewer has counts of his own"
    staff_id = (await lea.ok("{ viewer { id } }"))["viewer"]["id"]
    assert counts_id != staff_id, "the counts are not the staff user"

    for mutation, input_type, extra in [("markThreadRead", "ThreadInput", {}),
                                        ("markThreadUnread", "ThreadInput", {}),
                                        ("setThreadFavorite", "SetThreadFlagInput", {"value": True}),
                                        ("setThreadMuted", "SetThreadFlagInput", {"value": True}),
                                        ("setThreadArchived", "SetThreadFlagInput", {"value": False})]:
        data = await lea.ok(f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ "
                            f"unreadCounts {{ {COUNTS} }} userErrors {{ code }} }} }}",
                            {"input": {"threadId": thread, **extra}})
        assert data[mutation]["unreadCounts"]["id"] == counts_id, data
    for staff, expected in ((lea, counts_id), (tom, tom_id)):
        data = await staff.ok(SEND, {"input": {"threadId": thread, "channel": "EMAIL", "body": "answer"}})
        assert data["sendMessage"]["unreadCounts"]["id"] == expected, data


@pytest.fixture(scope="module")
async def live_url(settings: Settings) -> AsyncIterator[str]:
    app = create_app(settings, run_dispatcher=False)
    async with live_server(app) as address:
        yield address


async def test_unread_counts_changed_carries_the_same_id(live_url: str, club: ClubFixture,
                                                         sessions: async_sessionmaker[AsyncSession]) -> None:
    async with httpx.AsyncClient(base_url=f"http://{live_url}") as http:
        lea = StaffClient(http, club, sessions)
        thread = (await lea.start("Member", "m1"))["id"]
        await lea.as_staff("s2").send(thread, "a colleague's message")
        counts_id = (await lea.ok("{ unreadCounts { id } }"))["unreadCounts"]["id"]
        async with GraphQLWebSocket.open(f"ws://{live_url}/graphql", club.token()) as ws:
            sub = await ws.subscribe(f"subscription {{ unreadCountsChanged {{ {COUNTS} }} }}")
            first = (await ws.next(sub))["data"]["unreadCountsChanged"]
            assert (first["id"], first["total"]) == (counts_id, 0)
            await lea.action("markThreadUnread", thread)
            pushed = (await ws.next(sub))["data"]["unreadCountsChanged"]
            assert (pushed["id"], pushed["total"]) == (counts_id, 1)


# --- threads(status:) -----------------------------------------------------------------------------

LIST = "query($s: ThreadStatusFilter) { threads(category: MEMBER, status: $s) { edges { node { id } } } }"


async def ids_listed(lea: StaffClient, query: str, variables: dict[str, Any] | None = None) -> list[str]:
    return [edge["node"]["id"] for edge in (await lea.ok(query, variables))["threads"]["edges"]]


async def test_status_null_or_omitted_means_all(lea: StaffClient) -> None:
    kept = (await lea.start("Member", "m1"))["id"]
    archived = (await lea.start("Member", "m2"))["id"]
    await lea.action("setThreadArchived", archived, True)
    everything = await ids_listed(lea, LIST, {"s": "ALL"})
    assert kept in everything and archived not in everything
    assert await ids_listed(lea, LIST, {"s": None}) == everything, "a variable sent as null"
    assert await ids_listed(lea, LIST, {}) == everything, "a variable left unset"
    literal = "{ threads(category: MEMBER, status: null) { edges { node { id } } } }"
    assert await ids_listed(lea, literal) == everything
    assert await ids_listed(lea, "{ threads(category: MEMBER) { edges { node { id } } } }") == everything


NULL_MISUSES = [
    ("{ threads(category: null) { totalCount } }", {}),
    ("query($c: ThreadCategory!) { threads(category: $c) { totalCount } }", {"c": None}),
    ("query($s: ThreadStatusFilter!) { threads(category: MEMBER, status: $s) { totalCount } }", {"s": None}),
    ("{ nodes(ids: [null]) { id } }", {}),
    ("query($id: ID!) { thread(id: $id) { id } }", {"id": None}),
    ("mutation { sendMessage(input: {threadId: null, channel: EMAIL, body: \"x\"}) { userErrors { code } } }", {}),
]


@pytest.mark.parametrize(("query", "variables"), NULL_MISUSES)
async def test_errors_about_null_say_null_never_pythons_none(lea: StaffClient, query: str,
                                                             variables: dict[str, Any]) -> None:
    body = await lea.query(query, variables, expect_status=None)
    messages = [error["message"] for error in body["errors"]]
    assert messages and all("None" not in message for message in messages), messages
    assert any("null" in message for message in messages), messages


async def test_subscription_errors_about_null_say_null(live_url: str, club: ClubFixture) -> None:
    async with GraphQLWebSocket.open(f"ws://{live_url}/graphql", club.token()) as ws:
        sub = await ws.subscribe("subscription($id: ID!) { messageAdded(threadId: $id) { id } }", {"id": None})
        message = await ws.receive(operation_id=sub)
        assert message["type"] == "error", message
        text = " ".join(error["message"] for error in message["payload"])
        assert "None" not in text and "null" in text, text
