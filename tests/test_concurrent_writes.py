"""Writes at once (docs/architecture.md, Durability): every send lands with its own sequence number in
its thread, and the club's change stamps commit in order without gaps, so a reader of the change log
never sees a stamp before the ones below it. On both databases; PostgreSQL runs the writers truly at
once, and there a stamp taken but not committed is shown to hold up the next writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.changes import club_change_seq, record_change
from inbox.viewer_state import lock_thread
from inbox.vocabulary import UpdateReason
from models import Message, Thread, ThreadChange
from models.engine import begin_write, club_session
from tests.databases import server_url
from tests.factories import ClubFixture
from tests.inbox_client import StaffClient


async def logged(sessions: async_sessionmaker[AsyncSession], club: ClubFixture, after: int) -> list[int]:
    """The club's change stamps after `after` that a reader sees now, in order."""
    async with sessions() as session:
        return list((await session.scalars(select(ThreadChange.seq).where(
            ThreadChange.club_id == club.club_id, ThreadChange.seq > after).order_by(ThreadChange.seq))).all())


@asynccontextmanager
async def watching(sessions: async_sessionmaker[AsyncSession], club: ClubFixture,
                   after: int) -> AsyncIterator[list[list[int]]]:
    """Read the club's change log over and over while the block runs: every read it made."""
    reads: list[list[int]] = []
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            reads.append(await logged(sessions, club, after))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    try:
        yield reads
    finally:
        done.set()
        await watcher


async def thread_pk(sessions: async_sessionmaker[AsyncSession], club: ClubFixture, member: str) -> int:
    async with sessions() as session:
        found = await session.scalar(select(Thread.id).where(Thread.member_id == club.member_ids[member]))
    assert found is not None
    return found


async def stamp(sessions: async_sessionmaker[AsyncSession], club: ClubFixture) -> int:
    async with club_session(sessions, club.club_id) as session:
        return await club_change_seq(session, club.club_id)


async def test_sends_and_actions_at_once_all_land_with_distinct_seqs_and_stamps_in_order(
    lea: StaffClient, tom: StaffClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    club = lea.club
    thread = (await lea.start("Member", "m1"))["id"]
    other = (await lea.start("Member", "m2"))["id"]
    before = await stamp(sessions, club)
    writes: list[Any] = [
        *(who.send(thread, f"{who.staff} {n}") for n in range(6) for who in (lea, tom)),
        *(lea.send(other, f"other {n}") for n in range(4)),
        tom.action("setThreadFavorite", thread, True), lea.action("setThreadMuted", other, True),
    ]
    async with watching(sessions, club, before) as reads:
        results = await asyncio.gather(*writes)
    assert all(result["userErrors"] == [] for result in results)

    async with sessions() as session:
        seqs = (await session.scalars(select(Message.seq).where(
            Message.thread_id == await thread_pk(sessions, club, "m1")).order_by(Message.seq))).all()
    assert list(seqs) == list(range(1, 13)), "every send to the thread landed, each with its own seq"
    final = await logged(sessions, club, before)
    assert final == list(range(before + 1, before + len(writes) + 1)), "one stamp per write, none skipped"
    assert await stamp(sessions, club) == before + len(writes)
    assert len(reads) > 1 and all(read == final[:len(read)] for read in reads), \
        "a reader only ever sees the stamps up to one, never one before those below it"


@pytest.mark.skipif(server_url() is None, reason="writers run truly at once in the PostgreSQL pass")
@pytest.mark.parametrize("outcome", ["commit", "rollback"])
async def test_a_stamp_not_yet_committed_holds_up_the_next_writer_of_the_club(
    lea: StaffClient, sessions: async_sessionmaker[AsyncSession], outcome: str
) -> None:
    """A writer of another thread takes the club's next stamp and has not committed: a send waits for
    it, then takes the stamp after it (or the same one, had it rolled back). Never one past a hole."""
    club = lea.club
    thread = (await lea.start("Member", "m1"))["id"]
    await lea.start("Member", "m2")
    other = await thread_pk(sessions, club, "m2")
    before = await stamp(sessions, club)
    async with club_session(sessions, club.club_id) as held:
        await begin_write(held)
        locked = await lock_thread(held, other, club.staff_ids["s2"])
        assert locked is not None
        change = await record_change(held, locked.thread, UpdateReason.FAVORITE_CHANGED,
                                     staff_id=club.staff_ids["s2"])
        assert change.change_seq == before + 1
        send = asyncio.create_task(lea.send(thread, "after the held stamp"))
        await waiting_on_a_lock(sessions)
        assert not send.done() and await logged(sessions, club, before) == []
        await (held.commit() if outcome == "commit" else held.rollback())
    assert (await send)["userErrors"] == []
    expected = [before + 1, before + 2] if outcome == "commit" else [before + 1]
    assert await logged(sessions, club, before) == expected
    async with sessions() as session:
        reasons = (await session.scalars(select(ThreadChange.reason).where(
            ThreadChange.club_id == club.club_id, ThreadChange.seq > before).order_by(ThreadChange.seq))).all()
    assert reasons[-1] == UpdateReason.MESSAGE_ADDED


async def waiting_on_a_lock(sessions: async_sessionmaker[AsyncSession], timeout: float = 10.0) -> None:
    """Until a backend of this database waits on a lock (the send, on the held stamp)."""
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND wait_event_type = 'Lock'")
    async with asyncio.timeout(timeout):
        while True:
            async with sessions() as session:
                if await session.scalar(waiting):
                    return
            await asyncio.sleep(0.01)
