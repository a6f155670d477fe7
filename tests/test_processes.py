"""Two `inbox serve` processes sharing the database and Redis (docs/operations.md: several processes).

A client subscribed on one process receives, in order and once, what is sent through the other, and
keeps receiving through a Redis restart (the bus reconnects and subscribers catch up from the database).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TEST_SECRET, ClubFixture, make_club
from tests.inbox_client import StaffClient
from tests.redis_server import RedisServer, free_port
from tests.servers import PUBLIC_URL, TWILIO_TOKEN, post_sms
from tests.test_subscriptions import MESSAGE_ADDED, THREAD_UPDATED, UNREAD
from tests.ws_client import GraphQLWebSocket

INBOX = Path(sys.executable).parent / "inbox"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def start_server(database_url: str, redis_url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "INBOX_SECRET_KEY": TEST_SECRET,
           "INBOX_TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "INBOX_PUBLIC_URL": PUBLIC_URL}
    process = subprocess.Popen([str(INBOX), "serve", "--port", str(port), "--no-dispatcher"], env=env,
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process, f"127.0.0.1:{port}"
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"inbox serve did not start: {log.read_text()}")


@pytest.fixture
async def servers(database_url: str, redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[list[str]]:
    started = [await asyncio.to_thread(start_server, database_url, redis_server.url, tmp_path / f"serve{i}.log")
               for i in range(2)]
    yield [address for _, address in started]
    for process, _ in started:
        process.terminate()
        process.wait(timeout=15)


async def test_a_client_on_one_process_receives_what_is_sent_through_the_other(
    servers: list[str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    a, b = servers
    club = await make_club(sessions, country="GB")  # two-way SMS: the sms add-on in CA, US or GB
    async with httpx.AsyncClient(base_url=f"http://{b}") as http_b:
        lea_b, tom_b = StaffClient(http_b, club, sessions, "s1"), StaffClient(http_b, club, sessions, "s2")
        thread = await lea_b.start("Member", "m1")
        async with GraphQLWebSocket.open(f"ws://{a}/graphql", club.token("s1")) as lea_ws, \
                GraphQLWebSocket.open(f"ws://{a}/graphql", club.token("s2")) as tom_ws:
            messages = await lea_ws.subscribe(MESSAGE_ADDED, {"id": thread["id"], "after": thread["latestCursor"]})
            updates = await lea_ws.subscribe(THREAD_UPDATED)
            counts = await lea_ws.subscribe(UNREAD)
            tom_counts = await tom_ws.subscribe(UNREAD)
            assert (await lea_ws.next(counts))["data"]["unreadCountsChanged"]["total"] == 0
            assert (await tom_ws.next(tom_counts))["data"]["unreadCountsChanged"]["total"] == 0
            await asyncio.sleep(0.3)  # both processes' Redis subscriptions are in place
            for i in range(10):
                await tom_b.send(thread["id"], f"message {i}")
            for i in range(3):  # the member answers by SMS, through process B's webhook
                response = await post_sms(http_b, From=club.document["members"][0]["phone"],
                                          To=club.document["club"]["smsNumber"], Body=f"reply {i}",
                                          MessageSid=f"SM{club.club_id}x{i}")
                assert response.status_code < 300, response.text
            bodies = [(await lea_ws.next(messages))["data"]["messageAdded"]["body"] for _ in range(13)]
            assert bodies == [f"message {i}" for i in range(10)] + [f"reply {i}" for i in range(3)]
            reasons = [(await lea_ws.next(updates))["data"]["threadUpdated"]["reason"] for _ in range(13)]
            assert reasons == ["MESSAGE_ADDED"] * 13
            assert (await lea_ws.next(counts))["data"]["unreadCountsChanged"]["total"] == 1
            assert (await tom_ws.next(tom_counts))["data"]["unreadCountsChanged"]["total"] == 1
            await lea_b.action("markThreadRead", thread["id"])
            assert (await lea_ws.next(counts))["data"]["unreadCountsChanged"]["total"] == 0
            await lea_ws.next(updates)  # READ
            await lea_b.action("markThreadUnread", thread["id"])
            assert (await lea_ws.next(counts))["data"]["unreadCountsChanged"]["total"] == 1
            update = (await lea_ws.next(updates))["data"]["threadUpdated"]
            assert (update["reason"], update["thread"]["unreadCount"]) == ("UNREAD", 1)
            await tom_ws.nothing_for(0.5)  # Léa's read state is never pushed to Tom


async def test_a_redis_restart_during_a_stream_of_sends_loses_nothing(
    servers: list[str], club: ClubFixture, sessions: async_sessionmaker[AsyncSession], redis_server: RedisServer
) -> None:
    a, b = servers
    total = 30
    async with httpx.AsyncClient(base_url=f"http://{b}") as http_b:
        lea_b = StaffClient(http_b, club, sessions, "s1")
        thread = await lea_b.start("Member", "m2")
        async with GraphQLWebSocket.open(f"ws://{a}/graphql", club.token("s2")) as ws:
            sub = await ws.subscribe(MESSAGE_ADDED, {"id": thread["id"], "after": thread["latestCursor"]})
            await asyncio.sleep(0.3)

            async def send_all() -> None:
                for i in range(total):
                    if i == 10:
                        redis_server.stop()
                    if i == 20:
                        redis_server.start()
                    await lea_b.send(thread["id"], f"n{i}")  # mutations succeed while Redis is down
                    await asyncio.sleep(0.05)

            sender = asyncio.create_task(send_all())
            # What was sent while Redis was down arrives after the bus's reset, or at the latest with the
            # hub's periodic check (20 s, jittered): the test is that nothing is lost, not how fast.
            received = [(await ws.next(sub, timeout=30))["data"]["messageAdded"] for _ in range(total)]
            await sender
            await ws.nothing_for(0.5)
    assert [m["body"] for m in received] == [f"n{i}" for i in range(total)]
    async with GraphQLWebSocket.open(f"ws://{a}/graphql", club.token("s2")) as ws:
        sub = await ws.subscribe(MESSAGE_ADDED, {"id": thread["id"], "after": received[14]["cursor"]})
        resumed = [(await ws.next(sub))["data"]["messageAdded"]["body"] for _ in range(total - 15)]
        await ws.nothing_for(0.3)
    assert resumed == [f"n{i}" for i in range(15, total)]


async def test_sigterm_closes_websockets_with_1012_and_the_process_exits_promptly(
    database_url: str, redis_server: RedisServer, club: ClubFixture, tmp_path: Path
) -> None:
    process, address = await asyncio.to_thread(start_server, database_url, redis_server.url, tmp_path / "serve.log")
    try:
        async with GraphQLWebSocket.open(f"ws://{address}/graphql", club.token("s1")) as ws:
            sub = await ws.subscribe(UNREAD)
            await ws.next(sub)
            process.terminate()
            assert await ws.close_code(timeout=15) == 1012
        started = time.monotonic()
        await asyncio.to_thread(process.wait, 20)
        assert time.monotonic() - started < 15
    finally:
        if process.poll() is None:
            process.kill()
