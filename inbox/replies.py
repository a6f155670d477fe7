"""Members' replies: the one way an inbound message enters a member's thread (webhooks call it)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.changes import Publisher, publish_changes
from inbox.messages import post_message
from inbox.threads import get_or_create_thread, lock_thread, thread_change
from models import Member, Message
from models.engine import begin_write


async def record_member_reply(
    session: AsyncSession, club_id: int, member_id: int, *, channel: str, body: str, subject: str | None = None,
    provider_message_id: str | None = None, in_reply_to_id: int | None = None, accepts_sms: bool | None = None,
    bus: Publisher | None = None,
) -> Message | None:
    """Store a member's message in their thread (created when they have none), commit, then publish.

    The thread's unread, mute and archive rules apply through `post_message`. `accepts_sms` (an
    opt-out or opt-in keyword) changes the member's consent in the same transaction. A provider
    message id already stored (the unique index decides, even under concurrent retries) changes
    nothing and returns None.
    """
    try:
        await begin_write(session)
        thread, _ = await get_or_create_thread(session, club_id, "MEMBER", member_id)
        locked = await lock_thread(session, thread.id)
        assert locked is not None
        message = await post_message(
            session, locked, direction="INBOUND", channel=channel, body=body, subject=subject, member_id=member_id,
            provider_message_id=provider_message_id, in_reply_to_id=in_reply_to_id,
        )
        if accepts_sms is not None:
            await session.execute(update(Member).where(Member.id == member_id).values(accepts_sms=accepts_sms))
        await session.commit()
    except IntegrityError:
        await session.rollback()
        if provider_message_id is None or not await _stored(session, provider_message_id):
            raise
        return None
    except BaseException:
        await session.rollback()
        raise
    await publish_changes(bus, [thread_change(locked, "MESSAGE_ADDED", message=message)])
    return message


async def _stored(session: AsyncSession, provider_message_id: str) -> bool:
    found = await session.scalar(select(Message.id).where(Message.provider_message_id == provider_message_id))
    return found is not None
