"""The workloads: what the inbox frontend asks, through the real app, timed sequentially and concurrently."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.client import BenchClient, GraphQLFailure, Reply
from bench.load import Fixture
from bench.scales import Scale
from bench.sqlcapture import Statement, StatementLog, explain

log = logging.getLogger("bench")
PAGE_SIZE = 50
DEEP_PAGES = 20
WARMUP = 2
# A request this slow (seconds) needs no more warming up.
WARM_ENOUGH = 1.0
EXPLAINED_STATEMENTS = 2

THREADS = """query Threads($category: ThreadCategory!, $status: ThreadStatusFilter!, $search: String, $first: Int,
              $after: String) {
  threads(category: $category, status: $status, search: $search, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id title unreadCount activityAt isFavorite isMuted sortKey
      lastMessage { preview direction createdAt }
      target { __typename ... on Member { id fullName email phone tags } }
    } }
  }
}"""
MEMBERS = """query Members($search: String) {
  members(search: $search, first: 20) {
    pageInfo { hasNextPage endCursor }
    edges { node { id fullName email phone tags thread { id } } }
  }
}"""
UNREAD_COUNTS = "query UnreadCounts { unreadCounts { members smartlists sessions total } }"
MESSAGES = """query Messages($id: ID!) {
  node(id: $id) { ... on Thread { id title messages(last: 30) {
    pageInfo { hasPreviousPage startCursor }
    edges { cursor node {
      id direction channel subject body createdAt
      author { __typename ... on Staff { name } ... on Member { fullName } }
      deliverySummary { total queued sent delivered failed skipped }
    } }
  } } }
}"""
SEND = """mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) {
    message { id cursor createdAt deliverySummary { total queued skipped } }
    thread { id sortKey unreadCount activityAt }
    unreadCounts { total }
    userErrors { code field message }
  }
}"""
READ = """mutation Read($input: ThreadInput!) {
  markThreadRead(input: $input) {
    thread { id unreadCount readCursor }
    unreadCounts { members smartlists sessions total }
    userErrors { code field message }
  }
}"""

Request = tuple[str, dict[str, Any]]


@dataclass
class Workload:
    name: str
    query: str
    requests: Iterator[Request]
    sequential: int
    concurrent: int
    explain: bool = False
    note: str = ""
    # A sentence about the probe's answer (e.g. how many deliveries a broadcast created).
    describe: Callable[[dict[str, Any]], str] | None = None


@dataclass
class Phase:
    latencies: list[float]
    seconds: float

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


@dataclass
class Plan:
    statement: Statement
    lines: list[str]


@dataclass
class Result:
    name: str
    note: str
    cost: int
    statements: list[Statement]
    sequential: Phase
    concurrent: Phase
    concurrency: int
    plans: list[Plan] = field(default_factory=list)
    error: str = ""

    @property
    def sql_seconds(self) -> float:
        return sum(s.seconds for s in self.statements)


def _threads_vars(status: str = "ALL", search: str | None = None, after: str | None = None) -> dict[str, Any]:
    return {"category": "MEMBER", "status": status, "search": search, "first": PAGE_SIZE, "after": after}


def _as(staff: str, variables: Iterator[dict[str, Any]]) -> Iterator[Request]:
    return ((staff, v) for v in variables)


async def deep_cursor(client: BenchClient, viewer: str) -> tuple[str | None, int]:
    """The cursor after DEEP_PAGES pages of the member list (or the one leading to its last page when
    the list is shorter), and the number of the page it leads to."""
    cursor, page = None, 0
    while page < DEEP_PAGES:
        reply = await client.call(THREADS, _threads_vars(after=cursor), staff=viewer)
        info = reply.data["threads"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        cursor, page = info["endCursor"], page + 1
    return cursor, page + 1


def _deliveries(data: dict[str, Any]) -> str:
    summary = data["sendMessage"]["message"]["deliverySummary"]
    return f"{summary['total']} deliveries per send, {summary['queued']} still queued when it returned"


def build_workloads(fixture: Fixture, scale: Scale, deep: tuple[str | None, int]) -> list[Workload]:
    """Reads first, then writes (which change what the reads would see)."""
    viewer, n, c = fixture.viewer, scale.requests, scale.concurrent_requests
    numbers = itertools.count(1)
    cursor, deep_page = deep
    pairs = itertools.cycle(fixture.unread_pairs)
    return [
        Workload("threads: first page (MEMBER, 50)", THREADS, _as(viewer, itertools.repeat(_threads_vars())), n, c,
                 explain=True),
        Workload(f"threads: page {deep_page} (after a cursor)", THREADS,
                 _as(viewer, itertools.repeat(_threads_vars(after=cursor))), n, c, explain=True),
        Workload("threads: status UNREAD", THREADS, _as(viewer, itertools.repeat(_threads_vars("UNREAD"))), n, c,
                 explain=True),
        Workload("threads: search name", THREADS,
                 _as(viewer, (_threads_vars(search=w) for w in itertools.cycle(fixture.name_words))), n, c,
                 explain=True, note="words: " + ", ".join(repr(w) for w in fixture.name_words[:4]) + ", …"),
        Workload("threads: search phone", THREADS,
                 _as(viewer, (_threads_vars(search=w) for w in itertools.cycle(fixture.phone_words))), n, c,
                 explain=True, note="words: " + ", ".join(repr(w) for w in fixture.phone_words[:4]) + ", …"),
        Workload("members: search name", MEMBERS,
                 _as(viewer, ({"search": w} for w in itertools.cycle(fixture.name_words))), n, c, explain=True),
        Workload("members: search phone", MEMBERS,
                 _as(viewer, ({"search": w} for w in itertools.cycle(fixture.phone_words))), n, c, explain=True),
        Workload("unreadCounts", UNREAD_COUNTS, _as(viewer, itertools.repeat({})), n, c, explain=True),
        Workload("thread messages(last: 30)", MESSAGES,
                 _as(viewer, ({"id": t} for t in itertools.cycle(fixture.long_threads))), n, c, explain=True,
                 note="threads of 30 messages or more"),
        Workload("markThreadRead", READ, ((s, {"input": {"threadId": t}}) for s, t in pairs), n, c,
                 note=f"other staff users read threads with live replies ({len(fixture.unread_pairs)} pairs)"),
        Workload("sendMessage: member thread (EMAIL)", SEND, _as(viewer, (
            {"input": {"threadId": t, "channel": "EMAIL", "body": f"Bonjour, petit rappel n°{next(numbers)} 🙂"}}
            for t in itertools.cycle(fixture.email_threads))), n, c),
        Workload("sendMessage: smartlist (EMAIL)", SEND, _as(viewer, (
            {"input": {"threadId": fixture.newsletter_thread, "channel": "EMAIL", "subject": "La newsletter",
                       "body": f"Bonjour à toutes et à tous, voici la newsletter n°{next(numbers)}."}}
            for _ in itertools.count())), scale.broadcast_requests, scale.broadcast_requests * 2,
            describe=_deliveries),
    ]


async def _phase(client: BenchClient, workload: Workload, count: int, workers: int, limit: float) -> Phase:
    """`count` requests by `workers` concurrent callers; no new request after `limit` seconds."""
    latencies: list[float] = []
    started = time.perf_counter()
    issued = 0

    async def worker() -> None:
        nonlocal issued
        while issued < count and time.perf_counter() - started < limit:
            issued += 1
            staff, variables = next(workload.requests)
            latencies.append((await client.call(workload.query, variables, staff=staff)).seconds)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return Phase(latencies, time.perf_counter() - started)


async def _logged_call(client: BenchClient, workload: Workload) -> tuple[Reply | None, StatementLog, str]:
    """One request with its SQL recorded: the reply, or None and the error."""
    staff, variables = next(workload.requests)
    with StatementLog(client.engine) as statements:
        try:
            return await client.call(workload.query, variables, staff=staff), statements, ""
        except GraphQLFailure as exc:
            return None, statements, str(exc)


async def run_workload(client: BenchClient, workload: Workload, concurrency: int, limit: float) -> Result:
    """Warm up, record the SQL of one request (and its plans when asked), then time both phases.

    A request that fails (e.g. a statement over the statement timeout) ends the workload, reported
    with the failing statement's plan. The concurrent phase is skipped when its callers would
    queue for more than `limit` seconds.
    """
    empty = Phase([], 0.0)
    for _ in range(WARMUP + 1):
        reply, statements, error = await _logged_call(client, workload)
        if reply is None or reply.seconds > WARM_ENOUGH:
            break
    plans = []
    if workload.explain or error:
        plans = [Plan(s, await explain(client.engine, s)) for s in statements.slowest_reads(EXPLAINED_STATEMENTS)]
    result = Result(workload.name, workload.note, reply.cost if reply else 0, statements.statements, empty, empty,
                    concurrency, plans)
    if reply is None:
        failed = [s for s in statements.statements if s.failed]
        cause = f" ({failed[0].verb} failed after {failed[0].seconds:.1f} s: see its plan)" if failed else ""
        result.error = f"failed: {error[:300]}{cause}"
        log.info("%-40s failed: %s", workload.name, error[:120])
        return result
    if workload.describe is not None:
        result.note = workload.describe(reply.data)
    try:
        result.sequential = await _phase(client, workload, workload.sequential, 1, limit)
        if result.sequential.percentile(0.5) * concurrency <= limit:
            result.concurrent = await _phase(client, workload, workload.concurrent, concurrency, limit)
        else:
            result.error = f"concurrent phase skipped: {concurrency} callers would queue for over {limit:.0f} s"
    except GraphQLFailure as exc:
        result.error = f"failed while timed: {str(exc)[:300]}"
    log.info("%-40s p50 %7.1f ms  c%d p50 %7.1f ms", workload.name, result.sequential.percentile(0.5) * 1000,
             concurrency, result.concurrent.percentile(0.5) * 1000)
    return result
