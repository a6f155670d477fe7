"""One hub per process and club: each bus event is received once and what changed is read once for
every live subscriber of the club in this process.

A round of the hub reads, in one session, the change-log entries after its subscribers' positions,
every subscribed viewer's view of the threads concerned (one statement), the new messages of watched
threads and the unread counts of the viewers concerned, then hands each subscriber its share; the
rows that several subscribers receive are the same objects, and so are the dataloaders their
selections resolve through (one load per kind and round, whatever the number of subscribers).

An idle subscriber costs no task, timer or query: one safety check per club and process (jittered)
covers pub/sub's at-most-once delivery, and a database error is retried by the hub (its positions
only move once a round succeeded) instead of ending subscriptions.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter, defaultdict
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, replace
from typing import Any
from weakref import WeakKeyDictionary

from inbox.changes import club_change_seq
from inbox.live_reads import messages_after, threads_by_id, threads_with_new_messages
from inbox.messages import cursor_seq
from inbox.threads import (
    ThreadView,
    change_log_for_viewers,
    encode_updates_cursor,
    load_thread_views_for_viewers,
    threads_changed_since,
    unread_counts_for_viewers,
)
from models import Club, Message
from models.engine import club_session
from resolvers.context import Context
from resolvers.loaders import Loaders
from subscriptions.bus import OVERFLOW, RESET, THREAD_EVENT, BusEvent, club_channel
from subscriptions.mailboxes import (
    CountsRow,
    CountsSubscriber,
    MessageRow,
    MessagesSubscriber,
    NotFound,
    Subscriber,
    ThreadUpdateRow,
    UpdatesSubscriber,
)

log = logging.getLogger("inbox.subscriptions")

BATCH = 500  # rows read per kind and round; a full batch starts another round at once
RETRY_START, RETRY_MAX = 0.1, 2.0
SHARED_LOADERS = ("members", "smartlists", "sessions", "staff", "messages", "delivery_summaries",
                  "booking_counts", "smartlist_counts")  # viewer-independent: one per round for every subscriber


@dataclass
class _Wanted:
    """What the next round must read (restored when a round fails)."""

    changes: bool = False
    reset: bool = False
    safety: bool = False
    viewers: set[int] | None = None  # whose unread counts may have changed (None: everyone's)
    threads: set[int] | None = None  # threads that may have new messages (None: every watched one)

    def merge(self, other: _Wanted) -> None:
        self.changes |= other.changes
        self.reset |= other.reset
        self.safety |= other.safety
        self.viewers = None if self.viewers is None or other.viewers is None else self.viewers | other.viewers
        self.threads = None if self.threads is None or other.threads is None else self.threads | other.threads

    @property
    def anything(self) -> bool:
        return self.changes or self.reset or self.safety or bool(self.viewers) or bool(self.threads)


def _nothing() -> _Wanted:
    return _Wanted(viewers=set(), threads=set())


class ClubHub:
    def __init__(self, ctx: Context, club: Club, safety_check: float, on_empty: Any) -> None:
        principal = replace(ctx.require_principal(), staff_id=None)
        self.services = ctx.services
        self.club_id = club.id
        self.context = Context(services=ctx.services, principal=principal, _club=club)
        self.safety_check = safety_check
        self._on_empty = on_empty
        self.updates: set[UpdatesSubscriber] = set()
        self.messages: dict[int, set[MessagesSubscriber]] = defaultdict(set)
        self.counts: set[CountsSubscriber] = set()
        self._viewers: Counter[int] = Counter()
        self.stamp: int | None = None  # a change stamp of the club, never ahead of what is committed
        self._joining: list[Subscriber] = []
        self._wanted = _nothing()
        self._wake = asyncio.Event()
        self._listening = asyncio.Event()
        self._tasks = [asyncio.create_task(self._listen(), name=f"inbox-hub-listen-{club.id}"),
                       asyncio.create_task(self._run(), name=f"inbox-hub-{club.id}")]

    # --- subscribers come and go ------------------------------------------------------------------

    def join(self, subscriber: Subscriber) -> None:
        self._joining.append(subscriber)
        self._viewers[subscriber.viewer_id] += 1
        self._wake.set()

    def leave(self, subscriber: Subscriber) -> None:
        subscriber.active = False
        if subscriber in self._joining:
            self._joining.remove(subscriber)
        self.updates.discard(subscriber)
        self.counts.discard(subscriber)
        if isinstance(subscriber, MessagesSubscriber):
            watchers = self.messages.get(subscriber.thread_id)
            if watchers is not None:
                watchers.discard(subscriber)
                if not watchers:
                    del self.messages[subscriber.thread_id]
        self._viewers[subscriber.viewer_id] -= 1
        if self._viewers[subscriber.viewer_id] <= 0:
            del self._viewers[subscriber.viewer_id]
        if not self._viewers:
            self.close()

    def close(self) -> None:
        self._on_empty(self)
        for task in self._tasks:
            task.cancel()

    # --- the bus ----------------------------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            try:
                async with self.services.bus.subscribe(club_channel(self.club_id)) as events:
                    self._listening.set()
                    async for event in events:
                        self._note(event)
            except asyncio.CancelledError:
                raise
            except Exception:  # the listener must not die: what it missed, a reset catches up
                log.exception("club %s: reading the bus failed", self.club_id)
                self._note(BusEvent(kind=RESET))
                await asyncio.sleep(RETRY_MAX)

    def _note(self, event: BusEvent) -> None:
        kind = event.get("kind")
        if kind in (RESET, OVERFLOW):
            self._wanted.merge(_Wanted(changes=True, reset=True, viewers=None, threads=None))
        elif kind == THREAD_EVENT:
            self._saw_stamp(event.get("change_seq"))
            staff_id = event.get("staff_id")
            if staff_id is not None and staff_id not in self._viewers:
                return  # another staff user's own state: nobody here sees it
            thread_id = event.get("thread_id")
            has_message = event.get("message_seq") is not None and thread_id in self.messages
            self._wanted.merge(_Wanted(changes=True, viewers=None if staff_id is None else {staff_id},
                                       threads={thread_id} if has_message and thread_id is not None else set()))
        else:
            return
        self._wake.set()

    def _saw_stamp(self, stamp: Any) -> None:
        """Stamps come from committed changes (events, reads): the highest one seen stays a safe start
        for a new subscriber (a change whose event is still on its way is sent to it, none is missed)."""
        if isinstance(stamp, int) and self.stamp is not None:
            self.stamp = max(self.stamp, stamp)

    # --- rounds -----------------------------------------------------------------------------------

    async def _run(self) -> None:
        await self._listening.wait()
        delay = RETRY_START
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.safety_check * random.uniform(0.8, 1.2))
            except TimeoutError:
                self._wanted.merge(_Wanted(changes=True, safety=True, viewers=None, threads=None))
            self._wake.clear()
            joining, self._joining = self._joining, []
            wanted, self._wanted = self._wanted, _nothing()
            try:
                await self._round(joining, wanted)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # e.g. the pool is busy or the database restarts: try again soon
                log.warning("club %s: live update round failed, retrying in %.1fs: %r", self.club_id, delay, exc)
                self._joining[:0] = [s for s in joining if s.active]
                self._wanted.merge(wanted)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                self._wake.set()
            else:
                delay = RETRY_START

    async def _round(self, joining: list[Subscriber], wanted: _Wanted) -> None:
        joining = [s for s in joining if s.active]
        if joining:
            await self._admit(joining)
        if wanted.reset:
            for subscriber in self.updates:
                subscriber.catch_up = True
        catching_up = [s for s in self.updates if s.catch_up]
        if not (wanted.anything or catching_up):
            return
        loaders = Loaders(self.context)
        async with club_session(self.services.read_sessions, self.club_id) as session:
            caught_up = await self._read_catch_ups(session, catching_up)
            live = [s for s in self.updates if not s.catch_up]
            entries = await self._read_changes(session, live) if wanted.changes and live else []
            messages = await self._read_messages(session, wanted.threads)
            views = await load_thread_views_for_viewers(
                session,
                {s.viewer_id for s in live} | {s.viewer_id for t in messages for s in self.messages.get(t, ())},
                {change.thread_id for change, _ in entries} | set(messages))
            counts_for = [s for s in self.counts if wanted.viewers is None or s.viewer_id in wanted.viewers]
            counts = await unread_counts_for_viewers(session, {s.viewer_id for s in counts_for})
        await self._prewarm(loaders, entries, messages, views, caught_up)
        more = self._deliver_catch_ups(caught_up, loaders)
        if self._deliver_changes(live, entries, views, loaders):
            self._wanted.merge(_Wanted(changes=True, viewers=set(), threads=set()))
            more = True
        more |= self._deliver_messages(messages, views, loaders)
        rows: dict[int, CountsRow] = {}  # one per viewer: its subscribers share the shaped event
        for counted in counts_for:
            now = counts.get(counted.viewer_id)
            if now is not None and (now != counted.last or wanted.reset):
                counted.last = now
                counted.drop_pending()
                counted.push([rows.setdefault(counted.viewer_id, CountsRow(now))])
        if more:
            self._wake.set()

    async def _admit(self, joining: list[Subscriber]) -> None:
        """Positions of new subscribers (read once for all who join together), then they are live."""
        async with club_session(self.services.read_sessions, self.club_id) as session:
            change_seq = 0
            if any(isinstance(s, UpdatesSubscriber) and s.position is None for s in joining):
                change_seq = await club_change_seq(session, self.club_id)
            threads = await threads_by_id(session, {s.thread_id for s in joining if isinstance(s, MessagesSubscriber)})
            viewers = {s.viewer_id for s in joining if isinstance(s, CountsSubscriber)}
            counts = await unread_counts_for_viewers(session, viewers)
        rows = {viewer: CountsRow(now) for viewer, now in counts.items()}
        if self.stamp is None:
            self.stamp = min((s.position or 0 for s in joining if isinstance(s, UpdatesSubscriber)
                              and not s.catch_up), default=None)
        for subscriber in joining:
            if not subscriber.active:  # left while its position was read
                continue
            if isinstance(subscriber, UpdatesSubscriber):
                if subscriber.position is None:
                    subscriber.position = subscriber.delivered = change_seq
                elif not subscriber.catch_up:  # what changed since it subscribed goes out live now
                    self._wanted.merge(_Wanted(changes=True, viewers=set(), threads=set()))
                    self._wake.set()
                self.updates.add(subscriber)
            elif isinstance(subscriber, MessagesSubscriber):
                thread = threads.get(subscriber.thread_id)
                if thread is None:
                    subscriber.fail(NotFound("No such thread"))
                    continue
                try:
                    after = cursor_seq(thread.id, subscriber.after) if subscriber.after is not None else None
                except Exception as exc:
                    subscriber.fail(exc)
                    continue
                subscriber.position = subscriber.delivered = thread.last_seq if after is None else after
                self.messages[thread.id].add(subscriber)
                if after is not None and after < thread.last_seq:
                    self._wanted.merge(_Wanted(threads={thread.id}, viewers=set()))
                    self._wake.set()
            elif isinstance(subscriber, CountsSubscriber):
                subscriber.last = rows[subscriber.viewer_id].counts
                subscriber.push([rows[subscriber.viewer_id]])
                self.counts.add(subscriber)

    async def _read_catch_ups(self, session: Any, subscribers: list[UpdatesSubscriber]
                              ) -> dict[tuple[int, str | None, int], list[tuple[ThreadView, int]]]:
        """One CATCH_UP per changed thread; subscribers of the same viewer, category and position share it."""
        found: dict[tuple[int, str | None, int], list[tuple[ThreadView, int]]] = {}
        for key in {(s.viewer_id, s.category, s.position or 0) for s in subscribers}:
            found[key] = await threads_changed_since(session, key[0], key[2], key[1], BATCH)
        return found

    async def _read_changes(self, session: Any, live: list[UpdatesSubscriber]) -> list[tuple[Any, str]]:
        after = min(s.position or 0 for s in live)
        return await change_log_for_viewers(session, {s.viewer_id for s in live}, after, BATCH)

    async def _read_messages(self, session: Any, wanted: set[int] | None) -> dict[int, list[Message]]:
        """New messages of the watched threads that may have some (all of them after a reset or a
        safety check: first their last seq, in one statement)."""
        watched = self.messages.keys() if wanted is None else wanted & self.messages.keys()
        positions = {thread_id: min(s.position for s in self.messages[thread_id]) for thread_id in watched}
        if wanted is None:
            positions = {t: positions[t] for t in await threads_with_new_messages(session, positions)}
        return await messages_after(session, positions, BATCH)

    async def _prewarm(self, loaders: Loaders, entries: list[tuple[Any, str]], messages: dict[int, list[Message]],
                       views: dict[tuple[int, int], ThreadView], caught_up: dict[Any, list[Any]]) -> None:
        """Load once what nearly every selection asks for (the message, the target, the last message):
        what the views brought along (their targets and last messages) is primed, so only the rest is read."""
        every_view = [*views.values(), *(view for rows in caught_up.values() for view, _ in rows)]
        loaders.prime([row for view in every_view for row in (view.target, view.last_message) if row is not None])
        for rows in messages.values():
            loaders.messages.prime_many({row.id: row for row in rows})
        threads = {view.thread.id: view.thread for view in every_view}
        message_ids = {change.message_id for change, _ in entries if change.message_id is not None}
        message_ids |= {thread.last_message_id for thread in threads.values() if thread.last_message_id is not None}
        targets: dict[str, set[int]] = defaultdict(set)
        for thread in threads.values():
            targets[thread.category].add(thread.target_id)
        loads: list[Awaitable[list[Any]]] = [loaders.messages.load_many(list(message_ids))] if message_ids else []
        for category, loader in (("MEMBER", loaders.members), ("SMARTLIST", loaders.smartlists),
                                 ("SESSION", loaders.sessions)):
            if targets.get(category):
                loads.append(loader.load_many(list(targets[category])))
        await asyncio.gather(*loads)

    def _deliver_catch_ups(self, caught_up: dict[tuple[int, str | None, int], list[tuple[ThreadView, int]]],
                           loaders: Loaders) -> bool:
        more = False
        for subscriber in [s for s in self.updates if s.catch_up]:
            key = (subscriber.viewer_id, subscriber.category, subscriber.position or 0)
            rows = caught_up.get(key)
            if rows is None:
                continue
            subscriber.push([ThreadUpdateRow(view, "CATCH_UP", seq, None, encode_updates_cursor(key[0], seq), loaders)
                             for view, seq in rows])
            if rows:
                subscriber.position = rows[-1][1]
            if len(rows) < BATCH:
                subscriber.catch_up = False
            else:
                more = True
        return more

    def _deliver_changes(self, live: list[UpdatesSubscriber], entries: list[tuple[Any, str]],
                         views: dict[tuple[int, int], ThreadView], loaders: Loaders) -> bool:
        if not entries:
            return False
        last_read = entries[-1][0].seq
        self._saw_stamp(last_read)
        shared: dict[tuple[int, int], ThreadUpdateRow | None] = {}
        for subscriber in live:
            viewer, rows = subscriber.viewer_id, []
            for change, category in entries:
                if change.seq <= (subscriber.position or 0) or change.staff_id not in (None, viewer):
                    continue
                if subscriber.category is not None and category != subscriber.category:
                    continue
                key = (viewer, change.seq)
                if key not in shared:
                    view = views.get((viewer, change.thread_id))
                    shared[key] = None if view is None else ThreadUpdateRow(
                        view, change.reason, change.seq, change.message_id,
                        encode_updates_cursor(viewer, change.seq), loaders)
                if (row := shared[key]) is not None:
                    rows.append(row)
            subscriber.position = max(subscriber.position or 0, last_read)
            subscriber.push(rows)
            if subscriber.overflowing:  # a client that does not read: resume from what it received
                subscriber.drop_pending()
                subscriber.position, subscriber.catch_up = subscriber.delivered, True
        return len(entries) >= BATCH

    def _deliver_messages(self, messages: dict[int, list[Message]], views: dict[tuple[int, int], ThreadView],
                          loaders: Loaders) -> bool:
        again: set[int] = set()
        for thread_id, rows in messages.items():
            if not rows:
                continue
            if len(rows) >= BATCH:
                again.add(thread_id)
            shared: dict[int, list[MessageRow]] = {}
            for subscriber in self.messages.get(thread_id, ()):
                if subscriber.viewer_id not in shared:
                    view = views.get((subscriber.viewer_id, thread_id))
                    shared[subscriber.viewer_id] = [MessageRow(row, view, loaders) for row in rows]
                subscriber.push([item for item in shared[subscriber.viewer_id]
                                 if item.message.seq > subscriber.position])
                subscriber.position = max(subscriber.position, rows[-1].seq)
                if subscriber.overflowing:  # a client that does not read: resume from what it received
                    subscriber.drop_pending()
                    subscriber.position = subscriber.delivered
                    again.add(thread_id)
        if again:
            self._wanted.merge(_Wanted(threads=again, viewers=set()))
        return bool(again)


def share_loaders(ctx: Context, loaders: Loaders, views: Iterable[ThreadView | None] = ()) -> None:
    """This subscriber's dataloaders for what it sends next: the round's shared ones for rows every
    viewer sees alike, its own (primed with its already loaded views) for per-viewer ones."""
    own = ctx.fresh_loaders()
    for name in SHARED_LOADERS:
        setattr(own, name, getattr(loaders, name))
    own.thread_views.prime_many({view.thread.id: view for view in views if view is not None})


_HUBS: WeakKeyDictionary[Any, dict[int, ClubHub]] = WeakKeyDictionary()


def known_stamp(ctx: Context) -> int | None:
    """A safe stamp to start a new live subscriber of the caller's club from, when this process's hub
    of the club has one (so that subscribing costs no query)."""
    hub = _HUBS.get(ctx.services.bus, {}).get(ctx.require_principal().club_id)
    return hub.stamp if hub is not None else None


def _forget(hub: ClubHub) -> None:
    hubs = _HUBS.get(hub.services.bus, {})
    if hubs.get(hub.club_id) is hub:
        del hubs[hub.club_id]


class Membership:
    """A subscriber registered with its club's hub in this process (started on first use) and counted
    as an open subscription, while the subscription lasts. A class rather than a generator-based context
    manager: an idle subscription holds it for its whole life (a generator's frame and wrapper, and the
    event loop's weak reference to an async generator, with the gauge's own: 1.2 KB per idle connection)."""

    __slots__ = ("ctx", "subscriber", "safety_check", "hub")

    def __init__(self, ctx: Context, subscriber: Subscriber, safety_check: float) -> None:
        self.ctx, self.subscriber, self.safety_check = ctx, subscriber, safety_check
        self.hub: ClubHub | None = None

    async def __aenter__(self) -> Subscriber:
        ctx = self.ctx
        club = await ctx.club()
        hubs = _HUBS.setdefault(ctx.services.bus, {})
        hub = hubs.get(club.id)
        if hub is None:
            hub = hubs[club.id] = ClubHub(ctx, club, self.safety_check, _forget)
        hub.join(self.subscriber)
        self.hub = hub
        if ctx.services.metrics is not None:
            ctx.services.metrics.open_subscriptions.inc()
        return self.subscriber

    async def __aexit__(self, *exc_info: object) -> None:
        if self.hub is not None:
            self.hub.leave(self.subscriber)
            if self.ctx.services.metrics is not None:
                self.ctx.services.metrics.open_subscriptions.dec()
