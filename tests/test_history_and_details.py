"""Message history (cursors, backwards, around) and the details panel of members, smartlists and sessions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.inbox_client import StaffClient

HISTORY = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $around: String) {
  node(id: $id) { ... on Thread { messages(first: $first, after: $after, last: $last, before: $before,
                                             around: $around) {
    totalCount edges { cursor node { body cursor preview(length: 5) author { __typename } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } } }"""


async def history(lea: StaffClient, thread: str, **args: Any) -> dict[str, Any]:
    return (await lea.ok(HISTORY, {"id": thread, **args}))["node"]["messages"]


def bodies(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["body"] for edge in connection["edges"]]


@pytest.fixture
async def chat(lea: StaffClient) -> str:
    thread = (await lea.start("Member", "m1"))["id"]
    for i in range(1, 8):
        if i % 2:
            await lea.reply("m1", f"m{i}")
        else:
            await lea.send(thread, f"m{i}")
    return thread


async def test_history_reads_oldest_first_and_pages_forward_by_cursor(lea: StaffClient, chat: str) -> None:
    page = await history(lea, chat, first=3)
    assert bodies(page) == ["m1", "m2", "m3"] and page["totalCount"] == 7
    assert page["pageInfo"]["hasNextPage"] and not page["pageInfo"]["hasPreviousPage"]
    assert all(edge["cursor"] == edge["node"]["cursor"] for edge in page["edges"])
    page = await history(lea, chat, first=10, after=page["pageInfo"]["endCursor"])
    assert bodies(page) == ["m4", "m5", "m6", "m7"] and not page["pageInfo"]["hasNextPage"]
    assert [e["node"]["author"]["__typename"] for e in page["edges"]] == ["Staff", "Member", "Staff", "Member"]


async def test_history_reads_backwards_from_the_newest(lea: StaffClient, chat: str) -> None:
    page = await history(lea, chat, last=3)
    assert bodies(page) == ["m5", "m6", "m7"] and page["pageInfo"]["hasPreviousPage"]
    page = await history(lea, chat, last=3, before=page["pageInfo"]["startCursor"])
    assert bodies(page) == ["m2", "m3", "m4"]
    assert bodies(await history(lea, chat)) == [f"m{i}" for i in range(1, 8)], "20 by default"


async def test_history_around_a_message_centres_the_page(lea: StaffClient, chat: str) -> None:
    middle = (await history(lea, chat, first=4))["edges"][3]["cursor"]  # m4
    page = await history(lea, chat, around=middle, first=3)
    assert bodies(page) == ["m3", "m4", "m5"]
    assert page["pageInfo"]["hasPreviousPage"] and page["pageInfo"]["hasNextPage"]


async def test_history_page_sizes_are_checked(lea: StaffClient, chat: str) -> None:
    for args in ({"first": 0}, {"last": 101}, {"first": 2, "last": 2}):
        body = await lea.query(HISTORY, {"id": chat, **args})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", args


async def test_previews_collapse_white_space(lea: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    await lea.send(thread, "  Hello \n\n  there   friend ")
    data = await lea.ok("query($id: ID!) { node(id: $id) { ... on Thread { lastMessage { p: preview "
                        "short: preview(length: 8) } } } }", {"id": thread})
    assert data["node"]["lastMessage"] == {"p": "Hello there friend", "short": "Hello th"}


async def test_latest_cursor_of_an_empty_thread_is_its_start(lea: StaffClient) -> None:
    thread = await lea.start("Member", "m2")
    assert thread["readCursor"] is None
    page = await history(lea, thread["id"], after=thread["latestCursor"])
    assert page["edges"] == [] and not page["pageInfo"]["hasPreviousPage"]


async def test_the_idempotency_key_is_shown_to_its_sender_only(lea: StaffClient) -> None:
    thread = (await lea.start("Member", "m1"))["id"]
    sent = await lea.send(thread, "optimistic", idempotencyKey="tab-1:42")
    assert sent["message"]["idempotencyKey"] == "tab-1:42"
    query = "query($id: ID!) { node(id: $id) { ... on Message { idempotencyKey } } }"
    assert (await lea.ok(query, {"id": sent["message"]["id"]}))["node"]["idempotencyKey"] == "tab-1:42"
    assert (await lea.as_staff("s2").ok(query, {"id": sent["message"]["id"]}))["node"]["idempotencyKey"] is None


SMARTLIST = """query($id: ID!) { node(id: $id) { ... on Smartlist {
  name description memberCount filterTypes url externalId
  filters { field operator values }
  email: reachableCount(channel: EMAIL) sms: reachableCount(channel: SMS)
  members(first: 10) { totalCount edges { node { externalId } } } thread { id } } } }"""


async def test_smartlist_details_count_members_now_and_say_what_filters_apply(lea: StaffClient) -> None:
    data = await lea.ok(SMARTLIST, {"id": lea.target_id("Smartlist", "l1")})
    assert data["node"] == {
        "name": "Premium members", "description": "Tag premium", "memberCount": 1, "filterTypes": ["TAG"],
        "url": f"https://backoffice.example/{lea.club.slug}/smartlists/l1", "externalId": "l1",
        "filters": [{"field": "TAG", "operator": "IN", "values": ["premium"]}], "email": 1, "sms": 1,
        "members": {"totalCount": 1, "edges": [{"node": {"externalId": "m1"}}]}, "thread": None,
    }
    everyone = (await lea.ok(SMARTLIST, {"id": lea.target_id("Smartlist", "l2")}))["node"]
    assert (everyone["memberCount"], everyone["email"], everyone["sms"], everyone["filterTypes"]) == (5, 4, 2, [])


SESSION = """query($id: ID!) { node(id: $id) { ... on Session {
  name startsAt endsAt level isOnline capacity bookedCount waitlistCount occupancyRate url externalId
  teacher { name photoUrl } room { name address { street postalCode city country } }
  bookings { totalCount edges { node { externalId } } } waitlist { edges { node { externalId } } }
  email: reachableCount(channel: EMAIL) all: reachableCount(channel: EMAIL, includeWaitlist: true) } } }"""


async def test_session_details_give_bookings_waitlist_occupancy_teacher_and_room(lea: StaffClient) -> None:
    data = await lea.ok(SESSION, {"id": lea.target_id("Session", "c1")})
    assert data["node"] == {
        "name": "Yoga Flow", "startsAt": "2026-12-01T18:00:00+00:00", "endsAt": "2026-12-01T19:00:00+00:00",
        "level": "All levels", "isOnline": False, "capacity": 20, "bookedCount": 3, "waitlistCount": 1,
        "occupancyRate": 0.15, "url": f"https://backoffice.example/{lea.club.slug}/sessions/c1", "externalId": "c1",
        "teacher": {"name": "Léa Martin", "photoUrl": "https://cdn.example/lea.jpg"},
        "room": {"name": "Studio 2", "address": {"street": "1 High St", "postalCode": "N1 1AA", "city": "London",
                                                 "country": "GB"}},
        "bookings": {"totalCount": 3, "edges": [{"node": {"externalId": m}} for m in ("m1", "m3", "m4")]},
        "waitlist": {"edges": [{"node": {"externalId": "m2"}}]}, "email": 2, "all": 3,
    }


async def test_occupancy_rate_is_zero_when_capacity_is_zero(lea: StaffClient) -> None:
    data = await lea.ok(SESSION, {"id": lea.target_id("Session", "c2")})
    assert (data["node"]["occupancyRate"], data["node"]["isOnline"], data["node"]["teacher"]) == (0.0, True, None)


async def test_thread_targets_and_titles_for_each_category(lea: StaffClient) -> None:
    member = await lea.start("Member", "m1")
    smartlist = await lea.start("Smartlist", "l1")
    session = await lea.start("Session", "c1")
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Thread { title category target { __typename } } } }"
    data = await lea.ok(query, {"ids": [member["id"], smartlist["id"], session["id"]]})
    assert data["nodes"] == [
        {"title": "Héloïse Dupont", "category": "MEMBER", "target": {"__typename": "Member"}},
        {"title": "Premium members", "category": "SMARTLIST", "target": {"__typename": "Smartlist"}},
        {"title": "Yoga Flow", "category": "SESSION", "target": {"__typename": "Session"}},
    ]
    again = await lea.ok("mutation($id: ID!) { startThread(input: {targetId: $id}) { created thread { id } } }",
                         {"id": lea.target_id("Member", "m1")})
    assert again["startThread"] == {"created": False, "thread": {"id": member["id"]}}
    member_thread = await lea.ok("query($id: ID!) { node(id: $id) { ... on Member { thread { id } } } }",
                                 {"id": lea.target_id("Member", "m1")})
    assert member_thread["node"]["thread"]["id"] == member["id"]
