"""The read path's cost and its shortcut (issue: performance).

Statement counts of the pages a frontend reads, pinned so a regression fails CI: a repeated request
authenticates from the principal cache (staff user and club included), a thread page is one
statement (threads, viewer state, targets, last messages, the club's change stamp and the count), a
history page brings each message's author with it. And the execution shortcut for plain attributes
(schema/execution.py) answers exactly what graphql-core alone answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.factory import create_app
from inbox.settings import Settings
from models.engine import begin_write, club_session
from schema import execution
from tests.factories import ClubFixture, graphql
from tests.inbox_client import StaffClient
from tests.statements import CONTROL, statements, wire

# What the web inbox's list asks (the union target, the preview, the flags, the cursors).
THREADS_PAGE = """query($status: ThreadStatusFilter, $after: String) {
  threads(category: MEMBER, status: $status, first: 50, after: $after) {
    totalCount updatesCursor pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id title unreadCount activityAt isFavorite isMuted isArchived sortKey readCursor latestCursor
      lastMessage { id preview direction channel createdAt }
      target { __typename ... on Member { id fullName email phone tags } }
    } }
  } }"""
HISTORY_PAGE = """query($id: ID!) { thread(id: $id) { id title messages(last: 30) {
  pageInfo { hasPreviousPage startCursor }
  edges { cursor node { id direction channel subject body createdAt
    author { __typename ... on Staff { name } ... on Member { fullName } }
    deliverySummary { total queued sent delivered failed skipped } } } } } }"""
MEMBER_PICKER = """query($search: String) { members(search: $search, first: 20) {
  edges { node { id fullName email phone tags thread { id unreadCount } } } } }"""


@pytest.fixture
async def busy_club(http: httpx.AsyncClient, club: ClubFixture,
                    sessions: async_sessionmaker[AsyncSession]) -> tuple[StaffClient, str]:
    """A club whose member threads hold messages of both directions, a favorite and a muted thread."""
    lea = StaffClient(http, club, sessions, "s1")
    first = None
    for number, member in enumerate(sorted(club.member_ids)):
        thread = (await lea.start("Member", member))["id"]
        first = first or thread
        await lea.send(thread, f"Hello {member}")
        await lea.reply(member, f"Thanks from {member}")
        if number == 1:
            await lea.action("setThreadFavorite", thread, True)
        if number == 2:
            await lea.action("setThreadMuted", thread, True)
    assert first is not None
    return lea, first


async def count(app: Any, lea: StaffClient, query: str, variables: dict[str, Any]) -> tuple[int, list[str]]:
    await lea.ok(query, variables)  # the first request authenticates; the next ones use the cache
    with statements(app) as sent:
        await lea.ok(query, variables)
    return len(sent), sent


async def test_a_thread_page_is_one_statement_with_or_without_a_cursor(
    app: Any, busy_club: tuple[StaffClient, str]
) -> None:
    lea, _ = busy_club
    n, sent = await count(app, lea, THREADS_PAGE, {"status": None})
    assert n == 1, sent
    page = await lea.ok(THREADS_PAGE, {"status": "ALL"})
    after = page["threads"]["edges"][1]["cursor"]
    for status in ("ALL", "UNREAD"):
        n, sent = await count(app, lea, THREADS_PAGE, {"status": status, "after": after})
        assert n == 1, (status, sent)
    for status in ("FAVORITES", "MUTED"):
        n, sent = await count(app, lea, THREADS_PAGE, {"status": status})
        assert n == 1, (status, sent)
    # An empty page has no row to carry the change stamp and the count: they take a statement each.
    n, sent = await count(app, lea, THREADS_PAGE, {"status": "FAVORITES", "after": after})
    assert n == 3, sent


async def test_reads_run_outside_a_transaction_and_writes_inside_one(
    app: Any, busy_club: tuple[StaffClient, str], database_url: str
) -> None:
    """On PostgreSQL a page's statements go alone: no BEGIN and ROLLBACK round trips around them."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's transactions are local: no round trip to save")
    lea, thread = busy_club
    await lea.ok(THREADS_PAGE, {"status": None})
    with wire(app) as sent:
        await lea.ok(THREADS_PAGE, {"status": None})
        await lea.ok(HISTORY_PAGE, {"id": thread})
    assert not [query for query in sent if query.upper().startswith(CONTROL)], sent
    with wire(app) as sent:
        await lea.action("setThreadFavorite", thread, True)
    assert sent[0].upper().startswith("BEGIN") and sent[1].upper().startswith("COMMIT"), sent


async def test_a_write_in_a_read_session_fails_before_writing(app: Any, club: ClubFixture) -> None:
    async with club_session(app.state.services.read_sessions, club.club_id) as session:
        with pytest.raises(RuntimeError, match="read session"):
            await begin_write(session)


async def test_a_history_page_brings_its_authors_and_costs_three_statements(
    app: Any, busy_club: tuple[StaffClient, str]
) -> None:
    lea, thread = busy_club
    n, sent = await count(app, lea, HISTORY_PAGE, {"id": thread})
    assert n == 3, sent  # the thread, its messages with their authors, the delivery summaries


async def test_the_member_picker_costs_two_statements_and_unread_counts_one(
    app: Any, busy_club: tuple[StaffClient, str]
) -> None:
    lea, _ = busy_club
    assert (await count(app, lea, MEMBER_PICKER, {"search": "e"}))[0] == 2  # members, then their threads
    assert (await count(app, lea, "{ unreadCounts { id total } }", {}))[0] == 1
    assert (await count(app, lea, "{ viewer { id name } club { name timezone } }", {}))[0] == 0


@pytest.fixture
async def plain_app(settings: Settings) -> AsyncIterator[Any]:
    """The same app over the same database, executing with graphql-core alone."""
    application = create_app(settings.model_copy(update={"fast_execution": False}), run_dispatcher=False)
    async with application.router.lifespan_context(application):
        yield application


PARITY_DOCUMENTS = [
    (THREADS_PAGE, {"status": "ALL"}),
    ("""query($n: Int) { threads(category: MEMBER, first: 5) { edges { node { lastMessage {
         preview short: preview(length: 5) none: preview(length: $n) } } } } }""", {"n": None}),
    (THREADS_PAGE, {"status": "UNREAD"}),
    (HISTORY_PAGE, None),
    (MEMBER_PICKER, {"search": "dupont"}),
    ("""{ a: unreadCounts { id members smartlists sessions total } viewer { __typename id name email }
         club { id name timezone country currency addons receivesSmsReplies } }""", None),
    ("""query($id: ID!) { node(id: $id) { __typename id ...T } nodes(ids: [$id, "Zm9vOjE", "junk"]) { id } }
        fragment T on Thread { category title createdAt target { ... on Member { memberNumber registeredAt
          birthDate accountBalance { amount currency } address { city country } emergencyContact { name }
          unpaidInvoicesCount documentsCount notesCount profileUrl barcode barcodeSvg } } }""", None),
    ("""{ smartlists(first: 5) { totalCount edges { node { name description filterTypes memberCount
          filters { field operator values } url } } }
        sessions(from: "2020-01-01T00:00:00Z", to: "2030-01-01T00:00:00Z", first: 5) {
          edges { node { name startsAt endsAt level isOnline capacity bookedCount occupancyRate
            teacher { name } room { name } } } } }""", None),
    ("{ threads(category: SESSION, first: 0) { totalCount } }", None),
    ("{ threads(category: NOPE) { totalCount } }", None),
    ("{ viewer { nope } }", None),
]


@pytest.mark.parametrize(("document", "variables"), PARITY_DOCUMENTS)
async def test_the_execution_shortcut_answers_exactly_what_graphql_core_answers(
    app: Any, plain_app: Any, busy_club: tuple[StaffClient, str], document: str, variables: dict[str, Any] | None
) -> None:
    lea, thread = busy_club
    variables = {"id": thread} if variables is None and "$id" in document else variables
    answers = []
    for application in (app, plain_app):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            answers.append(await graphql(client, document, variables, token=lea.club.token("s1"), expect_status=None))
    assert answers[0] == answers[1]


async def test_the_threads_page_is_completed_by_one_compiled_selection(
    app: Any, settings: Settings, busy_club: tuple[StaffClient, str]
) -> None:
    """Below `threads`, every field the web inbox selects is plain: the page is one compiled completion."""
    if not settings.fast_execution:
        pytest.skip("this pass runs graphql-core's executor alone (INBOX_FAST_EXECUTION=0)")
    lea, _ = busy_club
    await lea.ok(THREADS_PAGE, {"status": "ALL"})
    before = dict(execution.COMPILED)
    data = await lea.ok(THREADS_PAGE, {"status": "ALL"})
    assert data["threads"]["edges"]
    assert execution.COMPILED["completed"] - before.get("completed", 0) == 1
    assert execution.COMPILED["fell_back"] == before.get("fell_back", 0)


@pytest.mark.parametrize("members", [None, frozenset({"id", "first_name", "last_name", "email", "tags"})])
async def test_a_read_statement_sent_as_its_sql_reads_what_sqlalchemy_reads(
    app: Any, busy_club: tuple[StaffClient, str], database_url: str, members: frozenset[str] | None
) -> None:
    """On asyncpg a read session's page statement goes as its compiled SQL (models/rows.py): the rows,
    their objects and values (dates, JSON, decimals) are those of SQLAlchemy's own execution."""
    from inbox import threads
    from models.rows import _DirectStatement

    lea, _ = busy_club
    page = await lea.ok(THREADS_PAGE, {"status": "ALL"})
    after = page["threads"]["edges"][1]["cursor"]
    statement = threads._plain_list_statement("MEMBER", "ALL", "all", False, members)
    viewer_id = lea.club.staff_ids["s1"]
    key = threads.decode_key(after, threads.thread_list_digest(viewer_id, "MEMBER"), int, int, int)
    assert key is not None
    values = {"viewer_id": viewer_id, "page_limit": 51, "key_favorite": key[0],
              "key_at": threads._from_micros(key[1]), "key_id": key[2]}
    services = app.state.services
    async with club_session(services.read_sessions, lea.club.club_id) as session:
        direct = await statement.rows(session, values)
        connection = await session.connection()
        expected = [statement.build(row) for row in
                    (await connection.execute(statement.statement, {**values, "club_id": lea.club.club_id})).all()]
    assert len(direct) == len(expected) > 0
    def plain(row: tuple[Any, ...]) -> list[Any]:  # the objects' column values (they compare by identity)
        return [tuple(part) if isinstance(part, tuple) else part for part in row]
    assert [plain(row) for row in direct] == [plain(row) for row in expected]
    sent_directly = _DirectStatement.of(statement.statement, connection.dialect) is not None
    assert sent_directly == database_url.startswith("postgresql")


RICH_TARGETS = """query { threads(category: MEMBER, first: 50) { edges { node { id title target {
  __typename ... on Node { id } ...Details ... on Smartlist { name description } } } } } }
fragment Details on Member { fullName memberNumber birthDate accountBalance { amount currency } address { city }
  emergencyContact { name } profileUrl barcodeSvg acceptsSms }"""
MEMBER_DETAILS = """query($id: ID!) { node(id: $id) { ... on Member { id fullName memberNumber birthDate
  accountBalance { amount currency } address { city } emergencyContact { name } profileUrl barcodeSvg acceptsSms
} } }"""


async def test_a_thread_page_reads_only_the_member_columns_its_selection_reads(
    app: Any, busy_club: tuple[StaffClient, str]
) -> None:
    """Look-ahead (schema.selection.selected_fields): the web inbox's page reads a member's name,
    contact and tags, not the rest of the row (search keys, address, balance...); a page that asks
    for more reads it, and answers what the member itself answers."""
    lea, _ = busy_club
    await lea.ok(THREADS_PAGE, {"status": "ALL"})
    with statements(app) as sent:
        await lea.ok(THREADS_PAGE, {"status": "ALL"})
    [page_sql] = sent
    assert "member.email" in page_sql and "member.tags" in page_sql
    for unread in ("search_text", "account_balance", "address_city", "birth_date", "member_number"):
        assert f"member.{unread}" not in page_sql, unread
    with statements(app) as sent:
        rich = await lea.ok(RICH_TARGETS)
    assert "member.account_balance" in sent[0] and "member.emergency_name" in sent[0]
    targets = [edge["node"]["target"] for edge in rich["threads"]["edges"]]
    assert targets and all(target["__typename"] == "Member" for target in targets)
    for target in targets:
        own = (await lea.ok(MEMBER_DETAILS, {"id": target["id"]}))["node"]
        assert {key: target[key] for key in own} == own


def test_every_member_field_says_which_columns_it_reads() -> None:
    """A new Member field must say what it reads (until it does, a thread page selecting it reads whole rows)."""
    from schema import build_schema
    from schema.types.members import _FIELD_COLUMNS

    member_type = build_schema()._schema.type_map["Member"]
    assert set(member_type.fields) | {"__typename"} == set(_FIELD_COLUMNS)


async def test_in_lists_are_sent_as_one_array_and_read_what_sqlalchemy_reads(
    app: Any, busy_club: tuple[StaffClient, str], database_url: str
) -> None:
    """A statement of views by ids goes directly with its list bound as one PostgreSQL array
    (`= ANY($n)`, models.rows): the same rows as SQLAlchemy's expanding IN list, an empty list too."""
    from inbox import threads

    lea, _ = busy_club
    statement = threads._views_statement(None)
    viewer_id = lea.club.staff_ids["s1"]
    page = await lea.ok(THREADS_PAGE, {"status": "ALL"})
    ids = [*(await _thread_pks(page)), 10**12]
    services = app.state.services
    for wanted in (ids, ids[:1], []):
        values = {"viewer_id": viewer_id, "ids": wanted}
        async with club_session(services.read_sessions, lea.club.club_id) as session:
            direct = await statement.rows(session, values)
            connection = await session.connection()
            expected = [statement.build(row) for row in (await connection.execute(
                statement.statement, {**values, "club_id": lea.club.club_id})).all()]

        def plain(row: tuple[Any, ...]) -> list[Any]:
            return [tuple(part) if isinstance(part, tuple) else part for part in row]
        assert sorted(map(plain, direct), key=str) == sorted(map(plain, expected), key=str)
        assert len(direct) == len([pk for pk in wanted if pk != 10**12])
    sent = statement._direct(connection.dialect)
    assert (sent is not None) == database_url.startswith("postgresql")
    assert sent is None or "= ANY (" in sent.sql


async def _thread_pks(page: dict[str, Any]) -> list[int]:
    from resolvers.ids import decode_id

    decoded = [decode_id(edge["node"]["id"], "Thread") for edge in page["threads"]["edges"]]
    return [pair[1] for pair in decoded if pair is not None]
