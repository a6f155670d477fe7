"""Unread (read markers, mark as unread, counts) and the per-viewer actions of docs/rules.md."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import make_club
from tests.inbox_client import StaffClient


async def test_only_members_messages_count_as_unread(lea: StaffClient, tom: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    await tom.send(thread, "a colleague's message")
    await lea.send(thread, "my own message")
    assert (await lea.thread(thread))["unreadCount"] == 0
    await lea.reply("m1", "member")
    await lea.reply("m1", "member again")
    assert (await lea.thread(thread))["unreadCount"] == 2
    assert (await tom.thread(thread))["unreadCount"] == 2, "Tom never opened it since the replies"


async def test_sending_marks_the_thread_read_for_the_sender_only(lea: StaffClient, tom: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    await lea.reply("m1", "question")
    sent = await lea.send(thread, "answer")
    assert sent["thread"]["unreadCount"] == 0 and sent["unreadCounts"]["total"] == 0
    assert (await tom.thread(thread))["unreadCount"] == 1


async def test_reading_up_to_a_message_keeps_later_replies_unread(lea: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    await lea.reply("m1", "one")
    seen = (await lea.thread(thread))["latestCursor"]
    await lea.reply("m1", "two, arrived unseen")
    read = await lea.action("markThreadRead", thread, up_to=seen)
    assert read["thread"]["unreadCount"] == 1 and read["thread"]["readCursor"] == seen
    read = await lea.action("markThreadRead", thread)
    assert read["thread"]["unreadCount"] == 0 and read["thread"]["readCursor"] == read["thread"]["latestCursor"]


async def test_a_read_cursor_of_another_thread_is_an_invalid_input(lea: StaffClient) -> None:
    one = await lea.start("Member", "m1")
    two = await lea.start("Member", "m2")
    result = await lea.action("markThreadRead", one["id"], up_to=two["latestCursor"])
    assert result["userErrors"][0]["code"] == "INVALID_INPUT" and result["thread"] is None


async def test_mark_as_unread_gives_exactly_one_then_a_members_message_makes_two(lea: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    await lea.send(thread, "staff wrote last")
    result = await lea.action("markThreadUnread", thread)
    assert result["userErrors"] == [] and result["thread"]["unreadCount"] == 1
    assert result["unreadCounts"]["members"] == 1
    await lea.reply("m1", "member writes")
    assert (await lea.thread(thread))["unreadCount"] == 2
    read = await lea.action("markThreadRead", thread)
    assert read["thread"]["unreadCount"] == 0


async def test_mark_as_unread_is_refused_when_something_is_unread_or_already_marked(lea: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    await lea.reply("m1", "unread reply")
    refused = await lea.action("markThreadUnread", thread)
    assert refused["thread"] is None
    assert refused["userErrors"] == [{"code": "THREAD_HAS_UNREAD", "field": ["input", "threadId"],
                                      "message": "The thread already has unread messages"}]
    await lea.action("markThreadRead", thread)
    assert (await lea.action("markThreadUnread", thread))["userErrors"] == []
    again = await lea.action("markThreadUnread", thread)
    assert again["userErrors"][0]["code"] == "THREAD_HAS_UNREAD"


async def test_mark_as_unread_on_a_thread_without_messages_is_invalid_input(lea: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    result = await lea.action("markThreadUnread", thread)
    assert result["userErrors"][0]["code"] == "INVALID_INPUT"


async def test_unread_counts_count_threads_with_unread_neither_muted_nor_archived(lea: StaffClient) -> None:
    ids = {m: (await lea.start("Member", m))["id"] for m in ("m1", "m2", "m3", "m4")}
    for member in ids:
        await lea.reply(member, "hi")
    await lea.reply("m1", "twice in one thread counts once")
    smartlist = (await lea.start("Smartlist", "l1"))["id"]
    await lea.send(smartlist, "broadcast")
    await lea.action("markThreadUnread", smartlist)
    await lea.action("setThreadMuted", ids["m3"], True)
    await lea.action("setThreadArchived", ids["m4"], True)
    assert await lea.unread_counts() == {"members": 2, "smartlists": 1, "sessions": 0, "total": 3}
    assert (await lea.as_staff("s2").unread_counts())["members"] == 4


async def test_actions_are_idempotent_and_per_staff_user(lea: StaffClient, tom: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    for mutation in ("setThreadFavorite", "setThreadMuted", "setThreadArchived"):
        first = await lea.action(mutation, thread, True)
        second = await lea.action(mutation, thread, True)
        assert first["userErrors"] == second["userErrors"] == []
        assert first["thread"] == second["thread"]
    mine, theirs = await lea.thread(thread), await tom.thread(thread)
    assert (mine["isFavorite"], mine["isMuted"], mine["isArchived"]) == (True, True, True)
    assert (theirs["isFavorite"], theirs["isMuted"], theirs["isArchived"]) == (False, False, False)
    for mutation in ("setThreadFavorite", "setThreadMuted", "setThreadArchived"):
        await lea.action(mutation, thread, False)
    restored = await lea.thread(thread)
    assert (restored["isFavorite"], restored["isMuted"], restored["isArchived"]) == (False, False, False)


async def test_imported_history_is_read_for_every_staff_user_including_later_ones(
    http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from inbox.importer import import_document

    club = await make_club(sessions)
    document = dict(club.document)
    document["threads"] = [{"target": {"member": "m1"}, "messages": [
        {"id": "x1", "direction": "OUTBOUND", "channel": "EMAIL", "staff": "s1", "subject": "Welcome",
         "body": "Welcome!", "createdAt": "2026-10-01T09:00:00+00:00"},
        {"id": "x2", "direction": "INBOUND", "channel": "EMAIL", "body": "Thanks!",
         "createdAt": "2026-10-01T10:12:00+00:00"}]}]
    await import_document(sessions, document)
    document["staff"] = [*document["staff"], {"id": "s9", "name": "New Hire", "email": f"new@{club.slug}.example"}]
    await import_document(sessions, document)
    lea = StaffClient(http, club, sessions, "s1")
    for staff in ("s1", "s2", "s9"):
        connection = await lea.as_staff(staff).threads()
        node = connection["edges"][0]["node"]
        assert node["unreadCount"] == 0 and node["readCursor"] == node["latestCursor"], staff
        assert node["activityAt"] == "2026-10-01T10:12:00+00:00"
    await lea.reply("m1", "a live reply")
    assert (await lea.as_staff("s9").threads())["edges"][0]["node"]["unreadCount"] == 1
