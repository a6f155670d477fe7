"""Subscriptions over a real WebSocket (docs/rules.md, Real time; docs/api.md, Subscriptions)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.factory import create_app
from inbox.actions import record_member_reply
from inbox.changes import publish_changes
from inbox.settings import Settings
from inbox.staff import create_api_key
from inbox.threads import thread_change
from models import Thread
from models.engine import club_session, create_engine, session_factory
from tests.databases import fresh_database
from tests.factories import ClubFixture, make_club
from tests.inbox_client import StaffClient
from tests.ws_client import GraphQLWebSocket, live_server

MESSAGE_ADDED = """subscription($id: ID!, $after: String) {
  messageAdded(threadId: $id, after: $after) { body cursor direction } }"""
THREAD_UPDATED = """subscription($after: String, $category: ThreadCategory) {
  threadUpdated(category: $category, after: $after) {
    reason updatesCursor message { body }
    thread { id unreadCount isFavorite isMuted sortKey target { ... on Member { externalId } } }
    edge { cursor node { id } } } }"""
UNREAD = "subscription { unreadCountsChanged { members smartlists sessions total } }"


class Live:
    """The live server: WebSocket URL, HTTP client, and members' replies published like a webhook's."""

    def __init__(self, address: str, app: Any, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]):
        self.ws_url = f"ws://{address}/graphql"
        self.app = app
        self.http = http
        self.sessions = sessions

    def staff(self, club: ClubFixture, staff: str = "s1") -> StaffClient:
        return StaffClient(self.http, club, self.sessions, staff)

    async def reply(self, club: ClubFixture, member: str, body: str) -> None:
        async with club_session(self.sessions, club.club_id) as session:
            message = await record_member_reply(session, club.club_id, club.member_ids[member], channel="SMS",
                                                body=body)
            thread = await session.scalar(select(Thread).where(Thread.id == message.thread_id))
            assert thread is not None
        change = thread_change(thread, "MESSAGE_ADDED", message=message)
        await publish_changes(self.app.state.services.bus, [change])

    def socket(self, club: ClubFixture, staff: str = "s1", **kwargs: Any) -> Any:
        return GraphQLWebSocket.open(self.ws_url, club.token(staff), **kwargs)


@pytest.fixture(scope="module")
async def live(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Live]:
    live_settings = settings.model_copy(update={"allowed_origins": ["https://app.example"]})
    app = create_app(live_settings, run_dispatcher=False)
    async with live_server(app) as address:
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            yield Live(address, app, http, sessions)


async def test_message_added_sends_each_new_message_in_order(live: Live, club: ClubFixture) -> None:
    lea = live.staff(club)
    thread = await lea.start("Member", "m1")
    async with live.socket(club) as ws:
        assert ws.ack["type"] == "connection_ack" and ws.ack["payload"]["expiresAt"]
        sub = await ws.subscribe(MESSAGE_ADDED, {"id": thread["id"], "after": thread["latestCursor"]})
        await lea.send(thread["id"], "one")
        await live.reply(club, "m1", "two")
        await lea.as_staff("s2").send(thread["id"], "three")
        received = [(await ws.next(sub))["data"]["messageAdded"] for _ in range(3)]
    assert [(m["body"], m["direction"]) for m in received] == [("one", "OUTBOUND"), ("two", "INBOUND"),
                                                                ("three", "OUTBOUND")]


async def test_message_added_with_a_cursor_resumes_with_nothing_missed_nor_twice(live: Live, club: ClubFixture) -> None:
    lea = live.staff(club)
    thread = await lea.start("Member", "m2")
    first = await lea.send(thread["id"], "first")
    for body in ("missed 1", "missed 2"):
        await lea.send(thread["id"], body)
    async with live.socket(club) as ws:
        sub = await ws.subscribe(MESSAGE_ADDED, {"id": thread["id"], "after": first["message"]["cursor"]})
        caught_up = [(await ws.next(sub))["data"]["messageAdded"]["body"] for _ in range(2)]
        await lea.send(thread["id"], "live")
        assert (await ws.next(sub))["data"]["messageAdded"]["body"] == "live"
        await ws.nothing_for(0.3)
    assert caught_up == ["missed 1", "missed 2"]


async def test_a_thread_of_another_club_is_not_found(live: Live, club: ClubFixture, other_club: ClubFixture) -> None:
    theirs = await live.staff(other_club).start("Member", "m1")
    async with live.socket(club) as ws:
        sub = await ws.subscribe(MESSAGE_ADDED, {"id": theirs["id"]})
        payload = await ws.next(sub)
        assert payload["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert (await ws.receive()) == {"id": sub, "type": "complete"}


async def test_thread_updated_pushes_each_viewers_own_view_and_never_anothers_flags(
    live: Live, club: ClubFixture
) -> None:
    lea = live.staff(club, "s1")
    thread = await lea.start("Member", "m1")
    async with live.socket(club, "s1") as lea_ws, live.socket(club, "s2") as tom_ws:
        lea_sub = await lea_ws.subscribe(THREAD_UPDATED)
        tom_sub = await tom_ws.subscribe(THREAD_UPDATED)
        await lea.action("setThreadFavorite", thread["id"], True)
        update = (await lea_ws.next(lea_sub))["data"]["threadUpdated"]
        assert (update["reason"], update["thread"]["isFavorite"]) == ("FAVORITE_CHANGED", True)
        assert update["edge"]["node"]["id"] == thread["id"]
        await tom_ws.nothing_for(0.3)
        await lea.action("setThreadFavorite", thread["id"], True)  # a no-op pushes nothing
        await lea_ws.nothing_for(0.3)
        await live.reply(club, "m1", "hello")
        for ws, sub, favorite in ((lea_ws, lea_sub, True), (tom_ws, tom_sub, False)):
            update = (await ws.next(sub))["data"]["threadUpdated"]
            assert (update["reason"], update["message"], update["thread"]["unreadCount"],
                    update["thread"]["isFavorite"]) == ("MESSAGE_ADDED", {"body": "hello"}, 1, favorite)


async def test_thread_updated_after_a_cursor_catches_up_once_per_changed_thread(live: Live, club: ClubFixture) -> None:
    lea = live.staff(club)
    one = await lea.start("Member", "m1")
    two = await lea.start("Member", "m2")
    cursor = (await lea.threads())["updatesCursor"]
    await live.reply(club, "m1", "a")
    await live.reply(club, "m1", "b")
    await lea.action("setThreadMuted", two["id"], True)
    await lea.as_staff("s2").action("setThreadFavorite", one["id"], True)  # Tom's: not Léa's business
    async with live.socket(club) as ws:
        sub = await ws.subscribe(THREAD_UPDATED, {"after": cursor})
        updates = [(await ws.next(sub))["data"]["threadUpdated"] for _ in range(2)]
        await ws.nothing_for(0.3)
        assert [(u["reason"], u["thread"]["id"]) for u in updates] == [("CATCH_UP", one["id"]),
                                                                        ("CATCH_UP", two["id"])]
        assert (updates[0]["thread"]["unreadCount"], updates[1]["thread"]["isMuted"]) == (2, True)
        await live.reply(club, "m2", "live")
        live_update = (await ws.next(sub))["data"]["threadUpdated"]
        assert (live_update["reason"], live_update["thread"]["id"]) == ("MESSAGE_ADDED", two["id"])
    async with live.socket(club) as ws:  # resuming from the last updatesCursor received: nothing again
        sub = await ws.subscribe(THREAD_UPDATED, {"after": live_update["updatesCursor"]})
        await ws.nothing_for(0.3)


async def test_unread_counts_changed_sends_the_counts_at_once_then_each_change(live: Live, club: ClubFixture) -> None:
    lea = live.staff(club)
    thread = await lea.start("Member", "m1")
    async with live.socket(club) as ws:
        sub = await ws.subscribe(UNREAD)
        assert (await ws.next(sub))["data"]["unreadCountsChanged"]["total"] == 0
        await live.reply(club, "m1", "one")
        assert (await ws.next(sub))["data"]["unreadCountsChanged"] == {"members": 1, "smartlists": 0,
                                                                       "sessions": 0, "total": 1}
        await live.reply(club, "m1", "two")  # still one thread with unread: no push
        await ws.nothing_for(0.3)
        await lea.action("markThreadRead", thread["id"])
        assert (await ws.next(sub))["data"]["unreadCountsChanged"]["total"] == 0


async def test_connection_init_without_a_valid_staff_token_is_closed_with_4403(
    live: Live, club: ClubFixture, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        key = await create_api_key(session, club.slug, "dashboard")
    for token in (None, "garbage", club.token(ttl=timedelta(seconds=-1)), key):
        async with GraphQLWebSocket.open(live.ws_url, token, init=False) as ws:
            await ws.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
            assert await ws.close_code() == 4403, token


async def test_the_connection_closes_with_4403_when_the_token_expires(live: Live, club: ClubFixture) -> None:
    async with GraphQLWebSocket.open(live.ws_url, club.token(ttl=timedelta(seconds=1))) as ws:
        assert ws.ack["type"] == "connection_ack"
        assert await ws.close_code(timeout=5) == 4403


async def test_more_than_20_subscriptions_per_connection_are_refused(live: Live, club: ClubFixture) -> None:
    async with live.socket(club) as ws:
        for _ in range(20):
            sub = await ws.subscribe(UNREAD)
            await ws.next(sub)
        await ws.subscribe(UNREAD)
        message = await ws.receive()
        assert message["type"] == "error"


async def test_other_origins_are_refused_at_the_handshake(live: Live, club: ClubFixture) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with live.socket(club, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    async with live.socket(club, origin="https://app.example") as ws:
        assert ws.ack["type"] == "connection_ack"


async def test_client_frames_over_64_kib_close_the_connection_with_1009(live: Live, club: ClubFixture) -> None:
    async with live.socket(club) as ws:
        await ws.subscribe(UNREAD, {"padding": "x" * (65 * 1024)})
        assert await ws.close_code() == 1009


async def test_no_connection_init_within_5_seconds_closes_with_4408(live: Live) -> None:
    async with GraphQLWebSocket.open(live.ws_url, None, init=False) as ws:
        assert await ws.close_code(timeout=8) == 4408


async def test_only_graphql_transport_ws_is_offered_by_default(live: Live) -> None:
    async with websockets.connect(live.ws_url, subprotocols=["graphql-ws"]) as connection:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await connection.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


async def test_a_quiet_subscription_keeps_going_after_its_periodic_database_checks(
    live: Live, club: ClubFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import subscriptions.resolvers

    monkeypatch.setattr(subscriptions.resolvers, "SAFETY_CHECK_SECONDS", 0.1)
    lea = live.staff(club)
    thread = await lea.start("Member", "m3")
    async with live.socket(club) as ws:
        sub = await ws.subscribe(MESSAGE_ADDED, {"id": thread["id"]})
        await asyncio.sleep(0.5)
        await live.reply(club, "m3", "after a quiet while")
        assert (await ws.next(sub))["data"]["messageAdded"]["body"] == "after a quiet while"


async def test_subscribers_of_one_thread_share_the_reading_of_a_new_message(
    live: Live, club: ClubFixture
) -> None:
    from sqlalchemy import event

    engine = live.app.state.services.sessions.kw["bind"].sync_engine
    reads: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM message" in statement and "message.seq >" in statement:
            reads.append(statement)

    lea = live.staff(club)
    thread = await lea.start("Member", "m4")
    sockets = [live.socket(club, staff) for staff in ("s1", "s2", "s1", "s2")]
    opened = [await socket.__aenter__() for socket in sockets]
    try:
        subs = [await ws.subscribe(MESSAGE_ADDED, {"id": thread["id"]}) for ws in opened]
        await asyncio.sleep(0.3)
        event.listen(engine, "before_cursor_execute", record)
        await live.reply(club, "m4", "to everyone")
        for ws, sub in zip(opened, subs, strict=True):
            assert (await ws.next(sub))["data"]["messageAdded"]["body"] == "to everyone"
    finally:
        event.remove(engine, "before_cursor_execute", record)
        for socket in sockets:
            await socket.__aexit__(None, None, None)
    assert len(reads) < len(opened), reads


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own: a dispatcher must not first send what other tests left queued."""
    with fresh_database(tmp_path) as url:
        yield url


async def test_delivery_status_changes_are_pushed_at_most_once_a_second_per_message(
    settings: Settings, own_database: str
) -> None:
    """With no transport configured the log transport "delivers": a broadcast's deliveries turn SENT."""
    settings = settings.model_copy(update={"database_url": own_database, "dispatch_poll_interval": 0.05})
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    club = await make_club(sessions)
    app = create_app(settings, run_dispatcher=True)
    async with live_server(app) as address, httpx.AsyncClient(base_url=f"http://{address}") as http:
        lea = StaffClient(http, club, sessions)
        thread = await lea.start("Smartlist", "l2")
        async with GraphQLWebSocket.open(f"ws://{address}/graphql", club.token()) as ws:
            sub = await ws.subscribe(THREAD_UPDATED.replace("message { body }",
                                                            "message { body deliverySummary { sent queued } }"))
            sent = await lea.send(thread["id"], "Class moved to 7pm", channel="EMAIL")
            updates, arrivals = [], []
            deadline = time.monotonic() + 3.5
            while (left := deadline - time.monotonic()) > 0:
                try:
                    updates.append((await ws.next(sub, timeout=left))["data"]["threadUpdated"])
                except TimeoutError:
                    break
                arrivals.append(time.monotonic())
    reasons = [u["reason"] for u in updates]
    assert reasons[0] == "MESSAGE_ADDED" and set(reasons[1:]) == {"DELIVERY_CHANGED"}
    pushes = arrivals[1:]
    gaps = [later - earlier for earlier, later in zip(pushes, pushes[1:], strict=False)]
    assert all(gap > 0.5 for gap in gaps), f"at most one push a second (network jitter allowed): {gaps}"
    assert updates[-1]["message"] == {"body": sent["message"]["body"], "deliverySummary": {"sent": 4, "queued": 0}}
    await engine.dispose()
