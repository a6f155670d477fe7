"""Two clubs with the same platform ids: every query, mutation and subscription of one club, aimed at the
other's objects, reads null / NOT_FOUND and writes nothing (docs/architecture.md, tenancy)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Message, Smartlist, ThreadState
from tests.factories import ClubFixture
from tests.inbox_client import StaffClient

READS = {
    "node": "query($id: ID!) { node(id: $id) { id } }",
    "nodes": "query($id: ID!) { nodes(ids: [$id]) { id } }",
}
MUTATIONS = [
    ("markThreadRead", "ThreadInput", lambda t: {"threadId": t}),
    ("markThreadUnread", "ThreadInput", lambda t: {"threadId": t}),
    ("setThreadFavorite", "SetThreadFlagInput", lambda t: {"threadId": t, "value": True}),
    ("setThreadMuted", "SetThreadFlagInput", lambda t: {"threadId": t, "value": True}),
    ("setThreadArchived", "SetThreadFlagInput", lambda t: {"threadId": t, "value": True}),
    ("sendMessage", "SendMessageInput", lambda t: {"threadId": t, "channel": "EMAIL", "body": "leak?"}),
]


@pytest.fixture
async def clubs(http: httpx.AsyncClient, club: ClubFixture, other_club: ClubFixture,
                sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    mine, theirs = StaffClient(http, club, sessions), StaffClient(http, other_club, sessions)
    their_thread = await theirs.start("Member", "m1")
    await theirs.send(their_thread["id"], "their private message")
    await theirs.reply("m1", "their member's reply")
    return {"mine": mine, "theirs": theirs, "thread": their_thread}


async def counts(sessions: async_sessionmaker[AsyncSession], club_id: int) -> tuple[int, int, int]:
    async with sessions() as session:
        return (
            int(await session.scalar(select(func.count(Message.id)).where(Message.club_id == club_id)) or 0),
            int(await session.scalar(select(func.count()).select_from(ThreadState)
                                     .where(ThreadState.club_id == club_id)) or 0),
            int(await session.scalar(select(func.count(Smartlist.id)).where(Smartlist.club_id == club_id)) or 0),
        )


async def test_every_read_of_another_clubs_objects_is_null(clubs: dict[str, Any]) -> None:
    mine, theirs, thread = clubs["mine"], clubs["theirs"], clubs["thread"]
    their_ids = [thread["id"], (await theirs.thread(thread["id"]))["lastMessage"]["id"],
                 theirs.target_id("Member", "m1"), theirs.target_id("Smartlist", "l1"),
                 theirs.target_id("Session", "c1")]
    for global_id in their_ids:
        assert (await mine.ok(READS["node"], {"id": global_id}))["node"] is None, global_id
        assert (await mine.ok(READS["nodes"], {"id": global_id}))["nodes"] == [None]
    for category in ("MEMBER", "SMARTLIST", "SESSION"):
        assert (await mine.threads(category))["totalCount"] == 0
    data = await mine.ok('{ members(search: "their") { totalCount } unreadCounts { total } }')
    assert data == {"members": {"totalCount": 0}, "unreadCounts": {"total": 0}}


async def test_every_mutation_on_another_clubs_thread_is_not_found_and_writes_nothing(
    clubs: dict[str, Any], club: ClubFixture, other_club: ClubFixture, sessions: async_sessionmaker[AsyncSession]
) -> None:
    mine, thread = clubs["mine"], clubs["thread"]
    before = await counts(sessions, other_club.club_id), await counts(sessions, club.club_id)
    for name, input_type, make_input in MUTATIONS:
        data = await mine.ok(f"mutation($input: {input_type}!) {{ {name}(input: $input) "
                             "{ userErrors { code field } } }", {"input": make_input(thread["id"])})
        assert data[name]["userErrors"][0]["code"] == "NOT_FOUND", name
    for kind, external_id in (("Member", "m1"), ("Smartlist", "l1"), ("Session", "c1")):
        data = await mine.ok("mutation($id: ID!) { startThread(input: {targetId: $id}) { thread { id } "
                             "userErrors { code } } }", {"id": clubs["theirs"].target_id(kind, external_id)})
        assert data["startThread"] == {"thread": None, "userErrors": [{"code": "NOT_FOUND"}]}
    after = await counts(sessions, other_club.club_id), await counts(sessions, club.club_id)
    assert after == before


async def test_subscriptions_never_carry_another_clubs_data(clubs: dict[str, Any], club: ClubFixture,
                                                            settings: Any) -> None:
    from app.factory import create_app
    from tests.test_subscriptions import MESSAGE_ADDED, THREAD_UPDATED, UNREAD
    from tests.ws_client import GraphQLWebSocket, live_server

    app = create_app(settings, run_dispatcher=False)
    async with live_server(app) as address:
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            theirs = StaffClient(http, clubs["theirs"].club, clubs["theirs"].sessions)
            async with GraphQLWebSocket.open(f"ws://{address}/graphql", club.token()) as ws:
                refused = await ws.subscribe(MESSAGE_ADDED, {"id": clubs["thread"]["id"]})
                assert (await ws.next(refused))["errors"][0]["extensions"]["code"] == "NOT_FOUND"
                assert (await ws.receive()) == {"id": refused, "type": "complete"}
                await ws.subscribe(THREAD_UPDATED)
                unread = await ws.subscribe(UNREAD)
                assert (await ws.next(unread))["data"]["unreadCountsChanged"]["total"] == 0
                await theirs.send(clubs["thread"]["id"], "another private message")
                await theirs.start("Member", "m2")
                await ws.nothing_for(0.5)
