"""The change log behind threadUpdated: pruned after a while, without losing what a resume catches up."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.changes import prune_change_log
from inbox.threads import threads_changed_since
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
