"""Delivery status changes for live clients: coalesced to at most one DELIVERY_CHANGED per message and
second (a broadcast to 10,000 members must not push 10,000 updates), logged and published like any
other thread change."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.changes import Change, Publisher, publish_changes, record_change
from inbox.viewer_state import lock_thread
from models import Message
from models.engine import begin_write

log = logging.getLogger("inbox.delivery_changes")

INTERVAL = 1.0


class DeliveryChangeNotifier:
    """Collects the messages whose deliveries changed (`touch`) and flushes them once a second."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], bus: Publisher | None,
                 interval: float = INTERVAL) -> None:
        self.sessions = sessions
        self.bus = bus
        self.interval = interval
        self._pending: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def touch(self, message_id: int) -> None:
        self._pending.add(message_id)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-delivery-changes")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            try:
                await self.flush()
            except Exception:  # the next change retries; live clients also catch up on their own
                log.exception("delivery changes could not be recorded")
            await asyncio.sleep(self.interval)

    async def flush(self) -> None:
        self._wake.clear()
        message_ids, self._pending = sorted(self._pending), set()
        changes = [await self._record(message_id) for message_id in message_ids]
        await publish_changes(self.bus, changes)

    async def _record(self, message_id: int) -> Change | None:
        async with self.sessions() as session:
            await begin_write(session)
            thread_id = await session.scalar(select(Message.thread_id).where(Message.id == message_id))
            locked = await lock_thread(session, thread_id) if thread_id is not None else None
            if locked is None:
                return None
            change = await record_change(session, locked.thread, "DELIVERY_CHANGED", message_id=message_id)
            await session.commit()
            return change
