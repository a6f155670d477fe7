"""One anchors run: load the club, record the server's SQL, start the servers, measure in rounds."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.anchors import documents as docs
from bench.anchors.calls import Endpoint, RequestFailed, endpoint, user_errors
from bench.anchors.plans import Plan
from bench.anchors.processes import (
    Server,
    cpu_seconds,
    inbox_server,
    node_available,
    postgraphile_server,
    redis_server,
    rss_bytes,
)
from bench.anchors.realtime import Crowd, Hub, Subscriber
from bench.anchors.sql import (
    BroadcastTarget,
    Captured,
    Connections,
    Replay,
    capture,
    connections,
    delivery_insert,
)
from bench.anchors.timing import Figure, latencies, percentile, throughput
from bench.client import SECRET, running_app
from bench.database import analyze, fresh_database, server_version
from bench.generate import CLUB_SLUG, generate_document
from bench.load import Fixture, add_live_replies, collect_fixture, import_club, set_flags
from inbox.auth import issue_staff_token
from models import Club, Staff
from resolvers.ids import decode_id

log = logging.getLogger("bench")
CLIENTS = 8
LIVE_WARMUP = 5
LIVE_TIMEOUT = 10.0
FANOUT_TIMEOUT = 60.0
_markers = itertools.count(1)


def marker() -> str:
    return f"bench-live-{next(_markers)}"


@dataclass
class Loaded:
    """The club as the workloads need it, and what the server's code sends to the database for each."""

    fixture: Fixture
    club_id: int
    viewer_id: int
    newsletter_thread_id: int
    captured: dict[str, Captured]
    variables: dict[str, dict[str, Any]]


@dataclass
class Results:
    plan: Plan
    started: datetime
    database: str = ""
    figures: dict[str, Figure] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    statements: dict[str, Captured] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def figure(self, key: str, label: str, unit: str) -> Figure:
        return self.figures.setdefault(key, Figure(key, label, unit))


async def _ids(client: Any, fixture: Fixture) -> tuple[int, int, int]:
    async with client.sessions() as session:
        club_id = await session.scalar(select(Club.id).where(Club.slug == CLUB_SLUG))
        viewer_id = await session.scalar(select(Staff.id).where(Staff.club_id == club_id,
                                                                 Staff.external_id == fixture.viewer))
    decoded = decode_id(fixture.newsletter_thread, "Thread")
    assert club_id is not None and viewer_id is not None and decoded is not None
    return club_id, viewer_id, decoded[1]


async def load(url: str, plan: Plan, seed: int, results: Results) -> Loaded:
    scale = plan.scale
    rng = random.Random(seed)
    anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    clock = time.perf_counter()
    document = generate_document(scale, seed=seed, anchor=anchor)
    await import_club(url, document)
    await add_live_replies(url, document, scale, rng)
    del document
    async with running_app(url, CLUB_SLUG) as client:
        fixture = await collect_fixture(client, rng)
        await set_flags(client, fixture, scale, rng)
        await analyze(url, sqlite=False)
        results.facts["load_seconds"] = time.perf_counter() - clock
        log.info("club loaded in %.0f s", results.facts["load_seconds"])
        club_id, viewer_id, newsletter = await _ids(client, fixture)
        variables = {
            "threads": {"after": None},
            "history": {"id": fixture.long_threads[0]},
            "unread": {},
            "members": {"search": fixture.name_words[0]},
        }
        queries = {"threads": docs.THREADS_PAGE, "history": docs.HISTORY, "unread": docs.UNREAD_COUNTS,
                   "members": docs.MEMBERS_SEARCH}
        captured = {name: await capture(client, queries[name], variables[name], fixture.viewer) for name in queries}
        send = {"input": {"threadId": fixture.email_threads[-1], "channel": "EMAIL", "body": "Statement count"}}
        captured["send"] = await capture(client, docs.SEND, send, fixture.viewer, warmup=1)
    return Loaded(fixture, club_id, viewer_id, newsletter, captured, variables)


def _token(staff: str) -> str:
    return issue_staff_token(SECRET, staff_external_id=staff, club_slug=CLUB_SLUG, ttl=timedelta(hours=6))


class Measurer:
    """The figures measured in each round, interleaved (each round starts one step later than the last,
    so no figure always follows the same one)."""

    def __init__(self, plan: Plan, results: Results) -> None:
        self.plan = plan
        self.results = results
        self.steps: list[tuple[Figure, Callable[[], Awaitable[float]]]] = []

    def p50(self, key: str, label: str, call: Callable[[], Awaitable[object]]) -> None:
        async def step() -> float:
            return percentile(await latencies(call, self.plan.requests, self.plan.seconds * 20), 0.5) * 1000
        self.steps.append((self.results.figure(key, label, "ms"), step))

    def rate(self, key: str, label: str, call: Callable[[], Awaitable[object]]) -> None:
        async def step() -> float:
            return await throughput(call, CLIENTS, self.plan.seconds)
        self.steps.append((self.results.figure(key, label, "req/s"), step))

    async def warm_up(self) -> None:
        for figure, step in self.steps:
            if figure.unit == "ms":
                await step()

    async def rounds(self) -> None:
        for number in range(self.plan.rounds):
            started = time.perf_counter()
            shift = number % len(self.steps)
            for figure, step in self.steps[shift:] + self.steps[:shift]:
                figure.rounds.append(await step())
            log.info("round %d/%d in %.0f s", number + 1, self.plan.rounds, time.perf_counter() - started)


async def _check_pages(inbox: Endpoint, postgraphile: Endpoint | None, token: str, pg_vars: dict[str, Any]) -> None:
    """Both pages answer 50 threads (a page of errors or of nothing would measure nothing)."""
    ours = await inbox.graphql(docs.THREADS_PAGE, {"after": None}, token)
    if len(ours["threads"]["edges"]) != docs.PAGE_SIZE:
        raise RequestFailed(f"the inbox's page has {len(ours['threads']['edges'])} threads")
    if postgraphile is not None:
        theirs = await postgraphile.graphql(docs.POSTGRAPHILE_THREADS_PAGE, pg_vars)
        if len(theirs["allThreads"]["edges"]) != docs.PAGE_SIZE:
            raise RequestFailed(f"PostGraphile's page has {len(theirs['allThreads']['edges'])} threads")


async def measure_requests(loaded: Loaded, inbox: Endpoint, postgraphile: Endpoint | None, database: Connections,
                           plan: Plan, results: Results) -> None:
    token = _token(loaded.fixture.viewer)
    pg_vars = {"club": str(loaded.club_id), "staff": str(loaded.viewer_id), "after": None}
    await _check_pages(inbox, postgraphile, token, pg_vars)
    measurer = Measurer(plan, results)

    def ours(name: str, query: str) -> Callable[[], Awaitable[object]]:
        return lambda: inbox.graphql(query, loaded.variables[name], token)

    def sql(name: str) -> Replay:
        return Replay(database, loaded.captured[name])

    measurer.p50("threads.inbox.p50", "threads page, this project", ours("threads", docs.THREADS_PAGE))
    if postgraphile is not None:
        measurer.p50("threads.postgraphile.p50", "threads page, PostGraphile v5",
                     lambda: postgraphile.graphql(docs.POSTGRAPHILE_THREADS_PAGE, pg_vars))
    measurer.p50("threads.sql.p50", "threads page, its own SQL through asyncpg", sql("threads"))
    measurer.rate("threads.inbox.rate", "threads page, this project", ours("threads", docs.THREADS_PAGE))
    if postgraphile is not None:
        measurer.rate("threads.postgraphile.rate", "threads page, PostGraphile v5",
                      lambda: postgraphile.graphql(docs.POSTGRAPHILE_THREADS_PAGE, pg_vars))
    measurer.rate("threads.sql.rate", "threads page, its own SQL through asyncpg", sql("threads"))
    measurer.p50("healthz.p50", "/healthz of the same server", lambda: inbox.get("/healthz"))
    measurer.p50("viewer.p50", "{ viewer { id } }", lambda: inbox.graphql(docs.VIEWER, None, token))
    measurer.rate("viewer.rate", "{ viewer { id } }", lambda: inbox.graphql(docs.VIEWER, None, token))
    for name, query, label in [("history", docs.HISTORY, "message history (last 30)"),
                               ("unread", docs.UNREAD_COUNTS, "unreadCounts"),
                               ("members", docs.MEMBERS_SEARCH, "members(search:)")]:
        measurer.p50(f"{name}.inbox.p50", f"{label}, this project", ours(name, query))
        measurer.p50(f"{name}.sql.p50", f"{label}, its own SQL through asyncpg", sql(name))
    log.info("warming up")
    for _ in range(max(1, plan.warmup // plan.requests)):
        await measurer.warm_up()
    await measurer.rounds()


async def _send(inbox: Endpoint, token: str, thread: str, body: str, subject: str | None = None) -> dict[str, Any]:
    payload = {"threadId": thread, "channel": "EMAIL", "body": body}
    if subject:
        payload["subject"] = subject
    data = await inbox.graphql(docs.SEND, {"input": payload}, token)
    if user_errors(data):
        raise RequestFailed(f"sendMessage: {user_errors(data)}")
    return data


async def measure_broadcast(loaded: Loaded, inbox: Endpoint, database: Connections, plan: Plan,
                            results: Results) -> None:
    """sendMessage to the newsletter smartlist over HTTP, and one set-based INSERT of as many delivery
    rows through asyncpg (rolled back), in turns."""
    token = _token(loaded.fixture.viewer)
    target = BroadcastTarget(loaded.club_id, loaded.newsletter_thread_id)
    send = results.figure("broadcast.inbox", "sendMessage to the smartlist, over HTTP", "ms")
    insert = results.figure("broadcast.sql", "one INSERT … SELECT of its delivery rows", "ms")
    await delivery_insert(database, target)
    for number in range(plan.broadcasts):
        started = time.perf_counter()
        data = await _send(inbox, token, loaded.fixture.newsletter_thread, f"Newsletter n°{number + 1}",
                           subject="La newsletter")
        send.rounds.append((time.perf_counter() - started) * 1000)
        seconds, rows = await delivery_insert(database, target)
        insert.rounds.append(seconds * 1000)
        results.facts["broadcast_deliveries"] = data["sendMessage"]["message"]["deliverySummary"]["total"]
        results.facts["broadcast_insert_rows"] = rows
    log.info("broadcast: %d deliveries", results.facts["broadcast_deliveries"])


async def measure_live(loaded: Loaded, sender: Endpoint, receiver: Server, plan: Plan, results: Results) -> None:
    """Send -> receive across processes: one subscriber on `receiver`, messages sent to `sender`."""
    token = _token(loaded.fixture.viewer)
    threads = itertools.cycle(loaded.fixture.email_threads)
    hub = Hub()
    subscriber = await Subscriber.open(_ws_url(receiver), _token(loaded.fixture.other_staff[0]), hub)
    received, mutations, missed = [], [], 0
    try:
        for number in range(LIVE_WARMUP + plan.live_sends):
            mark = marker()
            started = time.perf_counter()
            await _send(sender, token, next(threads), f"Bonjour {mark}")
            answered = time.perf_counter()
            arrivals = await hub.wait(mark, 1, LIVE_TIMEOUT)
            if number < LIVE_WARMUP:
                continue
            if arrivals:
                received.append(arrivals[0] - started)
                mutations.append(answered - started)
            else:
                missed += 1
    finally:
        await subscriber.close()
    results.facts["live"] = {"received": [s * 1000 for s in received], "mutation": [s * 1000 for s in mutations],
                             "missed": missed, "failures": hub.failures[:5]}
    log.info("send -> receive p50 %.1f ms p99 %.1f ms; mutation p50 %.1f ms", percentile(received, 0.5) * 1000,
             percentile(received, 0.99) * 1000, percentile(mutations, 0.5) * 1000)


def _ws_url(server: Server) -> str:
    return server.url.replace("http://", "ws://") + "/graphql"


async def _fanout(crowd: Crowd, sender: Endpoint, token: str, thread: str, asked: int) -> dict[str, Any]:
    alive = crowd.alive
    failed_before = len(crowd.hub.failures)
    mark = marker()
    started = time.perf_counter()
    await _send(sender, token, thread, f"À toute l'équipe {mark}")
    answered = time.perf_counter()
    arrivals = await crowd.hub.wait(mark, alive, FANOUT_TIMEOUT)
    return {"asked": asked, "opened": len(crowd.members), "ended_before": failed_before, "subscribers": alive,
            "received": len(arrivals), "failed": len(crowd.hub.failures) - failed_before,
            "mutation_ms": (answered - started) * 1000,
            "first_ms": (min(arrivals) - started) * 1000 if arrivals else None,
            "last_ms": (max(arrivals) - started) * 1000 if arrivals else None,
            "failures": crowd.hub.failures[failed_before:failed_before + 3]}


async def measure_crowds(loaded: Loaded, sender: Endpoint, receiver: Server, plan: Plan, results: Results) -> None:
    """Idle subscribers' memory and CPU on one process, then one message to all of them (fan-out), then
    the same with more subscribers."""
    token = _token(loaded.fixture.viewer)
    thread = loaded.fixture.email_threads[0]
    crowd = Crowd(_ws_url(receiver), [_token(s) for s in loaded.fixture.other_staff])
    try:
        rss_before = rss_bytes(receiver.pid)
        opening = await crowd.grow(plan.subscribers, plan.open_seconds)
        await asyncio.sleep(plan.settle_seconds)
        rss_after = rss_bytes(receiver.pid)
        cpu_before = cpu_seconds(receiver.pid)
        await asyncio.sleep(plan.idle_seconds)
        idle_cpu = (cpu_seconds(receiver.pid) - cpu_before) / plan.idle_seconds
        opened = len(crowd.members)
        results.facts["idle"] = {
            "subscribers": opened, "asked": plan.subscribers, "refused": len(crowd.refused),
            "not_opened_in_time": crowd.skipped,
            "refusals": crowd.refused[:3], "open_seconds": opening, "rss_before": rss_before,
            "rss_after": rss_after, "bytes_per_connection": (rss_after - rss_before) / opened if opened else None,
            "idle_cpu_share": idle_cpu, "failed_while_idle": len(crowd.hub.failures),
        }
        log.info("idle: %d subscribers, %.1f KB each, %.1f%% of a core", opened,
                 (rss_after - rss_before) / max(opened, 1) / 1000, idle_cpu * 100)
        fanouts = []
        for _ in range(plan.fanouts):
            fanouts.append(await _fanout(crowd, sender, token, thread, plan.subscribers))
            log.info("fan-out to %d live subscribers: %d received, last after %s ms", fanouts[-1]["subscribers"],
                     fanouts[-1]["received"], _ms(fanouts[-1]["last_ms"]))
            await asyncio.sleep(1.0)
        results.facts["fanout"] = fanouts
        if plan.fanout_large > plan.subscribers:
            await crowd.grow(plan.fanout_large, plan.open_seconds)
            await asyncio.sleep(plan.settle_seconds)
            large = await _fanout(crowd, sender, token, thread, plan.fanout_large)
            large.update(refused=len(crowd.refused), refusals=crowd.refused[:3], not_opened_in_time=crowd.skipped)
            results.facts["fanout_large"] = large
            log.info("fan-out to %d (of %d asked): %d received, %d failed, last after %s ms", large["subscribers"],
                     plan.fanout_large, large["received"], large["failed"], _ms(large["last_ms"]))
    finally:
        await crowd.close()


async def _section(name: str, work: Awaitable[None], results: Results) -> None:
    """A failing section is reported, and the run goes on with the next one."""
    try:
        await work
    except Exception as exc:
        log.exception("%s failed", name)
        results.notes.append(f"{name} failed: {exc!r}"[:500])


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


async def run(plan: Plan, *, database: str, redis: str | None, seed: int) -> Results:
    results = Results(plan, datetime.now(UTC))
    results.facts["postgraphile"] = plan.postgraphile and node_available()
    started = time.perf_counter()
    use_postgraphile = plan.postgraphile and node_available()
    if plan.postgraphile and not use_postgraphile:
        results.notes.append("PostGraphile is not installed (`npm ci` in bench/anchors): its rows are empty.")
    logs = Path(tempfile.mkdtemp(prefix="inbox_anchors_"))
    async with fresh_database(database) as url:
        results.database = await server_version(url)
        loaded = await load(url, plan, seed, results)
        results.statements = loaded.captured
        async with AsyncExitStack() as stack:
            redis_url = await stack.enter_async_context(redis_server(redis, logs))
            servers = [inbox_server("inbox-a", url, redis_url, SECRET, logs),
                       inbox_server("inbox-b", url, redis_url, SECRET, logs)]
            if use_postgraphile:
                servers.append(postgraphile_server(url, logs))
            started_servers = await asyncio.gather(*(stack.enter_async_context(s) for s in servers))
            server_a, server_b = started_servers[:2]
            direct = await stack.enter_async_context(connections(url, CLIENTS))
            inbox = await stack.enter_async_context(endpoint("inbox-a", server_a.url))
            postgraphile = (await stack.enter_async_context(endpoint("postgraphile", started_servers[2].url))
                            if use_postgraphile else None)
            log.info("servers up (logs in %s)", logs)
            await measure_requests(loaded, inbox, postgraphile, direct, plan, results)
            await _section("broadcast", measure_broadcast(loaded, inbox, direct, plan, results), results)
            await _section("send -> receive", measure_live(loaded, inbox, server_b, plan, results), results)
            await _section("subscribers", measure_crowds(loaded, inbox, server_b, plan, results), results)
            results.facts["rss_end"] = {"inbox-a": rss_bytes(server_a.pid), "inbox-b": rss_bytes(server_b.pid)}
    results.seconds = time.perf_counter() - started
    return results
