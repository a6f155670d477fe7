"""Waiting without idle state: a future exists only while a coroutine waits (an idle subscriber or
connection holds no Event, Queue or deque, about 600 bytes each)."""

from __future__ import annotations

import asyncio


class Waiters:
    """A base for what coroutines wait on: `wait()` parks the caller until `wake()`."""

    __slots__ = ("_futures",)

    def __init__(self) -> None:
        self._futures: list[asyncio.Future[None]] | None = None

    async def wait(self) -> None:
        future = asyncio.get_running_loop().create_future()
        if self._futures is None:
            self._futures = []
        self._futures.append(future)
        try:
            await future
        finally:
            if self._futures is not None and future in self._futures:
                self._futures.remove(future)
            if not self._futures:
                self._futures = None

    def wake(self) -> None:
        for future in self._futures or ():
            if not future.done():
                future.set_result(None)
