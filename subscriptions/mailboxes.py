"""What a club's hub hands each live subscriber: rows (shared by every subscriber of the same viewer
and change, so that the GraphQL layer shapes and executes each once per group) in a mailbox that the
hub fills and the subscription's own task empties."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inbox.errors import DomainError
from inbox.threads import ThreadView, UnreadCounts
from models import Message
from resolvers.loaders import Loaders
from subscriptions.grouping import SharedEvent
from subscriptions.waiters import Waiters

MAILBOX_LIMIT = 1000  # undelivered rows a subscriber may hold before it is caught up from the database instead


class NotFound(DomainError):
    code = "NOT_FOUND"


@dataclass(frozen=True)
class ThreadUpdateRow:
    view: ThreadView
    reason: str
    change_seq: int
    message_id: int | None
    updates_cursor: str
    loaders: Loaders
    event: SharedEvent = field(default_factory=SharedEvent, compare=False, repr=False)


@dataclass(frozen=True)
class MessageRow:
    message: Message
    view: ThreadView | None
    loaders: Loaders
    event: SharedEvent = field(default_factory=SharedEvent, compare=False, repr=False)


@dataclass(frozen=True)
class CountsRow:
    """A viewer's unread counts, one row for all its subscribers (so they share one execution)."""

    counts: UnreadCounts
    event: SharedEvent = field(default_factory=SharedEvent, compare=False, repr=False)


class Subscriber(Waiters):
    """A mailbox the hub fills and the subscription's own task empties (waiting on a future only while
    it is empty)."""

    __slots__ = ("viewer_id", "active", "_items", "_error")

    def __init__(self, viewer_id: int) -> None:
        super().__init__()
        self.viewer_id = viewer_id
        self.active = True
        self._items: list[Any] = []
        self._error: Exception | None = None

    def push(self, items: list[Any]) -> None:
        if items:
            self._items.extend(items)
            self.wake()

    def fail(self, error: Exception) -> None:
        self._error = error
        self.wake()

    async def next_batch(self) -> list[Any]:
        while not self._items and self._error is None:
            await self.wait()
        if self._error is not None:
            raise self._error
        items, self._items = self._items, []
        return items

    @property
    def overflowing(self) -> bool:
        return len(self._items) > MAILBOX_LIMIT

    def drop_pending(self) -> None:
        self._items = []


class UpdatesSubscriber(Subscriber):
    """threadUpdated: `position` is the last stamp handed over; `catch_up` asks for CATCH_UP rows."""

    __slots__ = ("category", "position", "catch_up", "delivered")

    def __init__(self, viewer_id: int, category: str | None, after_seq: int | None,
                 live_from: int | None = None) -> None:
        """`after_seq` (a client's cursor) catches up first; `live_from` (the club's stamp when the
        client subscribed) sends every later change live, even one committed before the hub admits it."""
        super().__init__(viewer_id)
        self.category = category
        self.position = after_seq if after_seq is not None else live_from
        self.catch_up = after_seq is not None
        self.delivered = self.position or 0


class MessagesSubscriber(Subscriber):
    """messageAdded of one thread: `position` is the last message seq handed over."""

    __slots__ = ("thread_id", "after", "position", "delivered")

    def __init__(self, viewer_id: int, thread_id: int, after: str | None) -> None:
        super().__init__(viewer_id)
        self.thread_id = thread_id
        self.after = after
        self.position = -1
        self.delivered = -1


class CountsSubscriber(Subscriber):
    __slots__ = ("last",)

    def __init__(self, viewer_id: int) -> None:
        super().__init__(viewer_id)
        self.last: UnreadCounts | None = None  # the counts last pushed (not the row: it holds its shaped event)
