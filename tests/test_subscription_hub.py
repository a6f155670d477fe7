"""Subscriptions at scale, pinned without timing: a process reads each change once for all its
subscribers of a club, idle subscribers cost no query, and a busy pool delays updates instead of
ending subscriptions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from graphql import ExecutionResult
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.factory import create_app
from app.graphql_view import InboxGraphQL, dumps
from inbox.actions import record_member_reply
from inbox.changes import publish_changes
from inbox.settings import Settings
from inbox.threads import thread_change
from models import Thread
from models.engine import club_session
from subscriptions.grouping import EXECUTIONS, SharedEvent
from tests.factories import ClubFixture
from tests.test_subscriptions import MESSAGE_ADDED, THREAD_UPDATED, UNREAD, Live
from tests.ws_client import GraphQLWebSocket, live_server


@pytest.fixture(scope="module")
async def hub_live(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Live]:
    # A pool that gives up quickly, so that the busy-pool test sees the hub's rounds fail and retry.
    app = create_app(settings.model_copy(update={"db_pool_timeout": 0.2}), run_dispatcher=False)
    async with live_server(app) as address:
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            yield Live(address, app, http, sessions)


@contextmanager
def statements(live: Live) -> Iterator[list[str]]:
    """Every SQL statement the server sends while the block runs."""
    engine = live.app.state.services.sessions.kw["bind"].sync_engine
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def member_reply(live: Live, club: ClubFixture, member: str, body: str) -> Any:
    """A member's reply, committed; returns its change, to publish when the test wants."""
    async with club_session(live.sessions, club.club_id) as session:
        message = await record_member_reply(session, club.club_id, club.member_ids[member], channel="SMS", body=body)
        thread = await session.scalar(select(Thread).where(Thread.id == message.thread_id))
        assert thread is not None
    return thread_change(thread, "MESSAGE_ADDED", message=message)


async def subscribers(stack: AsyncExitStack, live: Live, club: ClubFixture, count: int,
                      thread_id: str) -> list[tuple[GraphQLWebSocket, list[str]]]:
    """`count` connections, alternating between two staff users, each with the three subscriptions."""
    opened = []
    for i in range(count):
        ws = await stack.enter_async_context(live.socket(club, ("s1", "s2")[i % 2]))
        subs = [await ws.subscribe(THREAD_UPDATED), await ws.subscribe(MESSAGE_ADDED, {"id": thread_id}),
                await ws.subscribe(UNREAD)]
        assert "unreadCountsChanged" in (await ws.next(subs[2]))["data"]
        opened.append((ws, subs))
    await asyncio.sleep(0.3)  # every subscription admitted by the hub
    return opened


async def statements_for_one_reply(live: Live, club: ClubFixture, count: int) -> int:
    lea = live.staff(club)
    member = "m1" if count < 5 else "m2"
    thread = await lea.start("Member", member)
    async with AsyncExitStack() as stack:
        opened = await subscribers(stack, live, club, count, thread["id"])
        change = await member_reply(live, club, member, f"to {count}")
        with statements(live) as seen:
            await publish_changes(live.app.state.services.bus, [change])
            for ws, (updates, messages, counts) in opened:
                update = (await ws.next(updates))["data"]["threadUpdated"]
                assert (update["reason"], update["message"]) == ("MESSAGE_ADDED", {"body": f"to {count}"})
                assert update["thread"]["target"] == {"externalId": member}
                assert (await ws.next(messages))["data"]["messageAdded"]["body"] == f"to {count}"
                assert (await ws.next(counts))["data"]["unreadCountsChanged"]["members"] >= 1
            await asyncio.sleep(0.2)
        return len(seen)


async def test_one_message_to_many_subscribers_costs_the_same_statements_as_to_a_few(
    hub_live: Live, club: ClubFixture
) -> None:
    """Per process and event the change is read once: the statements do not grow with subscribers."""
    few = await statements_for_one_reply(hub_live, club, 2)
    many = await statements_for_one_reply(hub_live, club, 8)
    assert many <= few, (few, many)
    # The change log, the views (which bring each thread's target and last message along: nothing is read
    # again for the selections), the new messages, the unread counts; and a BEGIN on SQLite.
    assert many <= 5


async def test_idle_subscribers_send_no_statements(hub_live: Live, club: ClubFixture) -> None:
    thread = await hub_live.staff(club).start("Member", "m1")
    async with AsyncExitStack() as stack:
        await subscribers(stack, hub_live, club, 4, thread["id"])
        with statements(hub_live) as seen:
            await asyncio.sleep(1.5)
    assert seen == []


async def test_the_safety_check_is_one_per_club_whatever_the_subscribers(
    hub_live: Live, club: ClubFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subscriptions.resolvers

    monkeypatch.setattr(subscriptions.resolvers, "SAFETY_CHECK_SECONDS", 0.25)
    thread = await hub_live.staff(club).start("Member", "m1")
    async with AsyncExitStack() as stack:
        opened = await subscribers(stack, hub_live, club, 6, thread["id"])
        with statements(hub_live) as seen:
            await asyncio.sleep(1.0)  # about four checks
        for ws, _ in opened:
            await ws.nothing_for(0.05)
    rounds = [s for s in seen if "thread.last_seq" in s and "FROM thread" in s]
    assert 1 <= len(rounds) <= 6, seen  # one check per round for the club, not one per subscriber (18)


async def test_a_busy_pool_delays_updates_and_ends_no_subscription(hub_live: Live, club: ClubFixture) -> None:
    thread = await hub_live.staff(club).start("Member", "m3")
    engine = hub_live.app.state.services.sessions.kw["bind"]
    async with AsyncExitStack() as stack:
        opened = await subscribers(stack, hub_live, club, 3, thread["id"])
        change = await member_reply(hub_live, club, "m3", "after the rush")
        held = []
        try:
            for _ in range(engine.pool.size() + engine.pool._max_overflow):  # every connection of the pool
                held.append(await engine.connect())
            await publish_changes(hub_live.app.state.services.bus, [change])
            await asyncio.sleep(1.0)  # the hub's rounds fail on the pool meanwhile, and are retried
        finally:
            for connection in held:
                await connection.close()
        for ws, (updates, messages, counts) in opened:
            update = await ws.next(updates, timeout=10)
            assert "errors" not in update and update["data"]["threadUpdated"]["reason"] == "MESSAGE_ADDED"
            assert (await ws.next(messages, timeout=10))["data"]["messageAdded"]["body"] == "after the rush"
            assert "errors" not in await ws.next(counts, timeout=10)


async def raw_next(ws: GraphQLWebSocket) -> str:
    """The next `next` frame as the server sent it (pings answered)."""
    while True:
        raw = await asyncio.wait_for(ws.connection.recv(), 5)
        if '"type":"ping"' not in raw:
            assert '"type":"next"' in raw, raw
            return raw
        await ws.send({"type": "pong"})


async def test_an_event_is_executed_once_per_group_and_each_staff_user_gets_their_own_answer(
    hub_live: Live, club: ClubFixture
) -> None:
    """Subscribers with the same document, variables and view share one execution and the same bytes;
    another staff user's (their own flags and unread count) is executed apart."""
    lea = hub_live.staff(club, "s1")
    thread = await lea.start("Member", "m4")
    await lea.action("setThreadFavorite", thread["id"], True)  # s1's own flag: s2 does not see it
    async with AsyncExitStack() as stack:
        sockets = {staff: [await stack.enter_async_context(hub_live.socket(club, staff)) for _ in range(4)]
                   for staff in ("s1", "s2")}
        for staff_sockets in sockets.values():
            for ws in staff_sockets:
                await ws.subscribe(THREAD_UPDATED, {"category": "MEMBER"})
        await asyncio.sleep(0.3)  # every subscription admitted by the hub
        change = await member_reply(hub_live, club, "m4", "to two groups")
        before = replace(EXECUTIONS)
        await publish_changes(hub_live.app.state.services.bus, [change])
        frames = {staff: [await raw_next(ws) for ws in staff_sockets] for staff, staff_sockets in sockets.items()}
    assert EXECUTIONS.executed - before.executed == 2  # one per staff user, not one per subscriber (8)
    assert EXECUTIONS.shared - before.shared == 6
    assert EXECUTIONS.sent - before.sent == 6  # the others sent the payload their group's first one encoded
    assert len(set(frames["s1"])) == len(set(frames["s2"])) == 1  # the same bytes within a group
    s1, s2 = (json.loads(frames[staff][0])["payload"]["data"]["threadUpdated"] for staff in ("s1", "s2"))
    assert (s1["thread"]["isFavorite"], s2["thread"]["isFavorite"]) == (True, False)
    assert s1["message"] == s2["message"] == {"body": "to two groups"}
    assert s1["updatesCursor"] != s2["updatesCursor"]  # each staff user's own update stream


async def test_different_documents_of_one_viewer_are_executed_apart(hub_live: Live, club: ClubFixture) -> None:
    thread = await hub_live.staff(club).start("Member", "m5")
    other = THREAD_UPDATED.replace("reason updatesCursor", "reason")
    async with AsyncExitStack() as stack:
        first, second = [await stack.enter_async_context(hub_live.socket(club, "s1")) for _ in range(2)]
        await first.subscribe(THREAD_UPDATED)
        await second.subscribe(other)
        await asyncio.sleep(0.3)
        change = await member_reply(hub_live, club, "m5", "two documents")
        before = replace(EXECUTIONS)
        await publish_changes(hub_live.app.state.services.bus, [change])
        one, two = (await first.next())["data"]["threadUpdated"], (await second.next())["data"]["threadUpdated"]
    assert EXECUTIONS.executed - before.executed == 2
    assert "updatesCursor" in one and "updatesCursor" not in two
    assert one["thread"]["id"] == two["thread"]["id"] == thread["id"]


async def test_new_messages_and_unread_counts_are_executed_once_per_staff_user(
    hub_live: Live, club: ClubFixture
) -> None:
    thread = await hub_live.staff(club).start("Member", "m2")
    async with AsyncExitStack() as stack:
        opened = []
        for staff in ("s1", "s2", "s1", "s2", "s1", "s2"):
            ws = await stack.enter_async_context(hub_live.socket(club, staff))
            messages, counts = await ws.subscribe(MESSAGE_ADDED, {"id": thread["id"]}), await ws.subscribe(UNREAD)
            await ws.next(counts)  # the current counts, at once
            opened.append((ws, messages, counts))
        await asyncio.sleep(0.3)
        change = await member_reply(hub_live, club, "m2", "once per staff user")
        before = replace(EXECUTIONS)
        await publish_changes(hub_live.app.state.services.bus, [change])
        for ws, messages, counts in opened:
            assert (await ws.next(messages))["data"]["messageAdded"]["body"] == "once per staff user"
            assert (await ws.next(counts))["data"]["unreadCountsChanged"]["members"] >= 1
    assert EXECUTIONS.executed - before.executed == 4  # (messageAdded, unreadCountsChanged) x two staff users


async def test_a_groups_payload_is_encoded_once_and_waited_for_by_the_others() -> None:
    event, key = SharedEvent(), ("operation", (), None)
    assert event.claim(key) is None  # the first subscriber executes and sends
    waiting = event.claim(key)
    assert waiting is not None and not waiting.done()
    result = event.results[key] = ExecutionResult(data={"threadUpdated": {"reason": "MESSAGE_ADDED"}})
    payload = {"data": result.data, "extensions": {"cost": 12}}
    assert event.encoded(key, {"threadUpdated": {"reason": "MESSAGE_ADDED"}}, payload, dumps) is None  # not its data
    text = event.encoded(key, result.data, payload, dumps)
    assert text == dumps(payload) and await waiting == text
    assert event.encoded(key, result.data, payload, lambda _: "encoded again") == text
    event.settle(key)
    assert await waiting == text


async def test_a_group_whose_first_subscriber_sends_no_shared_payload_executes_again() -> None:
    event, key = SharedEvent(), ("operation", (), None)
    assert event.claim(key) is None
    waiting = event.claim(key)
    assert waiting is not None
    event.settle(key)  # e.g. its frame carried errors, or it left before sending
    assert await waiting is None


def test_a_shared_frame_is_encoded_as_any_other_frame() -> None:
    data = {"threadUpdated": {"reason": "MESSAGE_ADDED", "message": {"body": "Zoë \"quoted\" \u2028"}}}
    frames = [{"id": "1", "type": "next", "payload": {"data": data}},
              {"id": "7\"", "type": "next", "payload": {"data": data, "extensions": {"cost": 12}}},
              {"id": "2", "type": "next", "payload": {"data": None, "errors": [{"message": "No"}]}}]
    for frame in frames:
        encoded = InboxGraphQL.encode_json(None, frame)  # type: ignore[arg-type]
        assert encoded == dumps(frame) and json.loads(encoded) == frame
