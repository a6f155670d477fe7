"""Per-key rate limiting by query cost: a leaky bucket, in Redis when configured, in memory otherwise.

Each key (the caller chooses it, e.g. "staff:42" or "key:7") owns a bucket of `capacity` points that
leaks `capacity` points per `window_seconds` (a full bucket drains in one window). A request costing
more than the room left is refused and charges nothing. A limiter outage must never take the API
down: when Redis is unreachable the Redis limiter allows, and says so once in the log.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger("inbox.ratelimit")

DEFAULT_CAPACITY = 20_000
DEFAULT_WINDOW_SECONDS = 60.0
REDIS_PREFIX = "inbox:ratelimit:"
REDIS_TIMEOUT_SECONDS = 0.5
OUTAGE_PAUSE_SECONDS = 5.0


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: datetime
    """When the bucket will be empty (UTC)."""
    retry_after: int
    """Seconds to wait before the refused request fits; 0 when allowed."""


@dataclass(frozen=True)
class _Policy:
    """The bucket's arithmetic, shared by both stores so they answer alike."""

    capacity: int
    window_seconds: float

    @property
    def rate(self) -> float:
        """Points leaked per second."""
        return self.capacity / self.window_seconds

    def leaked(self, level: float, elapsed: float) -> float:
        return max(0.0, level - max(0.0, elapsed) * self.rate)

    def fits(self, level: float, cost: int) -> bool:
        return level + cost <= self.capacity

    def decision(self, level: float, refused_cost: int = 0) -> RateDecision:
        """The answer for a bucket at `level` (after any charge); `refused_cost` > 0 when refused."""
        reset_at = datetime.now(UTC) + timedelta(seconds=level / self.rate)
        remaining = max(0, math.floor(self.capacity - level))
        if not refused_cost:
            return RateDecision(True, self.capacity, remaining, reset_at, 0)
        wait = (level + refused_cost - self.capacity) / self.rate
        return RateDecision(False, self.capacity, remaining, reset_at, max(1, math.ceil(wait)))


class MemoryRateLimiter:
    """One process's buckets: for development and single-process deployments. Keys are per
    principal, so the table stays as small as the set of callers."""

    def __init__(self, *, capacity: int = DEFAULT_CAPACITY, window_seconds: float = DEFAULT_WINDOW_SECONDS) -> None:
        self._policy = _Policy(capacity, window_seconds)
        self._buckets: dict[str, tuple[float, float]] = {}

    def _level(self, key: str, now: float) -> float:
        level, at = self._buckets.get(key, (0.0, now))
        return self._policy.leaked(level, now - at)

    async def charge(self, key: str, cost: int) -> RateDecision:
        # No await between reading and writing the bucket: concurrent charges cannot overspend.
        now = time.monotonic()
        level = self._level(key, now)
        if not self._policy.fits(level, cost):
            return self._policy.decision(level, refused_cost=cost)
        self._buckets[key] = (level + cost, now)
        return self._policy.decision(level + cost)

    async def peek(self, key: str) -> RateDecision:
        """The bucket as a 1-point request would find it, charging nothing."""
        level = self._level(key, time.monotonic())
        return self._policy.decision(level, 0 if self._policy.fits(level, 1) else 1)

    async def aclose(self) -> None:
        """Nothing to release; present so owners can close either limiter alike."""


# Leak, test and charge in one atomic step, on the server's clock (shared by every process).
# KEYS[1] bucket; ARGV: capacity, rate (points/s), cost, charge ("1" charges, "0" only looks).
# Returns {fits (1/0), level after}; the level is a string since Redis truncates Lua numbers.
_LEAKY_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(state[1]) or 0
local at = tonumber(state[2]) or now
level = math.max(0, level - math.max(0, now - at) * rate)
local fits = level + cost <= capacity
if fits and ARGV[4] == '1' then
  level = level + cost
  redis.call('HSET', KEYS[1], 'level', string.format('%.6f', level), 'at', string.format('%.6f', now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(level / rate * 1000) + 1000)
end
return {fits and 1 or 0, string.format('%.6f', level)}
"""


class RedisRateLimiter:
    """Buckets shared by every process, in Redis (a hash per key, expiring once drained)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        capacity: int = DEFAULT_CAPACITY,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        prefix: str = REDIS_PREFIX,
    ) -> None:
        self._client = client
        self._policy = _Policy(capacity, window_seconds)
        self._prefix = prefix
        self._script = client.register_script(_LEAKY_BUCKET_LUA)
        self._paused_until = 0.0

    async def charge(self, key: str, cost: int) -> RateDecision:
        result = await self._run(key, cost, charge=True)
        if result is None:
            return self._policy.decision(float(cost))
        fits, level = result
        return self._policy.decision(level, 0 if fits else cost)

    async def peek(self, key: str) -> RateDecision:
        """The bucket as a 1-point request would find it, charging nothing."""
        result = await self._run(key, 1, charge=False)
        if result is None:
            return self._policy.decision(0.0)
        fits, level = result
        return self._policy.decision(level, 0 if fits else 1)

    async def _run(self, key: str, cost: int, *, charge: bool) -> tuple[bool, float] | None:
        """The script's answer, or None when Redis is out: then the caller allows. After a
        failure Redis is left alone for a few seconds so an outage adds no latency per request."""
        if time.monotonic() < self._paused_until:
            return None
        args = [self._policy.capacity, self._policy.rate, cost, "1" if charge else "0"]
        try:
            fits, level = await self._script(keys=[self._prefix + key], args=args)
        except (RedisError, OSError) as error:
            log.warning("rate limiter: Redis unavailable, allowing requests for %ss: %r", OUTAGE_PAUSE_SECONDS, error)
            self._paused_until = time.monotonic() + OUTAGE_PAUSE_SECONDS
            return None
        return bool(fits), float(level)

    async def aclose(self) -> None:
        await self._client.aclose()


def rate_limiter_from_url(redis_url: str | None, **options: Any) -> MemoryRateLimiter | RedisRateLimiter:
    """A Redis limiter when a URL is configured (owning its client: short timeouts and a single
    retry, so a sick Redis costs little latency), the memory one otherwise. `options` go to the
    limiter (capacity, window_seconds, and prefix for Redis)."""
    if not redis_url:
        return MemoryRateLimiter(**options)
    client = redis.Redis.from_url(
        redis_url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), retries=1),
    )
    return RedisRateLimiter(client, **options)
