"""The delivery dispatcher: sends QUEUED deliveries, at most once each, with retries when that is safe.

A delivery goes through three committed steps:

1. **claimed** with a batch (`claimed_by`, `claimed_until`): no other dispatcher takes it (PostgreSQL
   `FOR UPDATE SKIP LOCKED`; SQLite serialises writers);
2. **started** just before the provider is called: `sending_at` set, the attempt counted, the lease
   renewed, only if the claim is still ours;
3. **recorded**: SENT, FAILED, or QUEUED again for a retry after a backoff.

While a dispatcher works on a batch it renews the lease of its claims (a heartbeat every third of
the lease), so the lease can be short: a dead dispatcher's claims expire within a minute by default.
A dispatcher that dies between 1 and 2 sent nothing: when its lease expires the rows are claimed
again. One that dies between 2 and 3 may or may not have handed the message over: when the lease
expires the row becomes FAILED with `INTERRUPTED`, never sent again, so no member gets a message
twice (a later delivery report from the provider may still say DELIVERED).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.database import OutageLog, is_outage
from inbox.members import member_full_name
from inbox.sending import member_delivery
from inbox.settings import Settings
from inbox.transports import Outgoing, SendFailure, Transport, reply_address, transports_from_settings
from models import Club, Delivery, Member, Message, Staff
from models.base import utcnow
from models.engine import begin_write

log = logging.getLogger("inbox.dispatcher")

INTERRUPTED = "interrupted while sending: not retried, so it is never sent twice"
MAX_BACKOFF = 3600.0
MAX_REASON = 500  # the column's length: a provider's long message is cut, never a failed write
STOP_GRACE = 10.0
# Which statuses a provider's delivery report may move a delivery from: never back from DELIVERED.
REPORTABLE = {"DELIVERED": ("SENT", "FAILED", "QUEUED"), "FAILED": ("SENT", "QUEUED")}


@dataclass(frozen=True)
class DispatchOptions:
    concurrency: int = 10
    batch_size: int = 100
    max_attempts: int = 5
    backoff: float = 30.0
    lease: float = 60.0
    poll_interval: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> DispatchOptions:
        return cls(concurrency=settings.dispatch_concurrency, batch_size=settings.dispatch_batch_size,
                   max_attempts=settings.dispatch_max_attempts, backoff=settings.dispatch_backoff,
                   lease=settings.dispatch_lease, poll_interval=settings.dispatch_poll_interval)

    def retry_delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.backoff * 2 ** (attempts - 1), MAX_BACKOFF))


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    outgoing: Outgoing


def _due(now: datetime) -> ColumnElement[bool]:
    """QUEUED, its time come, and no live claim on it."""
    return and_(
        Delivery.status == "QUEUED",
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
    )


def _claim_fields_cleared() -> dict[str, Any]:
    return {"sending_at": None, "claimed_by": None, "claimed_until": None}


class Dispatcher:
    """One dispatcher of this process; several may run against one database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], transports: Mapping[str, Transport],
                 options: DispatchOptions | None = None) -> None:
        self.sessions = sessions
        self.transports = transports
        self.options = options or DispatchOptions()
        self.id = uuid.uuid4().hex
        self.stopping = asyncio.Event()
        self.on_change: Callable[[int], None] | None = None  # a message whose deliveries changed status

    # --- running ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Until `stop()`: a batch at a time, polling when idle; a database outage is waited out."""
        delay = self.options.poll_interval
        outage = OutageLog(log, "dispatcher")
        while not self.stopping.is_set():
            try:
                handled = await self.run_once()
                delay = self.options.poll_interval
                outage.recovered()
            except Exception as exc:
                if is_outage(exc):
                    outage.failed(exc)
                else:
                    log.exception("dispatcher %s: a batch failed; trying again in %.1f s", self.id, delay)
                handled, delay = 0, min(delay * 2, 30.0)
            if not handled:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)

    async def drain(self) -> int:
        """Send everything due now (retries due now included); returns how many deliveries were handled."""
        total = 0
        while handled := await self.run_once():
            total += handled
        return total

    def stop(self) -> None:
        """Start no new send; the sends in flight finish."""
        self.stopping.set()

    async def aclose(self) -> None:
        for transport in self.transports.values():
            await transport.aclose()

    async def run_once(self) -> int:
        """Claim one batch and send it with bounded concurrency; returns the number of rows claimed."""
        batch, count = await self._claim()
        if not batch:
            return count
        semaphore = asyncio.Semaphore(self.options.concurrency)

        async def one(item: Claimed) -> None:
            async with semaphore:
                await self._deliver(item)

        heartbeat = asyncio.create_task(self._heartbeat(), name=f"inbox-dispatcher-heartbeat-{self.id[:8]}")
        try:
            results = await asyncio.gather(*(one(item) for item in batch), return_exceptions=True)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await self._release_unstarted()
        for result in results:
            if isinstance(result, BaseException):
                log.error("dispatcher %s: a delivery step failed", self.id, exc_info=result)
        return count

    # --- the three steps --------------------------------------------------------------------------

    async def _claim(self) -> tuple[list[Claimed], int]:
        """The batch to send, and how many rows were claimed (those skipped for consent included)."""
        now = utcnow()
        async with self.sessions() as session:
            # A read first: an idle poll takes no write lock.
            if await session.scalar(select(Delivery.id).where(_due(now)).limit(1)) is None:
                return [], 0
            await session.rollback()
            await begin_write(session)
            await session.execute(
                update(Delivery)
                .where(_due(now), Delivery.sending_at.isnot(None))
                .values(status="FAILED", reason=INTERRUPTED, next_attempt_at=None, updated_at=now,
                        **_claim_fields_cleared())
            )
            claimable = and_(_due(now), Delivery.sending_at.is_(None))
            ids = list((await session.scalars(
                select(Delivery.id).where(claimable)
                .order_by(Delivery.next_attempt_at, Delivery.id).limit(self.options.batch_size)
                .with_for_update(skip_locked=True)
            )).all())
            if not ids:
                await session.commit()
                return [], 0
            lease = now + timedelta(seconds=self.options.lease)
            await session.execute(
                update(Delivery).where(Delivery.id.in_(ids), claimable).values(claimed_by=self.id, claimed_until=lease)
            )
            batch, skipped = await _load(session, ids)
            changed = set()
            for delivery_id, reason in skipped:
                changed.add((await session.execute(
                    update(Delivery).where(Delivery.id == delivery_id)
                    .values(status="SKIPPED", reason=reason, next_attempt_at=None, updated_at=now,
                            **_claim_fields_cleared())
                    .returning(Delivery.message_id)
                )).scalar_one())
            await session.commit()
        self._changed(changed)
        return batch, len(ids)

    async def _deliver(self, claimed: Claimed) -> None:
        if self.stopping.is_set():
            return
        attempts = await self._start(claimed.delivery_id)
        if attempts is None:
            return  # the claim was lost (it expired and another dispatcher took the row)
        transport = self.transports[claimed.outgoing.channel]
        try:
            provider_message_id = await transport.send(claimed.outgoing)
        except SendFailure as failure:
            await self._record_failure(claimed.delivery_id, attempts, failure)
        except Exception as exc:  # a bug past the point of sending: the outcome is unknown
            log.exception("dispatcher %s: delivery %s", self.id, claimed.delivery_id)
            await self._record_failure(claimed.delivery_id, attempts,
                                       SendFailure(f"unexpected error while sending: {exc!r}", retry=False))
        else:
            await self._record(claimed.delivery_id, status="SENT", provider_message_id=provider_message_id,
                               reason=None, next_attempt_at=None)

    async def _start(self, delivery_id: int) -> int | None:
        now = utcnow()
        async with self.sessions() as session:
            await begin_write(session)
            attempts = await session.scalar(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.claimed_by == self.id, Delivery.status == "QUEUED",
                       Delivery.sending_at.is_(None))
                .values(sending_at=now, attempts=Delivery.attempts + 1,
                        claimed_until=now + timedelta(seconds=self.options.lease))
                .returning(Delivery.attempts)
            )
            await session.commit()
        return attempts

    async def _record_failure(self, delivery_id: int, attempts: int, failure: SendFailure) -> None:
        if failure.retry and attempts < self.options.max_attempts:
            log.warning("delivery %s: attempt %d failed, retrying: %s", delivery_id, attempts, failure.reason)
            await self._record(delivery_id, status="QUEUED", reason=None,
                               next_attempt_at=utcnow() + self.options.retry_delay(attempts))
        else:
            log.warning("delivery %s failed after %d attempt(s): %s", delivery_id, attempts, failure.reason)
            await self._record(delivery_id, status="FAILED", reason=failure.reason[:MAX_REASON], next_attempt_at=None)

    async def _record(self, delivery_id: int, **values: Any) -> None:
        """The attempt's outcome, unless a delivery report already settled the row (it then keeps it)."""
        async with self.sessions() as session:
            await begin_write(session)
            message_ids = (await session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.claimed_by == self.id, Delivery.status == "QUEUED")
                .values(updated_at=utcnow(), **_claim_fields_cleared(), **values)
                .returning(Delivery.message_id)
            )).scalars().all()
            await session.commit()
        if values.get("status") != "QUEUED":
            self._changed(message_ids)

    def _changed(self, message_ids: Iterable[int]) -> None:
        if self.on_change is not None:
            for message_id in message_ids:
                self.on_change(message_id)

    async def _heartbeat(self) -> None:
        """Renew the lease of this dispatcher's unfinished claims every third of the lease, until cancelled."""
        while True:
            await asyncio.sleep(self.options.lease / 3)
            try:
                await self._renew()
            except Exception:  # a database hiccup: the next beat tries again, well within the lease
                log.warning("dispatcher %s: renewing claims failed", self.id, exc_info=True)

    async def _renew(self) -> None:
        async with self.sessions() as session:
            await begin_write(session)
            await session.execute(
                update(Delivery)
                .where(Delivery.claimed_by == self.id, Delivery.status == "QUEUED")
                .values(claimed_until=utcnow() + timedelta(seconds=self.options.lease))
            )
            await session.commit()

    async def _release_unstarted(self) -> None:
        """Rows of the batch never started (stopping) go back to the queue at once."""
        async with self.sessions() as session:
            await begin_write(session)
            await session.execute(
                update(Delivery)
                .where(Delivery.claimed_by == self.id, Delivery.status == "QUEUED", Delivery.sending_at.is_(None))
                .values(claimed_by=None, claimed_until=None)
            )
            await session.commit()


async def _load(session: AsyncSession, ids: Sequence[int]) -> tuple[list[Claimed], list[tuple[int, str]]]:
    """The claimed rows as transports need them, and those whose member no longer consents (with why)."""
    rows = await session.execute(
        select(Delivery.id, Delivery.token, Delivery.channel, Delivery.address, Message.subject, Message.body,
               Club.name, Club.inbound_email, Club.sms_number, Staff.email.label("staff_email"),
               Member.id.label("member_id"), Member.first_name, Member.last_name, Member.email, Member.phone,
               Member.accepts_email, Member.accepts_sms)
        .join(Message, Message.id == Delivery.message_id)
        .join(Club, Club.id == Delivery.club_id)
        .join(Member, Member.id == Delivery.member_id)
        .outerjoin(Staff, Staff.id == Message.staff_id)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.id)
    )
    batch: list[Claimed] = []
    skipped: list[tuple[int, str]] = []
    for row in rows:
        consent = member_delivery(_Contact(row.member_id, row.email, row.phone, row.accepts_email, row.accepts_sms),
                                  row.channel)
        if consent.skip_reason:  # opted out (e.g. STOP) or lost the address since the send was queued
            skipped.append((row.id, consent.skip_reason))
            continue
        reply_to = reply_address(row.inbound_email, row.token) if row.inbound_email else row.staff_email
        batch.append(Claimed(row.id, Outgoing(
            token=row.token, channel=row.channel, to=row.address,
            to_name=member_full_name(row.first_name, row.last_name), club_name=row.name, body=row.body,
            subject=row.subject, reply_to=reply_to, from_number=row.sms_number,
        )))
    return batch, skipped


@dataclass(frozen=True)
class _Contact:
    id: int
    email: str | None
    phone: str | None
    accepts_email: bool
    accepts_sms: bool


async def report_delivery(
    sessions: async_sessionmaker[AsyncSession], *, token: str | None, provider_message_id: str | None,
    status: str, reason: str | None, on_change: Callable[[int], None] | None = None,
) -> bool:
    """A provider's delivery report: DELIVERED or FAILED, found by delivery token or provider id.

    Never moves a delivery back from DELIVERED, nor touches one still queued and not being sent. A
    report on a row being sent (or interrupted) settles it: the dispatcher then leaves it as reported.
    """
    found = [condition for condition in (
        Delivery.token == token if token else None,
        Delivery.provider_message_id == provider_message_id if provider_message_id else None,
    ) if condition is not None]
    if not found:
        return False
    now = utcnow()
    async with sessions() as session:
        await begin_write(session)
        message_ids = (await session.execute(
            update(Delivery)
            .where(or_(*found), Delivery.status.in_(REPORTABLE[status]),
                   or_(Delivery.status != "QUEUED", Delivery.sending_at.isnot(None)))
            .values(status=status, reason=reason[:MAX_REASON] if reason else None, next_attempt_at=None, updated_at=now,
                    provider_message_id=func.coalesce(Delivery.provider_message_id, provider_message_id),
                    **_claim_fields_cleared())
            .returning(Delivery.message_id)
        )).scalars().all()
        await session.commit()
    if on_change is not None:
        for message_id in message_ids:
            on_change(message_id)
    return bool(message_ids)


def dispatcher_from_settings(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Dispatcher:
    return Dispatcher(sessions, transports_from_settings(settings), DispatchOptions.from_settings(settings))


async def stop_dispatcher(dispatcher: Dispatcher, task: asyncio.Task[None], grace: float = STOP_GRACE) -> None:
    """Stop taking work, let the sends in flight finish for up to `grace` seconds, then cancel."""
    dispatcher.stop()
    try:
        await asyncio.wait_for(task, grace)
    except TimeoutError:
        log.warning("dispatcher %s: sends still in flight after %.0f s were cancelled", dispatcher.id, grace)
    finally:
        await dispatcher.aclose()
