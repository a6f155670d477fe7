"""Live updates measured from outside: graphql-transport-ws subscribers (the `websockets` library) on one
`inbox serve` process, messages sent over HTTP to another, both sharing one Redis."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import websockets

from bench.anchors.documents import THREAD_UPDATED

PROTOCOL = "graphql-transport-ws"
MARKER = re.compile(r"bench-live-\d+")
OPEN_TIMEOUT = 30.0
# Connections opened at once while building a crowd of subscribers.
OPENING_AT_ONCE = 50


@dataclass
class Hub:
    """Where every subscriber's reader records what it receives: when each marked message arrived, and
    which subscriptions ended (an error, a complete or a closed connection)."""

    arrivals: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    _waiting: dict[str, asyncio.Event] = field(default_factory=dict)

    def arrived(self, marker: str, at: float) -> None:
        self.arrivals[marker].append(at)
        if marker in self._waiting:
            self._waiting[marker].set()

    def failed(self, reason: str) -> None:
        self.failures.append(reason)
        for event in self._waiting.values():
            event.set()

    async def wait(self, marker: str, count: int, timeout: float) -> list[float]:
        """Arrival times of `marker` once `count` subscribers have it (less those that fail meanwhile),
        or at the timeout."""
        deadline = time.perf_counter() + timeout
        failed_before = len(self.failures)
        event = self._waiting[marker] = asyncio.Event()
        try:
            while len(self.arrivals[marker]) < count - (len(self.failures) - failed_before):
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                event.clear()
                try:
                    await asyncio.wait_for(event.wait(), remaining)
                except TimeoutError:
                    break
            return list(self.arrivals[marker])
        finally:
            del self._waiting[marker]


class Subscriber:
    """One WebSocket with one `threadUpdated` subscription; its reader notes each marked message."""

    def __init__(self, connection: Any, hub: Hub) -> None:
        self.connection = connection
        self.hub = hub
        self.reader: asyncio.Task[None] | None = None
        self.last_error = ""

    @classmethod
    async def open(cls, url: str, token: str, hub: Hub) -> Subscriber:
        connection = await websockets.connect(url, subprotocols=[PROTOCOL], compression=None,
                                              open_timeout=OPEN_TIMEOUT, ping_interval=None, max_size=2**20)
        try:
            await connection.send(json.dumps({"type": "connection_init",
                                              "payload": {"Authorization": f"Bearer {token}"}}))
            ack = json.loads(await asyncio.wait_for(connection.recv(), OPEN_TIMEOUT))
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"no connection_ack: {ack}")
            await connection.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": THREAD_UPDATED}}))
        except BaseException:
            await connection.close()
            raise
        subscriber = cls(connection, hub)
        subscriber.reader = asyncio.create_task(subscriber._read())
        return subscriber

    async def _read(self) -> None:
        try:
            async for raw in self.connection:
                at = time.perf_counter()
                text = raw if isinstance(raw, str) else raw.decode()
                if '"next"' in text:
                    found = MARKER.search(text)
                    if found:
                        self.hub.arrived(found.group(), at)
                    elif '"errors"' in text:
                        self.last_error = json.dumps(json.loads(text).get("payload", {}).get("errors"))[:200]
                    continue
                message = json.loads(text)
                if message.get("type") == "ping":
                    await self.connection.send(json.dumps({"type": "pong"}))
                elif message.get("type") == "error":
                    self.hub.failed(f"error: {json.dumps(message.get('payload'))[:200]}")
                    return
                elif message.get("type") == "complete":
                    self.hub.failed(f"complete after {self.last_error or 'no error'}")
                    return
        except websockets.ConnectionClosed as closed:
            self.hub.failed(f"closed: {closed.rcvd.code if closed.rcvd else 'no close frame'}")
        except Exception as exc:  # a reader must never die silently
            self.hub.failed(f"reader: {exc!r}")
        else:
            self.hub.failed("closed")

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        try:
            await asyncio.wait_for(self.connection.close(), 5)
        except (TimeoutError, websockets.WebSocketException, OSError):
            pass


@dataclass
class Crowd:
    """Many subscribers on one server; opened a few at a time, closed together."""

    url: str
    tokens: list[str]
    hub: Hub = field(default_factory=Hub)
    members: list[Subscriber] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    skipped: int = 0

    async def grow(self, total: int, limit: float) -> float:
        """Open subscribers until there are `total` (fewer if some are refused, or when `limit` seconds
        pass first: the rest are counted in `skipped`); the seconds it took."""
        started = time.perf_counter()
        semaphore = asyncio.Semaphore(OPENING_AT_ONCE)

        async def one(index: int) -> None:
            async with semaphore:
                if time.perf_counter() - started > limit:
                    self.skipped += 1
                    return
                try:
                    self.members.append(await Subscriber.open(self.url, self.tokens[index % len(self.tokens)],
                                                              self.hub))
                except websockets.ConnectionClosed as closed:
                    code = closed.rcvd or closed.sent
                    self.refused.append(f"closed {code.code} {code.reason}" if code else "closed")
                except Exception as exc:
                    self.refused.append(repr(exc)[:200])

        await asyncio.gather(*(one(i) for i in range(len(self.members), total)))
        return time.perf_counter() - started

    @property
    def alive(self) -> int:
        return len(self.members) - len(self.hub.failures)

    async def close(self) -> None:
        for start in range(0, len(self.members), 500):
            await asyncio.gather(*(s.close() for s in self.members[start:start + 500]))
        self.members.clear()
