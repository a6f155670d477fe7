"""The web inbox in Debian's headless Chromium, against a real `inbox serve` on the demo club (ui.md).

Each scenario of the article is driven through the roles and names of ui.md: the chat list, the "…"
menu, the chat and its composer, the details, the pencil. Members answer through the SMS webhook, as
they do in production. The screenshots of the three panes in docs/ are taken here (written there when
INBOX_WRITE_SCREENSHOTS=1, else into the test's temporary folder).
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, Route, expect
from sqlalchemy import select

from inbox.actions import record_member_reply
from models import Club
from models.engine import club_session, create_engine, session_factory
from tests.browser import InboxServer, chromium, offline_context, signed_in_page, staff_token
from tests.databases import fresh_database
from tests.servers import post_sms

ROOT = Path(__file__).resolve().parent.parent
DEMO_SMS_NUMBER = "+447700900000"
CLUB_ZONE = ZoneInfo("Europe/London")
RED, GREY = "rgb(217, 48, 37)", "rgb(138, 144, 153)"
CLAIMED: set[str] = set()  # threads a scenario changed: the next scenarios pick others

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InboxServer]:
    directory = tmp_path_factory.mktemp("web")
    with fresh_database(directory, prefix="inbox_web") as url:
        inbox = InboxServer(url, os.environ.get("INBOX_TEST_REDIS_URL") or None, directory / "serve.log")
        inbox.load_demo()
        with inbox.running():
            yield inbox


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def lea(browser: Browser, server: InboxServer) -> AsyncIterator[Page]:
    context = await offline_context(browser, server.url)
    page = await signed_in_page(context, server.url, staff_token("s1"))
    yield page
    assert page.errors == []  # type: ignore[attr-defined]
    await context.close()


# --- the API, to choose the scenarios' threads and to check what the page shows ---------------------

async def api(server: InboxServer, query: str, variables: dict[str, Any] | None = None,
              staff: str = "s1") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables or {}},
                                   headers={"Authorization": f"Bearer {staff_token(staff)}"})
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def claim_threads(server: InboxServer, count: int) -> list[dict[str, Any]]:
    """Read member threads of the first page, below its top, that no scenario touched yet."""
    data = await api(server, """{ threads(category: MEMBER, first: 30) { edges { node {
        id title unreadCount isFavorite isMuted lastMessage { id }
        target { ... on Member { id phone } } } } } }""")
    nodes = [edge["node"] for edge in data["threads"]["edges"]]
    titles = [node["title"] for node in nodes]
    phones = [node["target"]["phone"] for node in nodes]
    chosen = [node for node in nodes[3:]
              if node["title"] not in CLAIMED and titles.count(node["title"]) == 1 and node["unreadCount"] == 0
              and node["lastMessage"] and not node["isFavorite"] and not node["isMuted"]
              and node["target"]["phone"] and phones.count(node["target"]["phone"]) == 1][:count]
    assert len(chosen) == count, "the demo club has too few read member threads for the scenario"
    CLAIMED.update(node["title"] for node in chosen)
    return chosen


async def set_flag(server: InboxServer, mutation: str, thread: dict[str, Any], value: bool) -> None:
    data = await api(server, f"mutation($id: ID!, $value: Boolean!) {{ {mutation}(input: {{threadId: $id, "
                             "value: $value}) { userErrors { code } } }", {"id": thread["id"], "value": value})
    assert data[mutation]["userErrors"] == []


async def member_replies(server: InboxServer, phone: str, body: str) -> None:
    """The member answers by SMS: Twilio's signed webhook to the server."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await post_sms(http, From=phone, To=DEMO_SMS_NUMBER, Body=body,
                                  MessageSid=f"SM{uuid.uuid4().hex}")
    assert response.status_code < 300, response.text


async def member_replies_while_the_server_is_down(server: InboxServer, thread: dict[str, Any], body: str) -> None:
    """The same domain function the webhooks call, straight on the database: no server sees it happen."""
    encoded = thread["target"]["id"]
    member_id = int(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode().split(":")[1])
    engine = create_engine(server.database_url)
    try:
        factory = session_factory(engine)
        async with factory() as session:
            club_id = await session.scalar(select(Club.id).where(Club.slug == "riverside"))
        assert club_id is not None
        async with club_session(factory, club_id) as session:
            await record_member_reply(session, club_id, member_id, channel="SMS", body=body)
    finally:
        await engine.dispose()


# --- the page, through ui.md's roles and names ---------------------------------------------------------

def threads(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Chats").get_by_role("list", name="Threads")


def item(page: Page, title: str) -> Locator:
    return threads(page).get_by_role("listitem").filter(has=page.get_by_role("button", name=title, exact=True))


async def titles(page: Page) -> list[str]:
    return await threads(page).get_by_role("listitem").evaluate_all(
        "items => items.map(i => i.querySelector('button').textContent.trim())")


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out waiting for the page"
        await asyncio.sleep(0.05)


async def menu_labels(page: Page, title: str) -> list[str]:
    await page.get_by_role("button", name=f"Actions for {title}", exact=True).click()
    labels = await page.get_by_role("menu").get_by_role("menuitem").all_inner_texts()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("menu")).to_have_count(0)
    return [label.strip() for label in labels]


async def act(page: Page, title: str, label: str) -> None:
    await page.get_by_role("button", name=f"Actions for {title}", exact=True).click()
    await page.get_by_role("menu").get_by_role("menuitem", name=label, exact=True).click()


async def category_count(page: Page, label: str = "Members") -> int:
    text = await page.get_by_role("tab", name=re.compile(f"^{label}")).inner_text()
    digits = re.findall(r"\d+", text)
    return int(digits[0]) if digits else 0


async def badge_colour(badge: Locator) -> str:
    return await badge.evaluate("e => getComputedStyle(e).backgroundColor")


async def open_chat(page: Page, title: str) -> Locator:
    await item(page, title).get_by_role("button", name=title, exact=True).click()
    main = page.get_by_role("main")
    await expect(main.get_by_role("heading", level=1)).to_contain_text(title)
    return main


def screenshot_path(tmp_path: Path, name: str) -> Path:
    folder = ROOT / "docs" / "screenshots" if os.environ.get("INBOX_WRITE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


# --- the scenarios -------------------------------------------------------------------------------------

async def test_the_first_list_paints_in_one_request_and_the_three_panes_are_shown(
    browser: Browser, server: InboxServer, tmp_path: Path
) -> None:
    favorite, muted = await claim_threads(server, 2)  # so that the screenshots show ⭐, 🔕 and a grey badge
    for mutation, thread in (("setThreadFavorite", favorite), ("setThreadMuted", muted)):
        await set_flag(server, mutation, thread, True)
    await member_replies(server, muted["target"]["phone"], "Sorry, I can't make it on Friday.")
    context = await offline_context(browser, server.url)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.post_data or "") if r.url.endswith("/graphql") else None)
    page = await signed_in_page(context, server.url, staff_token("s1"))
    assert "#token" not in page.url and await page.evaluate("sessionStorage.getItem('inbox.token')")
    assert len(requests) == 1, requests  # counts, club and the first page in one round trip
    assert "unreadCounts" in requests[0] and "threads(" in requests[0]
    listed = await api(server, "{ unreadCounts { members } "
                               "threads(category: MEMBER, first: 30) { edges { node { title } } } }")
    assert await titles(page) == [edge["node"]["title"] for edge in listed["threads"]["edges"]]
    assert await category_count(page) == listed["unreadCounts"]["members"]
    await expect(page.get_by_role("tab", name=re.compile("^Members"))).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_role("combobox", name="Status")).to_have_value("ALL")
    assert [o.strip() for o in await page.get_by_role("combobox", name="Status").locator("option").all_inner_texts()] \
        == ["All", "Unread", "Favorites", "Muted", "Archived"]
    await expect(item(page, favorite["title"]).get_by_label("Favorite", exact=True)).to_have_text("⭐")
    await expect(item(page, muted["title"]).get_by_label("Muted", exact=True)).to_have_text("🔕")
    await expect(item(page, muted["title"]).get_by_label("1 unread", exact=True)).to_be_visible()
    dates = await threads(page).get_by_role("listitem").locator("time").all_inner_texts()
    assert dates and all(not re.fullmatch(r"\d+", d.strip()) for d in dates)

    main = await open_chat(page, "Héloïse Dupont")
    details = page.get_by_role("complementary", name="Details")
    for field in ("Phone", "Email", "Registered", "Birth date", "Member number", "Barcode", "Address",
                  "Emergency contact", "Tags", "Balance", "Unpaid invoices", "Documents", "Notes"):
        await expect(details.get_by_text(field, exact=True)).to_be_visible()
    await expect(details.get_by_role("img", name=re.compile("^Barcode "))).to_be_visible()
    assert await details.get_by_role("img", name=re.compile("^Barcode ")).evaluate("i => i.naturalWidth") > 0
    await expect(details.get_by_role("link", name="Open profile")).to_have_attribute("href", re.compile("/members/"))
    await expect(main.get_by_role("list", name="Messages").get_by_role("listitem").first).to_be_visible()
    await expect(main.get_by_role("form", name="Reply")).to_be_visible()
    await expect(main.get_by_role("combobox", name="Channel")).to_have_value("EMAIL")
    await page.screenshot(path=screenshot_path(tmp_path, "inbox-member.png"))

    await page.get_by_role("tab", name=re.compile("^Smartlists")).click()
    await open_chat(page, await _first_title_of(server, "SMARTLIST"))
    await expect(details.get_by_role("link", name="Open smartlist")).to_be_visible()
    for field in ("Members", "Filters", "Description"):
        await expect(details.get_by_text(field, exact=True)).to_be_visible()
    await page.screenshot(path=screenshot_path(tmp_path, "inbox-smartlist.png"))

    await page.get_by_role("tab", name=re.compile("^Sessions")).click()
    await open_chat(page, await _first_title_of(server, "SESSION"))
    await expect(details.get_by_role("link", name="Open session")).to_be_visible()
    for field in ("Bookings", "Occupancy", "Waitlist", "Level", "Online", "Date and time", "Teacher", "Room"):
        await expect(details.get_by_text(field, exact=True)).to_be_visible()
    await page.screenshot(path=screenshot_path(tmp_path, "inbox-session.png"))

    await page.get_by_role("button", name="Details", exact=True).click()
    await expect(details).to_be_hidden()
    await page.get_by_role("button", name="Details", exact=True).click()
    await expect(details).to_be_visible()
    await page.get_by_role("button", name="New chat").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_role("button", name=re.compile(r": [1-9]\d* sessions?$")).first).to_be_visible()
    await dialog.get_by_role("button", name=re.compile(r": [1-9]\d* sessions?$")).first.click()
    await expect(dialog.get_by_role("listbox", name="Results").get_by_role("option").first).to_be_visible()
    await page.screenshot(path=screenshot_path(tmp_path, "new-chat-session.png"))
    assert page.errors == []  # type: ignore[attr-defined]
    await context.close()
    for mutation, thread in (("setThreadFavorite", favorite), ("setThreadMuted", muted)):
        await set_flag(server, mutation, thread, False)  # as the next scenarios expect


async def _first_title_of(server: InboxServer, category: str) -> str:
    query = "query($c: ThreadCategory!) { threads(category: $c, first: 1) { edges { node { title } } } }"
    data = await api(server, query, {"c": category})
    return str(data["threads"]["edges"][0]["node"]["title"])


async def test_mark_as_unread_shows_a_red_1(lea: Page, server: InboxServer) -> None:
    (thread,) = await claim_threads(server, 1)
    title = thread["title"]
    assert await menu_labels(lea, title) == ["Mark as unread", "Add to favorites", "Mute", "Archive"]
    before = await category_count(lea)
    await act(lea, title, "Mark as unread")
    badge = item(lea, title).get_by_label("1 unread", exact=True)
    await expect(badge).to_have_text("1")
    assert await badge_colour(badge) == RED
    await until(lambda: _equals(category_count(lea), before + 1))
    assert await menu_labels(lea, title) == ["Add to favorites", "Mute", "Archive"]  # it shows an unread now
    await lea.get_by_role("combobox", name="Status").select_option("UNREAD")
    await expect(item(lea, title)).to_be_visible()
    await open_chat(lea, title)  # opening reads it
    await expect(item(lea, title)).to_have_count(0)  # out of "Unread" at once
    await until(lambda: _equals(category_count(lea), before))


async def test_the_menu_works_from_the_keyboard(lea: Page, server: InboxServer) -> None:
    (thread,) = await claim_threads(server, 1)
    title = thread["title"]
    await item(lea, title).get_by_role("button", name=title, exact=True).focus()
    await lea.keyboard.press("Tab")
    actions = lea.get_by_role("button", name=f"Actions for {title}", exact=True)
    await expect(actions).to_be_focused()
    assert await actions.evaluate("b => getComputedStyle(b).opacity") == "1"  # shown when focused
    await lea.keyboard.press("Enter")
    menu = lea.get_by_role("menu")
    await expect(menu.get_by_role("menuitem", name="Mark as unread", exact=True)).to_be_focused()
    await lea.keyboard.press("ArrowDown")
    await expect(menu.get_by_role("menuitem", name="Add to favorites", exact=True)).to_be_focused()
    await lea.keyboard.press("Enter")
    await expect(item(lea, title).get_by_label("Favorite", exact=True)).to_be_visible()
    await expect(actions).to_be_focused()
    await set_flag(server, "setThreadFavorite", thread, False)  # as the next scenarios expect
    await expect(item(lea, title).get_by_label("Favorite", exact=True)).to_have_count(0)


async def _equals(value: Awaitable[Any], expected: Any) -> bool:
    return await value == expected


async def test_a_favorite_is_pinned_on_top(lea: Page, server: InboxServer) -> None:
    (thread,) = await claim_threads(server, 1)
    title = thread["title"]
    assert (await titles(lea))[0] != title
    await act(lea, title, "Add to favorites")
    await until(lambda: _equals(_first_title(lea), title))
    await expect(item(lea, title).get_by_label("Favorite", exact=True)).to_have_text("⭐")
    await lea.get_by_role("combobox", name="Status").select_option("FAVORITES")
    await until(lambda: _equals(titles(lea), [title]))
    await lea.get_by_role("combobox", name="Status").select_option("ALL")
    await until(lambda: _equals(_first_title(lea), title))
    assert await menu_labels(lea, title) == ["Mark as unread", "Remove from favorites", "Mute", "Archive"]
    await act(lea, title, "Remove from favorites")
    await expect(item(lea, title).get_by_label("Favorite", exact=True)).to_have_count(0)
    await until(lambda: _differs(_first_title(lea), title))


async def _first_title(page: Page) -> str | None:
    listed = await titles(page)
    return listed[0] if listed else None


async def _differs(value: Awaitable[Any], other: Any) -> bool:
    return await value != other


async def test_a_muted_thread_does_not_rise_on_a_reply_and_its_badge_is_grey(lea: Page, server: InboxServer) -> None:
    muted, active = await claim_threads(server, 2)
    await act(lea, muted["title"], "Mute")
    await expect(item(lea, muted["title"]).get_by_label("Muted", exact=True)).to_have_text("🔕")
    assert await menu_labels(lea, muted["title"]) == ["Mark as unread", "Add to favorites", "Reactivate", "Archive"]
    order = await titles(lea)
    before = await category_count(lea)

    await member_replies(server, muted["target"]["phone"], "Can I bring a friend?")
    badge = item(lea, muted["title"]).get_by_label("1 unread", exact=True)
    await expect(badge).to_have_text("1")
    assert await badge_colour(badge) == GREY
    await member_replies(server, active["target"]["phone"], "Is the sauna open?")
    await until(lambda: _equals(_first_title(lea), active["title"]))  # a reply bumps an active thread
    active_badge = item(lea, active["title"]).get_by_label("1 unread", exact=True)
    assert await badge_colour(active_badge) == RED
    await until(lambda: _equals(category_count(lea), before + 1))  # the muted one is not counted
    now = await titles(lea)
    assert [t for t in now if t != active["title"]] == [t for t in order if t != active["title"]]
    await expect(item(lea, muted["title"]).get_by_text("Can I bring a friend?")).to_be_visible()


async def test_an_archived_thread_leaves_the_list_and_search_and_comes_back_on_a_new_message(
    lea: Page, server: InboxServer
) -> None:
    (thread,) = await claim_threads(server, 1)
    title = thread["title"]
    await act(lea, title, "Archive")
    await expect(item(lea, title)).to_have_count(0)
    search = lea.get_by_role("searchbox", name="Search")
    await search.fill(title)
    await expect(lea.get_by_text("No chats here.")).to_be_visible()
    await lea.get_by_role("combobox", name="Status").select_option("ARCHIVED")
    await expect(item(lea, title)).to_be_visible()
    await search.fill("")
    await until(lambda: _equals(titles(lea), [title]))
    assert await menu_labels(lea, title) == ["Mark as unread", "Add to favorites", "Mute", "Restore"]

    await member_replies(server, thread["target"]["phone"], "Hello? Anyone there?")
    await expect(item(lea, title)).to_have_count(0)  # restored: no longer under "Archived"
    await lea.get_by_role("combobox", name="Status").select_option("ALL")
    await until(lambda: _equals(_first_title(lea), title))
    await expect(item(lea, title).get_by_label("1 unread", exact=True)).to_be_visible()


async def test_a_second_user_sees_a_sent_message_live_and_never_the_first_users_flags(
    browser: Browser, lea: Page, server: InboxServer
) -> None:
    chat, favorite, muted, archived = await claim_threads(server, 4)
    tom_context = await offline_context(browser, server.url)
    tom = await signed_in_page(tom_context, server.url, staff_token("s2"))
    tom_chat = await open_chat(tom, chat["title"])
    lea_chat = await open_chat(lea, chat["title"])

    release = asyncio.Event()

    async def slow_send(route: Route) -> None:  # holds the answer to Léa's send: the live copy comes first
        if "mutation Send" not in (route.request.post_data or ""):
            await route.fallback()
            return
        response = await route.fetch()
        await release.wait()
        await route.fulfill(response=response)

    await lea.route("**/graphql", slow_send)
    body = f"See you at 7, {uuid.uuid4().hex[:6]}"
    await lea_chat.get_by_role("textbox", name="Subject").fill("Tonight")
    await lea_chat.get_by_role("textbox", name="Message").fill(body)
    await lea_chat.get_by_role("button", name="Send").click()
    sent = lea_chat.get_by_role("list", name="Messages").get_by_role("listitem").filter(has_text=body)
    await expect(sent).to_have_count(1)
    await expect(tom_chat.get_by_role("list", name="Messages").get_by_role("listitem").filter(has_text=body)) \
        .to_have_count(1)  # live in the other browser before Léa's own request has even returned
    await expect(sent).to_have_count(1)  # messageAdded took the optimistic copy's place (same key)
    release.set()
    await expect(sent.get_by_text(re.compile(r"^1 recipient"))).to_be_visible()
    await lea.wait_for_timeout(300)
    await expect(sent).to_have_count(1)
    await expect(item(tom, chat["title"]).get_by_text(body)).to_be_visible()

    await act(lea, favorite["title"], "Add to favorites")
    await act(lea, muted["title"], "Mute")
    await act(lea, archived["title"], "Archive")
    await until(lambda: _equals(_first_title(lea), favorite["title"]))
    await expect(item(lea, archived["title"])).to_have_count(0)
    await tom.wait_for_timeout(1000)  # what Léa's changes could have pushed to Tom has arrived by now
    await expect(item(tom, favorite["title"]).get_by_label("Favorite", exact=True)).to_have_count(0)
    await expect(item(tom, muted["title"]).get_by_label("Muted", exact=True)).to_have_count(0)
    await expect(item(tom, archived["title"])).to_have_count(1)
    assert (await menu_labels(tom, favorite["title"]))[1] == "Add to favorites"
    assert tom.errors == []  # type: ignore[attr-defined]
    await tom_context.close()
    for mutation, thread in (("setThreadFavorite", favorite), ("setThreadMuted", muted),
                             ("setThreadArchived", archived)):
        await set_flag(server, mutation, thread, False)  # as the next scenarios expect


async def test_the_pencil_starts_a_member_a_smartlist_and_a_session_chat(lea: Page, server: InboxServer) -> None:
    main, details = lea.get_by_role("main"), lea.get_by_role("complementary", name="Details")
    members = await api(server, "{ members(first: 100) { edges { node { fullName thread { id } } } } }")
    names = [edge["node"]["fullName"] for edge in members["members"]["edges"]]
    newcomer = next(edge["node"]["fullName"] for edge in members["members"]["edges"]
                    if edge["node"]["thread"] is None and names.count(edge["node"]["fullName"]) == 1)
    await lea.get_by_role("button", name="New chat").click()
    dialog = lea.get_by_role("dialog")
    await dialog.get_by_role("searchbox", name="Search members").fill(newcomer)
    await dialog.get_by_role("listbox", name="Results").get_by_role("option", name=newcomer, exact=True).click()
    await expect(main.get_by_role("heading", level=1)).to_contain_text(newcomer)
    await expect(item(lea, newcomer)).to_be_visible()
    await expect(details.get_by_role("link", name="Open profile")).to_be_visible()

    await lea.get_by_role("tab", name=re.compile("^Smartlists")).click()
    await lea.get_by_role("button", name="New chat").click()
    await expect(dialog.get_by_role("listbox", name="Results").get_by_role("option").first).to_be_visible()
    await dialog.get_by_role("button", name="New smartlist…").click()
    name = f"Swimmers {uuid.uuid4().hex[:4]}"
    form = dialog.get_by_role("form", name="Create smartlist")
    await form.get_by_role("textbox", name="Name").fill(name)
    await form.get_by_role("textbox", name="Filter 1 values").fill("swimmer")
    preview = await api(server, '{ smartlistPreview(filters: [{field: TAG, operator: IN, values: ["swimmer"]}]) '
                                "{ memberCount } }")
    count = preview["smartlistPreview"]["memberCount"]
    await expect(form.get_by_role("status")).to_have_text(f"{count} member{'s' if count != 1 else ''} match")
    await form.get_by_role("button", name="Create smartlist").click()
    await expect(main.get_by_role("heading", level=1)).to_contain_text(name)
    await expect(item(lea, name)).to_be_visible()
    await expect(details.get_by_role("link", name="Open smartlist")).to_be_visible()

    await lea.get_by_role("tab", name=re.compile("^Sessions")).click()
    now = datetime.now(UTC)
    sessions = await api(server, """query($from: DateTime!, $to: DateTime!) { sessions(from: $from, to: $to, first: 100)
        { edges { node { name startsAt thread { id } } } } }""",
                         {"from": now.isoformat(), "to": (now + timedelta(days=20)).isoformat()})
    session = next(edge["node"] for edge in sessions["sessions"]["edges"] if edge["node"]["thread"] is None)
    starts = datetime.fromisoformat(session["startsAt"]).astimezone(CLUB_ZONE)
    await lea.get_by_role("button", name="New chat").click()
    if starts.month != datetime.now(CLUB_ZONE).month:
        await dialog.get_by_role("button", name="Next month").click()
    month = starts.strftime("%B %Y")
    await dialog.get_by_role("button", name=re.compile(rf"^{starts.day} {month}: [1-9]\d* sessions?$")).click()
    option = f"{session['name']}, {starts.strftime('%H:%M')}"
    await dialog.get_by_role("listbox", name="Results").get_by_role("option", name=option, exact=True).click()
    await expect(main.get_by_role("heading", level=1)).to_contain_text(session["name"])
    await expect(details.get_by_role("link", name="Open session")).to_be_visible()


async def test_after_a_reconnect_the_chat_the_list_and_the_badges_resume_from_their_cursors(
    lea: Page, server: InboxServer
) -> None:
    opened, other = await claim_threads(server, 2)
    main = await open_chat(lea, opened["title"])
    before = await category_count(lea)
    await asyncio.to_thread(server.stop)
    await member_replies_while_the_server_is_down(server, opened, "Written while you were away")
    await member_replies_while_the_server_is_down(server, other, "Me too, while you were away")
    await asyncio.to_thread(server.start)
    history = main.get_by_role("list", name="Messages").get_by_role("listitem")
    await expect(history.filter(has_text="Written while you were away")).to_have_count(1, timeout=20_000)
    await until(lambda: _equals(_first_title(lea), other["title"]), timeout=20)
    await expect(item(lea, other["title"]).get_by_label("1 unread", exact=True)).to_be_visible()
    await until(lambda: _equals(category_count(lea), before + 1))  # the open chat was read on arrival
    await lea.wait_for_timeout(500)
    await expect(history.filter(has_text="Written while you were away")).to_have_count(1)  # once, not twice


async def test_the_list_scrolls_down_to_its_next_pages_and_the_history_up_to_older_messages(
    lea: Page, server: InboxServer
) -> None:
    total = (await api(server, "{ threads(category: MEMBER) { totalCount } }"))["threads"]["totalCount"]
    assert total > 30  # more than the first page
    await threads(lea).get_by_role("listitem").last.scroll_into_view_if_needed()
    await until(lambda: _equals(threads(lea).get_by_role("listitem").count(), total))
    assert len(set(await titles(lea))) == total

    (thread,) = await claim_threads(server, 1)
    for n in range(40):
        data = await api(server, """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
            userErrors { code } } }""", {"input": {"threadId": thread["id"], "channel": "EMAIL",
                                                   "body": f"Note {n:02d}"}})
        assert data["sendMessage"]["userErrors"] == []
    main = await open_chat(lea, thread["title"])
    history = main.get_by_role("list", name="Messages").get_by_role("listitem")
    await expect(history.filter(has_text="Note 39")).to_be_visible()
    await expect(history.filter(has_text="Note 00")).to_have_count(0)  # the newest page only
    await history.first.scroll_into_view_if_needed()
    await expect(history.filter(has_text="Note 00")).to_have_count(1)
    bodies = [b for b in await history.all_inner_texts() if "Note " in b]
    assert [re.search(r"Note \d\d", b).group() for b in bodies] == [f"Note {n:02d}" for n in range(40)]


async def test_signing_in_with_the_token_form_and_an_expired_session(browser: Browser, server: InboxServer) -> None:
    context = await offline_context(browser, server.url)
    page = await context.new_page()
    await page.goto(server.url)
    await page.get_by_role("textbox", name="Token").fill(staff_token("s3", ttl=timedelta(seconds=4)))
    await page.get_by_role("button", name="Sign in").click()
    await expect(threads(page).get_by_role("listitem").first).to_be_visible()
    await expect(page.get_by_role("alert")).to_have_text("Your session has expired", timeout=15_000)  # 4403
    await expect(page.get_by_role("textbox", name="Token")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('inbox.token')") is None

    await page.evaluate("t => sessionStorage.setItem('inbox.token', t)", staff_token("s3", ttl=timedelta(seconds=-5)))
    await page.reload()  # an expired token over HTTP: 401
    await expect(page.get_by_role("alert")).to_have_text("Your session has expired")
    await page.get_by_role("textbox", name="Token").fill(staff_token("s3"))
    await page.get_by_role("button", name="Sign in").click()
    await expect(threads(page).get_by_role("listitem").first).to_be_visible()
    await context.close()
