"""Timed loops: one client's latencies, and the requests per second of several clients, bounded in count
and time; a figure is measured once per round and reported as the median of its rounds."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Call = Callable[[], Awaitable[object]]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (0 when there is nothing to rank)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def latencies(call: Call, count: int, limit: float) -> list[float]:
    """Seconds of `count` calls one after another; no new call after `limit` seconds."""
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < count and time.perf_counter() - started < limit:
        before = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - before)
    return samples


async def throughput(call: Call, clients: int, seconds: float) -> float:
    """Calls per second completed by `clients` concurrent callers during `seconds`."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return done / (time.perf_counter() - started)


@dataclass
class Figure:
    """One measured number per round (milliseconds, requests per second, ...), reported as their median."""

    key: str
    label: str
    unit: str
    rounds: list[float] = field(default_factory=list)

    @property
    def value(self) -> float | None:
        return statistics.median(self.rounds) if self.rounds else None

    @property
    def spread(self) -> tuple[float, float] | None:
        return (min(self.rounds), max(self.rounds)) if self.rounds else None
