"""Per-key rate limiting by query cost: a leaky bucket, in Redis when configured, in memory otherwise.

Each key (the caller chooses it, e.g. "staff:42" or "key:7") owns a bucket of `capacity` points that
leaks `capacity` points per `window_seconds` (a full bucket drains in one window). A request costing
more than the room left is refused and charges nothing. A limiter outage must never take the API
down: when Redis is unreachable the Redis limiter allows, and says so once in the log.

The Redis limiter answers most charges without a round trip: each process keeps, per key, the level
Redis last answered (leaked locally by the same arithmetic) plus the points it allowed and has not
sent yet. A charge keeping that estimate within `LOCAL_CEILING` of the capacity, while the process
owes Redis at most `OWED_SHARE` of it, is allowed locally and sent in the background within about
`SYNC_SECONDS`. A key's first charge in a process, any charge nearer the limit, and so every refusal,
are Redis's word: its script adds what the process owes, then tests the cost, atomically.

The bound: one process never overspends (its estimate counts all it allowed, sent or not, and the
costs Redis is deciding). With N processes the only overshoot is what the other processes allowed far
from the limit and have not sent yet, at most OWED_SHARE of the capacity each: a bucket holds at most
capacity x (1 + (N - 1) x OWED_SHARE), 2% more per extra process. Near the limit nothing is decided
locally.
"""

from __future__ import annotations

import asyncio
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
REDIS_CONNECTIONS = 20
OUTAGE_PAUSE_SECONDS = 5.0
# The Redis limiter's local view (RedisRateLimiter): decided in the process up to this share of the
# capacity, while owing Redis at most OWED_SHARE of it, sent within about SYNC_SECONDS.
LOCAL_CEILING = 0.8
OWED_SHARE = 0.02
SYNC_SECONDS = 1.0


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


# Leak, settle and charge in one atomic step, on the server's clock (shared by every process).
# KEYS[1] bucket; ARGV: capacity, rate (points/s), owed (points a process already allowed: always
# added), cost (added only if it fits), charge ("1" charges, "0" only looks).
# Returns {fits (1/0), level after, server time}; numbers as strings since Redis truncates Lua numbers.
_LEAKY_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local owed = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(state[1]) or 0
local at = tonumber(state[2]) or now
level = math.max(0, level - math.max(0, now - at) * rate) + owed
local fits = level + cost <= capacity
local charged = fits and ARGV[5] == '1' and cost > 0
if charged then
  level = level + cost
end
if charged or owed > 0 then
  redis.call('HSET', KEYS[1], 'level', string.format('%.6f', level), 'at', string.format('%.6f', now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(level / rate * 1000) + 1000)
end
return {fits and 1 or 0, string.format('%.6f', level), string.format('%.6f', now)}
"""


@dataclass
class _View:
    """One process's idea of a key's bucket: the level Redis last answered (leaked locally since), and the
    points this process allowed that Redis has not counted yet."""

    level: float = 0.0
    read_at: float | None = None
    """Local clock of the answer behind `level`; None until Redis has answered for this key."""
    server_time: float = 0.0
    """Redis's clock when it computed `level`: an answer computed earlier never replaces a later one."""
    pending: int = 0
    """Allowed here, not sent yet."""
    in_flight: int = 0
    """Sent (owed points, and the costs Redis is deciding), answer not back: counted until it is."""
    syncing: bool = False

    def estimate(self, policy: _Policy, now: float) -> float:
        base = 0.0 if self.read_at is None else policy.leaked(self.level, now - self.read_at)
        return base + self.pending + self.in_flight

    def unsent(self) -> int:
        return self.pending + self.in_flight

    def idle(self, policy: _Policy, now: float) -> bool:
        return not (self.unsent() or self.syncing or self.estimate(policy, now))


class RedisRateLimiter:
    """Buckets shared by every process, in Redis (a hash per key, expiring once drained), answered from
    a local view far from the limit (see the module's docstring). One sync per key is in flight at a
    time: when half the owed share is reached or the last answer is older than `sync_seconds`; a sweep
    every `sync_seconds` sends what is left and forgets drained keys."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        capacity: int = DEFAULT_CAPACITY,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        prefix: str = REDIS_PREFIX,
        sync_seconds: float = SYNC_SECONDS,
    ) -> None:
        self._client = client
        self._policy = _Policy(capacity, window_seconds)
        self._prefix = prefix
        self._script = client.register_script(_LEAKY_BUCKET_LUA)
        self._paused_until = 0.0
        self._sync_seconds = sync_seconds
        self._owed_limit = capacity * OWED_SHARE
        self._local_limit = capacity * LOCAL_CEILING
        self._views: dict[str, _View] = {}
        self._syncs: set[asyncio.Task[None]] = set()
        self._sweep_timer: asyncio.TimerHandle | None = None

    async def charge(self, key: str, cost: int) -> RateDecision:
        now = time.monotonic()
        view = self._views.get(key)
        if view is not None and view.read_at is not None:
            estimate = view.estimate(self._policy, now)
            if (estimate + cost <= self._local_limit
                    and view.unsent() + cost <= self._owed_limit):
                view.pending += cost
                if not view.syncing and (view.pending * 2 >= self._owed_limit
                                         or now - view.read_at >= self._sync_seconds):
                    self._sync_in_background(key, view)
                return self._policy.decision(estimate + cost)
        return await self._exact(key, cost)

    async def peek(self, key: str) -> RateDecision:
        """The bucket as a 1-point request would find it, charging nothing (what this process owes is sent)."""
        result = await self._exchange(key, self._view(key), 1, charge=False)
        if result is None:
            return self._policy.decision(0.0)
        fits, level = result
        return self._policy.decision(level, 0 if fits else 1)

    async def _exact(self, key: str, cost: int) -> RateDecision:
        result = await self._exchange(key, self._view(key), cost, charge=True)
        if result is None:
            return self._policy.decision(float(cost))
        fits, level = result
        return self._policy.decision(level, 0 if fits else cost)

    def _view(self, key: str) -> _View:
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = _View()
            self._schedule_sweep()
        return view

    async def _exchange(self, key: str, view: _View, cost: int, *, charge: bool) -> tuple[bool, float] | None:
        """Sends what the process owes for `key` with this charge (or look) and learns the level."""
        owed, view.pending = view.pending, 0
        counted = owed + (cost if charge else 0)
        view.in_flight += counted
        try:
            result = await self._run(key, owed, cost, charge=charge)
        finally:
            view.in_flight -= counted
        if result is None:
            return None
        fits, level, server_time = result
        if server_time >= view.server_time:
            view.level, view.read_at, view.server_time = level, time.monotonic(), server_time
        return fits, level

    def _sync_in_background(self, key: str, view: _View) -> None:
        view.syncing = True
        task = asyncio.create_task(self._sync(key, view), name="inbox-ratelimit-sync")
        self._syncs.add(task)
        task.add_done_callback(self._syncs.discard)

    async def _sync(self, key: str, view: _View) -> None:
        try:
            await self._exchange(key, view, 0, charge=True)
        finally:
            view.syncing = False

    def _schedule_sweep(self) -> None:
        if self._sweep_timer is None:
            self._sweep_timer = asyncio.get_running_loop().call_later(self._sync_seconds, self._sweep)

    def _sweep(self) -> None:
        """Sends what is owed for keys no charge has synced lately; forgets drained keys, so the table
        stays as small as the set of recent callers. Runs while any key is known."""
        self._sweep_timer = None
        now = time.monotonic()
        for key, view in list(self._views.items()):
            if view.pending and not view.syncing:
                self._sync_in_background(key, view)
            elif view.idle(self._policy, now):
                del self._views[key]
        if self._views:
            self._schedule_sweep()

    async def _run(self, key: str, owed: int, cost: int, *, charge: bool) -> tuple[bool, float, float] | None:
        """The script's answer, or None when Redis is out: then the caller allows. After a
        failure Redis is left alone for a few seconds so an outage adds no latency per request."""
        if time.monotonic() < self._paused_until:
            return None
        args = [self._policy.capacity, self._policy.rate, owed, cost, "1" if charge else "0"]
        try:
            fits, level, server_time = await self._script(keys=[self._prefix + key], args=args)
        except (RedisError, OSError) as error:
            log.warning("rate limiter: Redis unavailable, allowing requests for %ss: %r", OUTAGE_PAUSE_SECONDS, error)
            self._paused_until = time.monotonic() + OUTAGE_PAUSE_SECONDS
            return None
        return bool(fits), float(level), float(server_time)

    async def aclose(self) -> None:
        """Sends what is still owed, then closes the client."""
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
            self._sweep_timer = None
        await asyncio.gather(*self._syncs)
        await asyncio.gather(*(self._exchange(key, view, 0, charge=True)
                               for key, view in self._views.items() if view.pending))
        self._views.clear()
        await self._client.aclose()


def rate_limiter_from_url(redis_url: str | None, **options: Any) -> MemoryRateLimiter | RedisRateLimiter:
    """A Redis limiter when a URL is configured (owning its client: short timeouts and a single
    retry, so a sick Redis costs little latency; a burst of charges waits for one of the pool's
    connections rather than being taken for an outage), the memory one otherwise. `options` go to
    the limiter (capacity, window_seconds, and prefix and sync_seconds for Redis)."""
    if not redis_url:
        return MemoryRateLimiter(**options)
    pool = redis.BlockingConnectionPool.from_url(
        redis_url,
        max_connections=REDIS_CONNECTIONS,
        timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), retries=1),
    )
    return RedisRateLimiter(redis.Redis.from_pool(pool), **options)
