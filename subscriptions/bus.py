"""The event bus: broadcaster's `Broadcast` API over our own Redis backend (redis-py 8), or in memory.

Pub/sub is at-most-once, so events are small hints (club, thread, sequence, kind); the database is
the truth and subscribers catch up from it. This module imports nothing of the project.

Why not broadcaster's own Redis backend: with redis-py 8 it never delivers, a Redis
restart silently kills its listener, and its subscriber queues are unbounded. Here the pub/sub
connection stays subscribed to a private channel so the read loop never ends, reconnects with backoff,
re-subscribes every channel, and then sends RESET on each so subscribers catch up; queues are bounded
and an overflowing subscriber gets OVERFLOW (resync) instead of growing memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypedDict, cast

import redis.asyncio as redis
from broadcaster import Broadcast, Event
from broadcaster._backends.base import BroadcastBackend
from broadcaster._backends.memory import MemoryBackend
from broadcaster._base import Subscriber

log = logging.getLogger("inbox.bus")

RESET = "__reset__"  # the bus reconnected: events may have been lost, catch up from the database
OVERFLOW = "__overflow__"  # this subscriber fell behind: its queue was dropped, catch up
PRIVATE_CHANNEL = "inbox:bus:keepalive"
QUEUE_SIZE = 1000
BACKOFF_START, BACKOFF_MAX = 0.1, 1.0


THREAD_EVENT = "thread"  # a thread changed (for everyone, or for `staff_id` only), on the club's channel
MESSAGE_EVENT = "message"  # a message was added, on the thread's channel


class BusEvent(TypedDict, total=False):
    """What travels on a channel: a hint that something committed changed (the database holds the
    facts). `kind` is THREAD_EVENT or MESSAGE_EVENT with the change's fields, or RESET / OVERFLOW alone."""

    kind: str
    club_id: int
    thread_id: int
    category: str
    reason: str
    change_seq: int
    staff_id: int | None
    message_id: int | None
    message_seq: int | None


def club_channel(club_id: int) -> str:
    return f"inbox:club:{club_id}"


def thread_channel(club_id: int, thread_id: int) -> str:
    return f"inbox:thread:{club_id}:{thread_id}"


class RedisPubSubBackend(BroadcastBackend):
    """One pub/sub connection per process, always subscribed, reconnecting forever."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._channels: set[str] = set()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def connect(self) -> None:
        self._client = redis.from_url(self._url, socket_connect_timeout=2, socket_timeout=5,
                                      health_check_interval=10)
        self._reader = asyncio.create_task(self._read_forever(), name="inbox-bus-reader")

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self._close_pubsub()
        await self._client.aclose()

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        if self.connected.is_set():
            try:
                await self._pubsub.subscribe(channel)
            except (redis.RedisError, OSError) as exc:
                log.warning("subscribe %s failed (re-subscribed on reconnect): %r", channel, exc)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        if self.connected.is_set():
            try:
                await self._pubsub.unsubscribe(channel)
            except (redis.RedisError, OSError) as exc:
                log.warning("unsubscribe %s failed: %r", channel, exc)

    async def publish(self, channel: str, message: Any) -> None:
        await self._client.publish(channel, message)

    async def next_published(self) -> Event:
        return await self._events.get()

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except (redis.RedisError, OSError):
            return False

    async def _read_forever(self) -> None:
        backoff, first = BACKOFF_START, True
        while True:
            try:
                self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                await self._pubsub.subscribe(PRIVATE_CHANNEL, *self._channels)
                self.connected.set()
                backoff = BACKOFF_START
                if not first:
                    log.warning("event bus reconnected; subscribers catch up")
                    for channel in list(self._channels):
                        self._events.put_nowait(Event(channel, RESET))
                first = False
                while True:
                    message = await self._pubsub.get_message(timeout=None)
                    if message and message.get("type") == "message":
                        self._events.put_nowait(Event(_text(message["channel"]), _text(message["data"])))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the reader must never die: log, back off, reconnect
                if self.connected.is_set():
                    log.warning("event bus connection lost: %r", exc)
                self.connected.clear()
                await self._close_pubsub()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    async def _close_pubsub(self) -> None:
        if self._pubsub is not None:
            try:
                await self._pubsub.aclose()
            except Exception:  # closing a broken connection may fail; it is gone either way
                pass
            self._pubsub = None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class BoundedBroadcast(Broadcast):
    """broadcaster's Broadcast with bounded queues, a listener that never dies, and race-free subscribe."""

    async def _listener(self) -> None:
        while True:
            event = await self._backend.next_published()
            for queue in list(self._subscribers.get(event.channel, ())):
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:
                    _drain(queue)
                    queue.put_nowait(Event(event.channel, OVERFLOW))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Any]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=QUEUE_SIZE)
        first = channel not in self._subscribers
        self._subscribers.setdefault(channel, set()).add(queue)
        try:
            if first:
                await self._backend.subscribe(channel)
            yield Subscriber(queue)
        finally:
            subscribers = self._subscribers.get(channel, set())
            subscribers.discard(queue)
            if not subscribers:
                self._subscribers.pop(channel, None)
                await self._backend.unsubscribe(channel)


def _drain(queue: asyncio.Queue[Any]) -> None:
    while not queue.empty():
        queue.get_nowait()


class EventBus:
    """Publish event hints and subscribe to channels; publishing never raises (the fact is committed already)."""

    def __init__(self, redis_url: str | None) -> None:
        self.backend: BroadcastBackend = RedisPubSubBackend(redis_url) if redis_url else MemoryBackend("memory://")
        self.broadcast = BoundedBroadcast(backend=self.backend)
        self.published = 0
        self.publish_failures = 0

    async def start(self) -> None:
        await self.broadcast.connect()

    async def stop(self) -> None:
        await self.broadcast.disconnect()

    async def publish(self, channel: str, event: BusEvent) -> bool:
        try:
            await self.broadcast.publish(channel, json.dumps(event, separators=(",", ":")))
        except Exception as exc:  # the fact is committed; subscribers recover it by catch-up
            self.publish_failures += 1
            log.warning("publish to %s failed: %r", channel, exc)
            return False
        self.published += 1
        return True

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[BusEvent]]:
        """Events of a channel as dicts; {"kind": RESET} or {"kind": OVERFLOW} mean "catch up"."""
        async with self.broadcast.subscribe(channel) as subscriber:
            yield _decoded(subscriber)

    async def ready(self) -> bool:
        ping = getattr(self.backend, "ping", None)
        return True if ping is None else bool(await ping())


async def _decoded(subscriber: Any) -> AsyncIterator[BusEvent]:
    async for event in subscriber:
        if event.message in (RESET, OVERFLOW):
            yield BusEvent(kind=event.message)
        else:
            yield cast(BusEvent, json.loads(event.message))
