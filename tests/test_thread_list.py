"""The thread list of docs/rules.md: ordering, the muted rule, status filters, archive, search, pagination."""

from __future__ import annotations

import pytest

from tests.inbox_client import StaffClient


async def start_members(lea: StaffClient, *members: str) -> dict[str, str]:
    return {m: (await lea.start("Member", m))["id"] for m in members}


async def test_order_is_latest_activity_first_with_favorites_pinned_on_top(lea: StaffClient) -> None:
    ids = await start_members(lea, "m1", "m2", "m3")
    for member in ("m1", "m2", "m3"):
        await lea.reply(member, f"hi from {member}")
    assert await lea.titles() == ["m3", "m2", "m1"]
    await lea.action("setThreadFavorite", ids["m1"], True)
    assert await lea.titles() == ["m1", "m3", "m2"]
    await lea.reply("m2", "again")
    assert await lea.titles() == ["m1", "m2", "m3"]


async def test_threads_without_messages_sort_by_creation_with_null_activity_and_id_breaks_ties(
    lea: StaffClient,
) -> None:
    ids = await start_members(lea, "m1", "m2")
    connection = await lea.threads()
    nodes = [edge["node"] for edge in connection["edges"]]
    assert [n["id"] for n in nodes] == [ids["m2"], ids["m1"]]
    assert all(n["activityAt"] is None and n["lastMessage"] is None for n in nodes)
    assert nodes[0]["sortKey"] > nodes[1]["sortKey"]


async def test_a_new_empty_thread_appears_in_every_staff_users_list(lea: StaffClient, tom: StaffClient) -> None:
    await start_members(lea, "m4")
    assert await tom.titles() == ["m4"]


async def test_muted_thread_keeps_its_activity_date_when_others_write(lea: StaffClient, tom: StaffClient) -> None:
    ids = await start_members(lea, "m1", "m2")
    await lea.reply("m1", "first")
    await lea.reply("m2", "second")
    frozen = (await lea.action("setThreadMuted", ids["m1"], True))["thread"]["activityAt"]
    await lea.reply("m1", "member writes again")
    await tom.send(ids["m1"], "a colleague answers")
    thread = await lea.thread(ids["m1"])
    assert thread["isMuted"] and thread["activityAt"] == frozen
    assert await lea.titles() == ["m2", "m1"], "muted threads sink"
    assert await tom.titles() == ["m1", "m2"], "the mute is Léa's only"
    assert thread["unreadCount"] == 2, "a muted thread still counts its unread messages"


async def test_reading_or_sending_brings_a_muted_thread_to_its_latest_message(lea: StaffClient) -> None:
    ids = await start_members(lea, "m1", "m2")
    await lea.reply("m1", "one")
    await lea.action("setThreadMuted", ids["m1"], True)
    await lea.reply("m2", "two")
    await lea.reply("m1", "three")
    assert await lea.titles() == ["m2", "m1"]
    await lea.action("markThreadRead", ids["m1"])
    assert await lea.titles() == ["m1", "m2"]
    await lea.reply("m2", "four")
    await lea.reply("m1", "five (muted: stays below)")
    assert await lea.titles() == ["m2", "m1"]
    await lea.send(ids["m1"], "Léa writes")
    assert await lea.titles() == ["m1", "m2"]
    thread = await lea.thread(ids["m1"])
    assert thread["isMuted"] and thread["lastMessage"]["body"] == "Léa writes"


async def test_unmuting_makes_the_thread_follow_its_latest_message_again(lea: StaffClient) -> None:
    ids = await start_members(lea, "m1", "m2")
    await lea.reply("m1", "one")
    await lea.action("setThreadMuted", ids["m1"], True)
    await lea.reply("m2", "two")
    await lea.reply("m1", "three")
    assert await lea.titles() == ["m2", "m1"]
    await lea.action("setThreadMuted", ids["m1"], False)
    assert await lea.titles() == ["m1", "m2"]


async def test_status_filters_show_what_the_table_says(lea: StaffClient) -> None:
    ids = await start_members(lea, "m1", "m2", "m3", "m4", "m5")
    await lea.reply("m1", "unread")
    await lea.reply("m2", "unread and muted")
    await lea.action("setThreadMuted", ids["m2"], True)
    await lea.action("setThreadFavorite", ids["m3"], True)
    await lea.action("setThreadArchived", ids["m4"], True)
    await lea.action("setThreadMuted", ids["m5"], True)
    assert set(await lea.titles(status="ALL")) == {"m1", "m2", "m3", "m5"}
    assert set(await lea.titles(status="UNREAD")) == {"m1", "m2"}
    assert await lea.titles(status="FAVORITES") == ["m3"]
    assert set(await lea.titles(status="MUTED")) == {"m2", "m5"}
    assert await lea.titles(status="ARCHIVED") == ["m4"]


async def test_archived_threads_are_hidden_from_every_other_filter_even_when_searched(lea: StaffClient) -> None:
    ids = await start_members(lea, "m1")
    await lea.reply("m1", "hello")
    await lea.action("setThreadFavorite", ids["m1"], True)
    await lea.action("setThreadMuted", ids["m1"], True)
    await lea.action("setThreadArchived", ids["m1"], True)
    for status in ("ALL", "UNREAD", "FAVORITES", "MUTED"):
        assert await lea.titles(status=status, search="héloïse") == []
    assert await lea.titles(status="ARCHIVED", search="héloïse") == ["m1"]
    assert await lea.titles(status="ARCHIVED", search="zoë") == []


async def test_any_new_message_restores_an_archived_thread_for_every_viewer(lea: StaffClient, tom: StaffClient) -> None:
    ids = await start_members(lea, "m1", "m2")
    await lea.action("setThreadArchived", ids["m1"], True)
    await tom.action("setThreadArchived", ids["m1"], True)
    await lea.reply("m1", "I'm back")
    assert "m1" in await lea.titles() and "m1" in await tom.titles()
    await tom.action("setThreadArchived", ids["m2"], True)
    await lea.send(ids["m2"], "sent by Léa")
    assert not (await tom.thread(ids["m2"]))["isArchived"]


async def test_a_muted_archived_thread_receiving_a_message_is_restored_but_stays_muted(lea: StaffClient) -> None:
    ids = await start_members(lea, "m1")
    await lea.reply("m1", "one")
    await lea.action("markThreadRead", ids["m1"])
    await lea.action("setThreadMuted", ids["m1"], True)
    frozen = (await lea.action("setThreadArchived", ids["m1"], True))["thread"]["activityAt"]
    counts_before = await lea.unread_counts()
    await lea.reply("m1", "two")
    thread = await lea.thread(ids["m1"])
    assert (thread["isArchived"], thread["isMuted"], thread["activityAt"], thread["unreadCount"]) == (
        False, True, frozen, 1)
    assert await lea.unread_counts() == counts_before


async def test_starting_an_archived_thread_returns_it_still_archived(lea: StaffClient) -> None:
    ids = await start_members(lea, "m1")
    await lea.action("setThreadArchived", ids["m1"], True)
    again = await lea.start("Member", "m1")
    assert again["id"] == ids["m1"] and again["isArchived"]


@pytest.mark.parametrize(("search", "expected"), [
    ("helo", ["m1"]), ("dupont hél", ["m1"]), ("hél dupont", ["m1"]), ("06 12 34", ["m1"]),
    ("+33612345678", ["m1"]), ("jf.muller", ["m2"]), ("dupont", ["m5", "m1"]), ("", ["m5", "m2", "m1"]),
])
async def test_member_threads_search_by_name_email_or_phone(lea: StaffClient, search: str, expected: list[str]) -> None:
    await start_members(lea, "m1", "m2", "m5")
    assert await lea.titles(search=search) == expected


async def test_smartlist_and_session_threads_search_by_name(lea: StaffClient) -> None:
    for smartlist in ("l1", "l2"):
        await lea.start("Smartlist", smartlist)
    for session in ("c1", "c2"):
        await lea.start("Session", session)
    assert await lea.titles("SMARTLIST", search="prémium") == ["l1"]
    assert await lea.titles("SMARTLIST", search="") == ["l2", "l1"]
    assert await lea.titles("SESSION", search="yoga flow") == ["c1"]
    assert await lea.titles("MEMBER") == []


async def test_pages_neither_skip_nor_repeat_items_that_do_not_move_while_messages_arrive(lea: StaffClient) -> None:
    members = ["m1", "m2", "m3", "m4", "m5"]
    ids = await start_members(lea, *members)
    for member in members:
        await lea.reply(member, "hello")
    page1 = await lea.threads(first=2)
    assert page1["totalCount"] == 5 and page1["pageInfo"]["hasNextPage"]
    seen = [e["node"]["target"]["externalId"] for e in page1["edges"]]
    moved = "m1"  # last in the list; a new message moves it to the top
    await lea.reply(moved, "jumping up")
    after = page1["pageInfo"]["endCursor"]
    while after:
        page = await lea.threads(first=2, after=after)
        seen += [e["node"]["target"]["externalId"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert seen == ["m5", "m4", "m3", "m2"], "the moved item is pushed by threadUpdated, not the next page"
    assert ids


async def test_first_outside_1_to_100_and_foreign_cursors_are_bad_user_input(lea: StaffClient) -> None:
    await start_members(lea, "m1", "m2")
    for variables in ({"c": "MEMBER", "first": 0}, {"c": "MEMBER", "first": 101}):
        body = await lea.query("query($c: ThreadCategory!, $first: Int) { threads(category: $c, first: $first) "
                               "{ totalCount } }", variables)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    cursor = (await lea.threads(first=1))["pageInfo"]["endCursor"]
    body = await lea.query("query($a: String) { threads(category: SESSION, after: $a) { totalCount } }", {"a": cursor})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await lea.as_staff("s2").query("query($a: String) { threads(category: MEMBER, after: $a) { totalCount } }",
                                          {"a": cursor})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", "a cursor is the viewer's own"


async def test_a_thread_cursor_is_valid_under_every_status_and_search_of_its_category(lea: StaffClient) -> None:
    await start_members(lea, "m1", "m2", "m5")
    for member in ("m1", "m2", "m5"):
        await lea.reply(member, "hello")
    cursor = (await lea.threads(first=1))["edges"][0]["cursor"]  # m5, the newest
    assert [e["node"]["target"]["externalId"] for e in (await lea.threads(status="UNREAD", search="dupont",
                                                                            after=cursor))["edges"]] == ["m1"]


async def test_paging_through_favorites_muted_and_plain_threads_gives_the_one_page_order(lea: StaffClient) -> None:
    members = ["m1", "m2", "m3", "m4", "m5"]
    ids = await start_members(lea, *members)
    for member in members:
        await lea.reply(member, "hello")
    await lea.action("setThreadMuted", ids["m5"], True)  # the newest, frozen then overtaken
    await lea.reply("m5", "again (muted: stays where it was)")
    await lea.action("setThreadFavorite", ids["m2"], True)
    await lea.action("setThreadFavorite", ids["m4"], True)
    await lea.action("setThreadArchived", ids["m3"], True)
    one_page = await lea.titles()
    assert one_page == ["m4", "m2", "m5", "m1"]
    for size in (1, 2, 3):
        seen, after = [], None
        while True:
            page = await lea.threads(first=size, after=after)
            seen += [edge["node"]["target"]["externalId"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == one_page, size
    sort_keys = [edge["node"]["sortKey"] for edge in (await lea.threads())["edges"]]
    assert sort_keys == sorted(sort_keys, reverse=True)
