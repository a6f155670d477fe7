"""The event bus under faults (docs/architecture.md, Security and reliability: Redis down, slow consumers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from subscriptions.bus import OVERFLOW, QUEUE_SIZE, RESET, EventBus
from tests.redis_server import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def memory_bus() -> AsyncIterator[EventBus]:
    bus = EventBus(None)
    await bus.start()
    yield bus
    await bus.stop()


async def next_event(events: Any, timeout: float = 5.0) -> dict[str, Any]:
    return await asyncio.wait_for(events.__anext__(), timeout)


async def test_a_slow_subscriber_is_told_to_resync_and_its_queue_stays_bounded(memory_bus: EventBus) -> None:
    async with memory_bus.subscribe("c") as slow, memory_bus.subscribe("c") as fast:
        for i in range(QUEUE_SIZE + 50):
            await memory_bus.publish("c", {"n": i})
            if i % 100 == 0:
                await asyncio.sleep(0)
            assert (await next_event(fast))["n"] == i, "other subscribers are unaffected"
        await asyncio.sleep(0.05)
        queues = memory_bus.broadcast._subscribers["c"]
        assert all(queue.qsize() <= QUEUE_SIZE for queue in queues)
        assert (await next_event(slow)) == {"kind": OVERFLOW}


async def test_a_failed_publish_is_counted_and_never_raises() -> None:
    bus = EventBus("redis://127.0.0.1:1/0")
    await bus.start()
    try:
        assert await bus.publish("c", {"n": 1}) is False
        assert bus.publish_failures == 1
        assert await bus.ready() is False
    finally:
        await bus.stop()


async def test_after_a_redis_restart_the_bus_resubscribes_and_tells_subscribers_to_catch_up(
    redis_server: RedisServer,
) -> None:
    bus, publisher = EventBus(redis_server.url), EventBus(redis_server.url)
    await bus.start()
    await publisher.start()
    try:
        async with bus.subscribe("c") as events:
            await asyncio.sleep(0.1)
            await publisher.publish("c", {"n": 1})
            assert await next_event(events) == {"n": 1}
            redis_server.stop()
            assert await publisher.publish("c", {"n": "lost"}) is False
            await asyncio.sleep(0.5)
            redis_server.start()
            assert await next_event(events, timeout=10) == {"kind": RESET}
            assert await publisher.publish("c", {"n": 2})
            assert await next_event(events) == {"n": 2}
            assert await bus.ready()
    finally:
        await bus.stop()
        await publisher.stop()


async def test_subscribing_during_a_redis_outage_works_once_redis_is_back(redis_server: RedisServer) -> None:
    bus, publisher = EventBus(redis_server.url), EventBus(redis_server.url)
    await bus.start()
    await publisher.start()
    try:
        await asyncio.sleep(0.1)
        redis_server.stop()
        async with bus.subscribe("late") as events:
            redis_server.start()
            assert await next_event(events, timeout=10) == {"kind": RESET}
            await publisher.publish("late", {"n": 1})
            assert await next_event(events) == {"n": 1}
    finally:
        await bus.stop()
        await publisher.stop()
