"""Events agree with reads, Zulip's way: for every domain action, a thread list read before it, with
the `threadUpdated` events the action pushed applied (each thread put at its `sortKey`, an archived
one taken out), equals the list read after it: for the staff user who acted, and for a colleague.

Over a real WebSocket to a live server, on both databases.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.factory import create_app
from inbox import actions
from inbox.dispatcher import dispatcher_from_settings
from inbox.settings import Settings
from models import Delivery
from models.engine import club_session
from tests.factories import ClubFixture
from tests.inbox_client import StaffClient
from tests.ws_client import GraphQLWebSocket, live_server

NODE = ("id unreadCount isFavorite isMuted isArchived sortKey activityAt "
        "lastMessage { body deliverySummary { sent delivered } }")
UPDATES = f"""subscription($category: ThreadCategory) {{
  threadUpdated(category: $category) {{ reason thread {{ {NODE} }} }} }}"""
LIST = f"""query($category: ThreadCategory!) {{
  threads(category: $category, status: ALL, first: 100) {{ edges {{ node {{ {NODE} }} }} }} }}"""
QUIET = 0.5  # no event for this long: the action pushed all it pushes


class Scene:
    """A club served live, two staff users (the actor Lea and her colleague Tom) and their sockets."""

    def __init__(self, app: Any, address: str, http: httpx.AsyncClient, club: ClubFixture,
                 sessions: async_sessionmaker[AsyncSession]) -> None:
        self.app, self.address, self.club, self.sessions = app, address, club, sessions
        self.lea = StaffClient(http, club, sessions, "s1")
        self.tom = self.lea.as_staff("s2")

    @property
    def bus(self) -> Any:
        return self.app.state.services.bus

    def session(self) -> AsyncSession:
        return club_session(self.sessions, self.club.club_id)

    async def listing(self, who: StaffClient, category: str) -> list[dict[str, Any]]:
        data = await who.ok(LIST, {"category": category})
        return [edge["node"] for edge in data["threads"]["edges"]]


@pytest.fixture
async def scene(settings: Settings, sessions: async_sessionmaker[AsyncSession],
                club: ClubFixture) -> AsyncIterator[Scene]:
    app = create_app(settings, run_dispatcher=False)
    async with live_server(app) as address, httpx.AsyncClient(base_url=f"http://{address}") as http:
        yield Scene(app, address, http, club, sessions)


def applied(before: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The list a client keeps: each pushed thread replaces its old self, sorted by sortKey
    (descending); the status ALL hides what the viewer archived."""
    by_id = {node["id"]: node for node in before}
    for event in events:
        node = event["thread"]
        by_id[node["id"]] = node
    kept = [node for node in by_id.values() if not node["isArchived"]]
    return sorted(kept, key=lambda node: node["sortKey"], reverse=True)


async def pushed(ws: GraphQLWebSocket, sub: str, wait: float) -> list[dict[str, Any]]:
    """Every event of the subscription until it has been quiet for QUIET seconds (at least `wait`)."""
    events: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            payload = await ws.next(sub, timeout=max(QUIET, deadline - loop.time()))
        except TimeoutError:
            return events
        assert "errors" not in payload, payload
        events.append(payload["data"]["threadUpdated"])


Action = Callable[[Scene], Awaitable[Any]]


async def check(scene: Scene, category: str, action: Action, *, wait: float = 0.0) -> list[str]:
    """Run the action between two reads of both users' lists; the events explain the difference.
    Answers the reasons the actor was pushed."""
    club = scene.club
    url = f"ws://{scene.address}/graphql"
    async with GraphQLWebSocket.open(url, club.token("s1")) as lea_ws, \
            GraphQLWebSocket.open(url, club.token("s2")) as tom_ws:
        subs = [await ws.subscribe(UPDATES, {"category": category}) for ws in (lea_ws, tom_ws)]
        await asyncio.sleep(0.3)  # subscribed on the bus
        before = [await scene.listing(who, category) for who in (scene.lea, scene.tom)]
        await action(scene)
        events = await asyncio.gather(*(pushed(ws, sub, wait) for ws, sub in zip((lea_ws, tom_ws), subs, strict=True)))
    after = [await scene.listing(who, category) for who in (scene.lea, scene.tom)]
    for name, old, new, got in zip(("actor", "colleague"), before, after, events, strict=True):
        assert applied(old, got) == new, f"{name}: events {got}"
    return [event["reason"] for event in events[0]]


async def thread_of(scene: Scene, kind: str, external_id: str) -> str:
    return (await scene.lea.start(kind, external_id))["id"]


async def prepared(scene: Scene) -> str:
    """Three member threads with history; answers m1's, last written to by the member."""
    for member in ("m2", "m3"):
        await scene.lea.send(await thread_of(scene, "Member", member), f"hello {member}")
    thread = await thread_of(scene, "Member", "m1")
    await scene.lea.send(thread, "hello m1")
    await scene.lea.reply("m1", "a question")
    return thread


def pk(global_id: str) -> int:
    return int(base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode().split(":")[1])


async def test_start_thread(scene: Scene) -> None:
    await prepared(scene)
    reasons = await check(scene, "MEMBER", lambda s: s.lea.start("Member", "m4"))
    assert reasons == ["CREATED"]


async def test_send_message(scene: Scene) -> None:
    await prepared(scene)
    m2 = await thread_of(scene, "Member", "m2")
    assert await check(scene, "MEMBER", lambda s: s.lea.send(m2, "news")) == ["MESSAGE_ADDED"]


async def test_send_a_broadcast(scene: Scene) -> None:
    everyone = await thread_of(scene, "Smartlist", "l2")
    await scene.lea.send(everyone, "first")
    assert await check(scene, "SMARTLIST", lambda s: s.lea.send(everyone, "second")) == ["MESSAGE_ADDED"]


async def test_record_member_reply(scene: Scene) -> None:
    await prepared(scene)

    async def reply(s: Scene) -> None:
        async with s.session() as session:
            await actions.record_member_reply(session, s.club.club_id, s.club.member_ids["m3"], channel="EMAIL",
                                              body="me again", bus=s.bus)

    assert await check(scene, "MEMBER", reply) == ["MESSAGE_ADDED"]


async def test_mark_read_and_unread(scene: Scene) -> None:
    thread = await prepared(scene)
    assert await check(scene, "MEMBER", lambda s: s.lea.action("markThreadRead", thread)) == ["READ"]
    assert await check(scene, "MEMBER", lambda s: s.lea.action("markThreadUnread", thread)) == ["UNREAD"]


@pytest.mark.parametrize(("mutation", "reason"), [
    ("setThreadFavorite", "FAVORITE_CHANGED"), ("setThreadMuted", "MUTE_CHANGED"),
    ("setThreadArchived", "ARCHIVE_CHANGED"),
])
async def test_flags_on_and_off(scene: Scene, mutation: str, reason: str) -> None:
    thread = await prepared(scene)
    m3 = await thread_of(scene, "Member", "m3")
    assert await check(scene, "MEMBER", lambda s: s.lea.action(mutation, m3, True)) == [reason]
    await scene.lea.reply("m1", "while flagged")
    assert await check(scene, "MEMBER", lambda s: s.lea.action(mutation, m3, False)) == [reason]
    assert await check(scene, "MEMBER", lambda s: s.lea.action(mutation, thread, False)) == []


async def test_a_message_to_a_thread_muted_or_archived_by_the_actor(scene: Scene) -> None:
    thread = await prepared(scene)
    await scene.lea.action("setThreadMuted", thread, True)
    await scene.tom.action("setThreadArchived", thread, True)
    assert await check(scene, "MEMBER", lambda s: s.lea.send(thread, "still here")) == ["MESSAGE_ADDED"]


async def test_create_smartlist_changes_no_thread(scene: Scene) -> None:
    everyone = await thread_of(scene, "Smartlist", "l2")
    await scene.lea.send(everyone, "hello all")
    create = """mutation { createSmartlist(input: {name: "New list", filters: []}) { smartlist { id } } }"""
    assert await check(scene, "SMARTLIST", lambda s: s.lea.ok(create)) == []


async def test_record_delivery_report(scene: Scene, settings: Settings) -> None:
    thread = await prepared(scene)
    sent = await scene.lea.send(thread, "did you get this?")
    await dispatcher_from_settings(settings, scene.sessions).drain()  # the log transport sends it
    async with scene.session() as session:
        token = await session.scalar(select(Delivery.token).where(Delivery.message_id == pk(sent["message"]["id"])))

    async def report(s: Scene) -> None:
        changed = await actions.record_delivery_report(
            s.sessions, token=token, provider_message_id=None, status="DELIVERED", reason=None,
            on_change=s.app.state.services.delivery_changes.touch)
        assert changed

    assert await check(scene, "MEMBER", report, wait=2.0) == ["DELIVERY_CHANGED"]
