"""The process's live parts, wired once for `inbox serve` (the app's lifespan) and `inbox dispatch`:
the event bus, the notifier of delivery changes that publishes on it, and the delivery dispatcher
that tells the notifier what it changed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.delivery_changes import DeliveryChangeNotifier
from inbox.dispatcher import Dispatcher, dispatcher_from_settings, stop_dispatcher
from inbox.settings import Settings
from subscriptions.bus import EventBus


@dataclass
class Runtime:
    bus: EventBus
    delivery_changes: DeliveryChangeNotifier
    dispatcher: Dispatcher | None = None
    dispatching: asyncio.Task[None] | None = None

    def dispatch_in_background(self) -> None:
        """Run the dispatcher beside the server; it stops (with a grace period) with the runtime."""
        assert self.dispatcher is not None
        self.dispatching = asyncio.create_task(self.dispatcher.run(), name="inbox-dispatcher")


@asynccontextmanager
async def running(settings: Settings, sessions: async_sessionmaker[AsyncSession], *,
                  with_dispatcher: bool) -> AsyncIterator[Runtime]:
    """Start the bus and the notifier (and create the dispatcher); on exit stop them in reverse."""
    bus = EventBus(settings.redis_url)
    await bus.start()
    delivery_changes = DeliveryChangeNotifier(sessions, bus)
    delivery_changes.start()
    runtime = Runtime(bus, delivery_changes)
    if with_dispatcher:
        runtime.dispatcher = dispatcher_from_settings(settings, sessions)
        runtime.dispatcher.on_change = delivery_changes.touch
    try:
        yield runtime
    finally:
        if runtime.dispatcher is not None and runtime.dispatching is not None:
            await stop_dispatcher(runtime.dispatcher, runtime.dispatching)
        elif runtime.dispatcher is not None:
            await runtime.dispatcher.aclose()
        await delivery_changes.aclose()
        await bus.stop()
