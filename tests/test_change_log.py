"""The change log behind threadUpdated: pruned after a while, without losing what a resume catches up."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.changes import club_change_seq, prune_change_log
from inbox.importer import import_document
from inbox.threads import decode_updates_cursor, threads_changed_since
from models import ThreadChange
from models.base import utcnow
from models.engine import club_session
from tests.factories import ClubFixture
from tests.inbox_client import StaffClient


async def logged(sessions: async_sessionmaker[AsyncSession], club: ClubFixture) -> int:
    async with sessions() as session:
        return int(await session.scalar(
            select(func.count(ThreadChange.id)).where(ThreadChange.club_id == club.club_id)) or 0)


async def test_old_change_log_rows_are_pruned_and_a_resume_still_catches_up(
    http: httpx.AsyncClient, club: ClubFixture, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lea = StaffClient(http, club, sessions)
    thread = await lea.start("Member", "m1")
    await lea.reply("m1", "hello")
    await lea.action("setThreadFavorite", thread["id"], True)
    assert await logged(sessions, club) == 3  # CREATED, MESSAGE_ADDED, FAVORITE_CHANGED
    async with sessions() as session:
        await session.execute(update(ThreadChange).where(ThreadChange.club_id == club.club_id)
                              .values(created_at=utcnow() - timedelta(days=8)))
        await session.commit()
    await lea.reply("m1", "recent")
    assert await prune_change_log(sessions) >= 3
    assert await logged(sessions, club) == 1, "the recent change stays"
    async with club_session(sessions, club.club_id) as session:
        changed = await threads_changed_since(session, club.staff_ids["s1"], 0)
    assert [(view.thread.id, view.is_favorite, view.unread_count) for view, _ in changed] == [
        (changed[0][0].thread.id, True, 2)]


async def test_a_club_whose_log_was_pruned_empty_still_stamps_after_its_last_stamp(
    lea: StaffClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    thread = await lea.start("Member", "m1")
    await lea.send(thread["id"], "before the pruning")
    async with club_session(sessions, lea.club.club_id) as session:
        before = await club_change_seq(session, lea.club.club_id)
        await session.execute(update(ThreadChange).values(created_at=utcnow() - timedelta(days=8)))
        await session.commit()
    await prune_change_log(sessions)
    assert await logged(sessions, lea.club) == 0
    async with club_session(sessions, lea.club.club_id) as session:
        assert await club_change_seq(session, lea.club.club_id) == before
    await lea.action("setThreadFavorite", thread["id"], True)
    async with club_session(sessions, lea.club.club_id) as session:
        assert (await session.scalars(select(ThreadChange.seq))).all() == [before + 1]


async def test_an_import_stamps_the_threads_it_creates_or_extends_so_a_resume_catches_up(
    http: httpx.AsyncClient, club: ClubFixture, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lea = StaffClient(http, club, sessions)
    before = (await lea.threads())["updatesCursor"]
    document = dict(club.document)
    document["threads"] = [{"target": {"member": "m2"}, "messages": [
        {"id": "h1", "direction": "INBOUND", "channel": "EMAIL", "body": "From the old system",
         "createdAt": "2026-10-01T10:00:00+00:00"}]}]
    await import_document(sessions, document)
    async with club_session(sessions, club.club_id) as session:
        changed = await threads_changed_since(session, club.staff_ids["s1"],
                                              decode_updates_cursor(club.staff_ids["s1"], before))
        reasons = (await session.scalars(select(ThreadChange.reason).where(
            ThreadChange.thread_id == changed[0][0].thread.id))).all()
    assert [view.thread.member_id for view, _ in changed] == [club.member_ids["m2"]]
    assert reasons == ["CREATED"]
    await import_document(sessions, document)  # re-import: nothing changes, nothing is stamped
    assert await logged(sessions, club) == 1
