"""A short-lived cache of authenticated principals: the one place authentication results are kept.

Every HTTP request and every WebSocket `connection_init` authenticates its bearer value; without a
cache each would hold a database connection for the lookup, and a storm of connections would exhaust
the pool. Entries live `ttl` seconds (so a revoked key or a removed staff user is refused again within
that time), never past the token's own expiry; concurrent lookups of one credential share one query.
Keys are hashes of the credentials, never the credentials themselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from inbox.auth import Principal

DEFAULT_TTL_SECONDS = 30.0
DEFAULT_MAX_ENTRIES = 10_000


class PrincipalCache:
    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS, max_entries: int = DEFAULT_MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._pending: dict[str, asyncio.Future[Principal]] = {}

    async def authenticate(self, credential: str, lookup: Callable[[str], Awaitable[Principal]]) -> Principal:
        """The credential's principal: cached, or from `lookup` (whose errors are raised, never cached)."""
        key = _key(credential)
        cached = self._get(key)
        if cached is not None:
            return cached
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Principal] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            principal = await lookup(credential)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        else:
            future.set_result(principal)
            self._put(key, principal)
            return principal
        finally:
            del self._pending[key]

    def forget(self, credential: str) -> None:
        """Drop one credential (e.g. right after revoking it in this process)."""
        self._entries.pop(_key(credential), None)

    def _get(self, key: str) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        deadline, principal = entry
        expired = principal.expires_at is not None and principal.expires_at <= datetime.now(UTC)
        if deadline <= self.clock() or expired:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return principal

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _put(self, key: str, principal: Principal) -> None:
        self._entries[key] = (self.clock() + self.ttl, principal)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def _key(credential: str) -> str:
    return hashlib.sha256(credential.encode("utf-8", "surrogatepass")).hexdigest()
