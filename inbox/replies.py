"""Members' replies: the one way an inbound message enters a member's thread (webhooks call it)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from inbox.messages import post_message
from inbox.threads import get_or_create_thread, lock_thread
from models import Message
from models.engine import begin_write


async def record_member_reply(
    session: AsyncSession, club_id: int, member_id: int, *, channel: str, body: str, subject: str | None = None,
    provider_message_id: str | None = None, in_reply_to_id: int | None = None,
) -> Message:
    """Store a member's message in their thread (created when they have none) and commit.

    The thread's unread, mute and archive rules apply through `post_message`.
    """
    await begin_write(session)
    thread, _ = await get_or_create_thread(session, club_id, "MEMBER", member_id)
    locked = await lock_thread(session, thread.id)
    assert locked is not None
    message = await post_message(
        session, locked, direction="INBOUND", channel=channel, body=body, subject=subject, member_id=member_id,
        provider_message_id=provider_message_id, in_reply_to_id=in_reply_to_id,
    )
    await session.commit()
    return message
