"""The project's own SQL as anchors: the statements one request sends, recorded in-process by the same
code the server runs (SQLAlchemy engine events, bench/sqlcapture.py), then replayed with their parameters
through asyncpg, one after another as the server sends them; and one set-based INSERT of a broadcast's
delivery rows."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench.client import BenchClient
from bench.generate import NEWSLETTER_TAG
from bench.sqlcapture import Statement, StatementLog

WARMUP = 2


@dataclass(frozen=True)
class Captured:
    """The statements of one warm request (after WARMUP identical ones)."""

    statements: list[Statement]

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def replayable(self) -> bool:
        return all(s.is_read and "FOR UPDATE" not in s.sql.upper() for s in self.statements)


async def capture(client: BenchClient, query: str, variables: dict[str, Any], staff: str,
                  *, warmup: int = WARMUP) -> Captured:
    for _ in range(warmup):
        await client.call(query, variables, staff=staff)
    with StatementLog(client.engine) as log:
        await client.call(query, variables, staff=staff)
    return Captured(list(log.statements))


class Connections:
    """Plain asyncpg connections, one lent to each concurrent caller: unlike a pool's, a returned
    connection costs no reset round trip, so the anchor times the statements alone."""

    def __init__(self, connections: list[asyncpg.Connection]) -> None:
        self._free = connections

    @asynccontextmanager
    async def lend(self) -> AsyncIterator[asyncpg.Connection]:
        if not self._free:
            raise RuntimeError("more concurrent callers than connections")
        connection = self._free.pop()
        try:
            yield connection
        finally:
            self._free.append(connection)


@asynccontextmanager
async def connections(database_url: str, count: int) -> AsyncIterator[Connections]:
    url = make_url(database_url)
    opened = [await asyncpg.connect(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username,
                                    password=url.password, database=url.database) for _ in range(count)]
    try:
        yield Connections(list(opened))
    finally:
        for connection in opened:
            await connection.close()


class Replay:
    """One request's statements sent again, in order, on one connection (no transaction: the server's
    own BEGIN/ROLLBACK and pings are what this anchor leaves out)."""

    def __init__(self, connections: Connections, captured: Captured) -> None:
        if not captured.replayable:
            raise ValueError("only reads are replayed")
        self.connections = connections
        self.statements = [(s.sql, tuple(s.parameters or ())) for s in captured.statements]

    async def __call__(self) -> None:
        async with self.connections.lend() as connection:
            for sql, parameters in self.statements:
                await connection.fetch(sql, *parameters)


@dataclass(frozen=True)
class BroadcastTarget:
    club_id: int
    thread_id: int


INSERT_MESSAGE = """INSERT INTO message (club_id, thread_id, seq, direction, channel, subject, body, created_at)
VALUES ($1, $2, (SELECT last_seq + 1000000 FROM thread WHERE id = $2), 'OUTBOUND', 'EMAIL', 'Anchor', 'Anchor', now())
RETURNING id"""
# The rows sendMessage creates for a smartlist broadcast by email, in one statement: one per member of the
# list, QUEUED when the member can receive email, SKIPPED otherwise.
INSERT_DELIVERIES = """INSERT INTO delivery (club_id, message_id, member_id, channel, address, status, reason, token,
                      attempts, next_attempt_at, updated_at)
SELECT m.club_id, $2::bigint, m.id, 'EMAIL', m.email,
       CASE WHEN m.email IS NOT NULL AND m.accepts_email THEN 'QUEUED' ELSE 'SKIPPED' END,
       CASE WHEN m.email IS NOT NULL AND m.accepts_email THEN NULL ELSE 'no email' END,
       md5(m.id::text || ':' || $2::bigint::text || ':' || random()::text), 0, now(), now()
FROM member m JOIN member_tag t ON t.member_id = m.id AND t.tag = $3
WHERE m.club_id = $1"""


async def delivery_insert(connections: Connections, target: BroadcastTarget) -> tuple[float, int]:
    """Seconds of the set-based INSERT of one broadcast's delivery rows, and its row count; rolled back."""
    async with connections.lend() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            message_id = await connection.fetchval(INSERT_MESSAGE, target.club_id, target.thread_id)
            started = time.perf_counter()
            status = await connection.execute(INSERT_DELIVERIES, target.club_id, message_id, NEWSLETTER_TAG)
            seconds = time.perf_counter() - started
        finally:
            await transaction.rollback()
    return seconds, int(status.split()[-1])
