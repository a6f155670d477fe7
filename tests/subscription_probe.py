"""Subscriptions at scale, measured from outside (run by hand, never by the suite):

    INBOX_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m tests.subscription_probe --subscribers 1000

Starts one `inbox serve` process on a fresh database and a private Redis, opens N WebSockets with one
`threadUpdated` each (spread over several staff users), and prints: the server's RSS per idle
connection, its CPU while they idle, one subscriber's send -> receive p50, the time until the last of
the N received one message, and how many subscriptions failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy import select

from inbox.auth import issue_staff_token
from inbox.importer import import_document
from models import Member
from models.engine import create_engine, session_factory
from tests.databases import fresh_database
from tests.factories import TEST_SECRET, club_document
from tests.inbox_client import global_id
from tests.redis_server import RedisServer
from tests.test_processes import start_server

SUBSCRIPTION = json.dumps({"id": "1", "type": "subscribe", "payload": {"query": (
    "subscription { threadUpdated { reason updatesCursor message { body } "
    "thread { id unreadCount isFavorite title target { ... on Member { externalId } } } } }")}})
SEND = ("mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id } "
        "userErrors { code } } }")
BATCH = 20  # connections opened at once (a storm of connection_init would test authentication instead)
START = "mutation($id: ID!) { startThread(input: {targetId: $id}) { thread { id } } }"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


class Subscriber:
    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.failed: list[Any] = []
        self.got = asyncio.Event()

    async def read(self) -> None:
        try:
            async for raw in self.connection:
                now = time.monotonic()
                message = json.loads(raw)
                if message["type"] == "ping":
                    await self.connection.send('{"type":"pong"}')
                elif message["type"] == "next" and "errors" not in message["payload"]:
                    self.received.append((now, message["payload"]))
                    self.got.set()
                else:
                    self.failed.append(message)
        except websockets.ConnectionClosed as closed:
            self.failed.append(("closed", closed.rcvd.code if closed.rcvd else None))


async def open_subscriber(url: str, token: str) -> Subscriber:
    for attempt in range(10):  # a refused connection_init (the server's pool was busy) is tried again
        try:
            return await _open_subscriber(url, token)
        except websockets.ConnectionClosed:
            await asyncio.sleep(0.5 * (attempt + 1))
    return await _open_subscriber(url, token)


async def _open_subscriber(url: str, token: str) -> Subscriber:
    connection = await websockets.connect(url, subprotocols=["graphql-transport-ws"], max_size=None,
                                          compression=None, open_timeout=60)
    await connection.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    ack = json.loads(await asyncio.wait_for(connection.recv(), 60))
    assert ack["type"] == "connection_ack", ack
    await connection.send(SUBSCRIPTION)
    subscriber = Subscriber(connection)
    subscriber.task = asyncio.create_task(subscriber.read())  # type: ignore[attr-defined]
    return subscriber


async def probe(database_url: str, redis_url: str, workdir: Path, count: int, staff_count: int,
                idle_seconds: float) -> dict[str, Any]:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    document = club_document("probe-club")
    document["staff"] = [{"id": f"s{i}", "name": f"Staff {i}", "email": f"s{i}@probe.example"}
                         for i in range(1, staff_count + 1)]
    await import_document(sessions, document)
    async with sessions() as session:
        member_id = await session.scalar(select(Member.id).order_by(Member.id).limit(1))
    await engine.dispose()

    def token(staff: str) -> str:
        return issue_staff_token(TEST_SECRET, staff_external_id=staff, club_slug="probe-club",
                                 ttl=timedelta(hours=2))

    process, address = await asyncio.to_thread(start_server, database_url, redis_url, workdir / "serve.log")
    results: dict[str, Any] = {"subscribers": count, "staff": staff_count}
    try:
        async with httpx.AsyncClient(base_url=f"http://{address}", timeout=60) as http:
            async def call(query: str, variables: dict[str, Any]) -> tuple[dict[str, Any], float]:
                started = time.monotonic()
                response = await http.post("/graphql", json={"query": query, "variables": variables},
                                           headers={"Authorization": f"Bearer {token('s1')}"})
                body = response.json()
                if "errors" in body:
                    results.setdefault("http_errors", []).append(body["errors"][0]["extensions"].get("code"))
                    await asyncio.sleep(1)
                    return await call(query, variables)
                return body["data"], started

            thread_id = (await call(START, {"id": global_id("Member", member_id)}))[0]["startThread"]["thread"]["id"]

            async def send(body: str) -> float:
                return (await call(SEND, {"input": {"threadId": thread_id, "channel": "EMAIL", "body": body}}))[1]

            url = f"ws://{address}/graphql"
            await asyncio.sleep(1)
            base_rss = rss_kib(process.pid)
            # one subscriber: its send -> receive latency
            single = await open_subscriber(url, token("s2"))
            await asyncio.sleep(0.5)
            latencies = []
            for i in range(15):
                single.got.clear()
                started = await send(f"single {i}")
                await asyncio.wait_for(single.got.wait(), 10)
                latencies.append(single.received[-1][0] - started)
                await asyncio.sleep(0.05)
            results["single_p50_ms"] = round(statistics.median(latencies) * 1000, 1)
            await single.connection.close()

            subscribers: list[Subscriber] = []
            opened_at = time.monotonic()
            for start in range(0, count, BATCH):
                batch = [open_subscriber(url, token(f"s{(start + i) % staff_count + 1}"))
                         for i in range(min(BATCH, count - start))]
                subscribers += await asyncio.gather(*batch)
            results["open_seconds"] = round(time.monotonic() - opened_at, 1)
            await asyncio.sleep(3)
            rss = rss_kib(process.pid)
            results["rss_base_mib"] = round(base_rss / 1024, 1)
            results["rss_per_connection_kib"] = round((rss - base_rss) / count, 1)
            cpu = cpu_seconds(process.pid)
            await asyncio.sleep(idle_seconds)
            results["idle_cpu_percent"] = round(100 * (cpu_seconds(process.pid) - cpu) / idle_seconds, 2)
            results["rss_per_connection_after_idle_kib"] = round((rss_kib(process.pid) - base_rss) / count, 1)

            sent_at = time.monotonic()
            started = await send("to everyone")
            results["fan_out_mutation_ms"] = round((time.monotonic() - sent_at) * 1000, 1)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and sum(1 for s in subscribers if s.received or s.failed) < count:
                await asyncio.sleep(0.05)
            arrivals = sorted(s.received[0][0] - started for s in subscribers if s.received)
            results["fan_out_received"] = len(arrivals)
            results["fan_out_failed"] = sum(1 for s in subscribers if s.failed)
            if arrivals:
                results["fan_out_first_ms"] = round(arrivals[0] * 1000, 1)
                results["fan_out_p50_ms"] = round(statistics.median(arrivals) * 1000, 1)
                results["fan_out_last_ms"] = round(arrivals[-1] * 1000, 1)
                results["last_over_single_p50"] = round(arrivals[-1] * 1000 / results["single_p50_ms"], 1)
            results["failures_sample"] = [s.failed[:1] for s in subscribers if s.failed][:3]
            for subscriber in subscribers:
                subscriber.task.cancel()  # type: ignore[attr-defined]
            await asyncio.gather(*(s.connection.close() for s in subscribers), return_exceptions=True)
    except Exception:
        print((workdir / "serve.log").read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        process.terminate()
        process.wait(timeout=30)
        results["server_log_tail"] = (workdir / "serve.log").read_text()[-2000:]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--staff", type=int, default=10, help="staff users the subscribers are spread over")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idling measured")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        redis_server = RedisServer(workdir)
        redis_server.start()
        try:
            with fresh_database(workdir, prefix="inbox_probe") as url:
                results = asyncio.run(probe(url, redis_server.url, workdir, args.subscribers, args.staff, args.idle))
        finally:
            redis_server.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
