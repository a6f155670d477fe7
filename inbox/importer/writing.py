"""Writing a validated document in the caller's transaction with bulk statements: chunks of rows
are compared with the rows stored (one SELECT per chunk) and only new or changed rows are upserted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import importer as tuning  # the chunk sizes, read at call time (tests shrink them)
from inbox.changes import append_change
from inbox.importer.document import MessageIn, ThreadIn
from inbox.importer.results import ImportProblem, ImportSummary, Progress
from inbox.importer.rows import club_row, member_row, session_row, smartlist_row, staff_row
from inbox.importer.validation import REFERENCE_KINDS, ValidatedDocument
from inbox.vocabulary import TARGETS, Category, Direction, UpdateReason
from models.tables import (
    Booking,
    Club,
    Member,
    MemberTag,
    Message,
    Session,
    Smartlist,
    Staff,
    Thread,
    ThreadChange,
)

T = TypeVar("T")


def _table(model: Any) -> Table:
    """A model's Core table (declarative typing only promises a FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


CLUB = _table(Club)
STAFF = _table(Staff)
MEMBER = _table(Member)
MEMBER_TAG = _table(MemberTag)
SESSION = _table(Session)
BOOKING = _table(Booking)
SMARTLIST = _table(Smartlist)
THREAD = _table(Thread)
MESSAGE = _table(Message)
THREAD_CHANGE = _table(ThreadChange)

# The document names a thread's target kind in lower case ("member"); the vocabulary says the rest.
CATEGORIES = {category.lower(): category.value for category in Category}
TARGET_COLUMNS = {kind: TARGETS[Category(category)].thread_column for kind, category in CATEGORIES.items()}
REFERENCE_TABLES = {"member": MEMBER, "session": SESSION, "smartlist": SMARTLIST, "staff": STAFF}


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass
class _ThreadPlan:
    index: int
    kind: str
    target_id: int
    thread: ThreadIn
    thread_id: int | None = None
    last_seq: int = 0
    inbound_count: int = 0
    created: bool = False
    appended: bool = False


async def _ids_by_external_id(
    session: AsyncSession, table: Table, club_id: int, external_ids: Iterable[str]
) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(external_ids)), tuning.SELECT_CHUNK):
        rows = await session.execute(
            select(table.c.external_id, table.c.id).where(table.c.club_id == club_id, table.c.external_id.in_(chunk)))
        found.update((ext, row_id) for ext, row_id in rows)
    return found


async def check_references(
    session: AsyncSession, club_id: int | None, references: dict[str, dict[str, list[str]]]
) -> tuple[dict[str, dict[str, int]], list[ImportProblem]]:
    """Look up in the club's stored rows the ids the document refers to without defining them."""
    found_by_kind: dict[str, dict[str, int]] = {}
    problems: list[ImportProblem] = []
    for kind, wanted in references.items():
        if not wanted:
            continue
        found = await _ids_by_external_id(session, REFERENCE_TABLES[kind], club_id, wanted) if club_id else {}
        found_by_kind[kind] = found
        for ext_id, paths in wanted.items():
            if ext_id not in found:
                message = f"unknown {REFERENCE_KINDS[kind]} {ext_id!r}: not in this document nor in the club"
                problems.extend(ImportProblem(path, message) for path in paths)
    return found_by_kind, problems


class Writer:
    def __init__(self, session: AsyncSession, document: ValidatedDocument, progress: Progress | None,
                 club_id: int | None, referenced: dict[str, dict[str, int]]) -> None:
        self.session = session
        self.doc = document
        self.progress = progress or (lambda stage, done, total: None)
        self.dialect = session.get_bind().dialect.name
        self.summary = ImportSummary(club_slug=document.club.slug)
        self.club_id = club_id
        self.club_is_new = False
        # external id -> database id, for each kind (the document's rows and the ones it refers to).
        self.ids: dict[str, dict[str, int]] = {kind: dict(referenced.get(kind, {})) for kind in REFERENCE_KINDS}
        self.sessions_by_id = {s.id: s for s in document.sessions}

    # -- helpers ------------------------------------------------------------------------------------

    def _insert(self, table: Table) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        if self.dialect == "sqlite":
            return sqlite.insert(table)
        raise RuntimeError(f"unsupported database: {self.dialect}")

    def _upsert(self, table: Table, columns: Iterable[str]) -> Any:
        statement = self._insert(table)
        return statement.on_conflict_do_update(
            index_elements=[table.c.club_id, table.c.external_id],
            set_={name: statement.excluded[name] for name in columns if name not in ("club_id", "external_id")},
        )

    # -- checks that need the database ----------------------------------------------------------------

    async def check(self) -> list[ImportProblem]:
        """What only the database can tell: addresses owned by another club, staff emails taken by
        staff users the document does not mention. (References are checked by `check_references`.)"""
        problems: list[ImportProblem] = []
        club = self.doc.club
        for column, value, label in ((CLUB.c.sms_number, club.sms_number, "smsNumber"),
                                     (CLUB.c.inbound_email, club.inbound_email, "inboundEmail")):
            if value is None:
                continue
            other = await self.session.scalar(select(CLUB.c.slug).where(column == value, CLUB.c.slug != club.slug))
            if other is not None:
                problems.append(ImportProblem(f"$.club.{label}", f"{value!r} already belongs to club {other!r}"))
        if self.club_id is not None and self.doc.staff:
            documented = {s.id for s in self.doc.staff}
            rows = await self.session.execute(
                select(STAFF.c.external_id, STAFF.c.email_normalized).where(STAFF.c.club_id == self.club_id))
            stored = {email: ext for ext, email in rows if ext not in documented}
            for index, staff in enumerate(self.doc.staff):
                owner = stored.get(staff.email.casefold())
                if owner is not None:
                    problems.append(ImportProblem(
                        f"$.staff[{index}].email", f"email {staff.email!r} already belongs to staff user {owner!r}"))
        return problems

    # -- writing --------------------------------------------------------------------------------------

    async def write(self) -> ImportSummary:
        await self._club()
        club_id = self.club_id
        assert club_id is not None
        await self._rows("staff", STAFF, [staff_row(club_id, s) for s in self.doc.staff], "staff")
        await self._rows("members", MEMBER, [member_row(club_id, m) for m in self.doc.members], "member",
                         after_chunk=self._member_tags)
        await self._rows("sessions", SESSION, [session_row(club_id, s) for s in self.doc.sessions], "session",
                         after_chunk=self._bookings)
        await self._rows("smartlists", SMARTLIST, [smartlist_row(club_id, s) for s in self.doc.smartlists],
                         "smartlist")
        plans = await self._threads()
        await self._messages(plans)
        await self._log_changes(club_id, plans)
        return self.summary

    async def _club(self) -> None:
        row = club_row(self.doc.club)
        if self.club_id is None:
            inserted = await self.session.execute(self._insert(CLUB).values(row).returning(CLUB.c.id))
            self.club_id = inserted.scalar_one()
            self.club_is_new = True
            self.summary.club = "created"
            return
        stored = (await self.session.execute(
            select(*[CLUB.c[name] for name in row]).where(CLUB.c.id == self.club_id))).mappings().one()
        if any(stored[name] != value for name, value in row.items()):
            await self.session.execute(update(CLUB).where(CLUB.c.id == self.club_id).values(row))
            self.summary.club = "updated"

    async def _rows(
        self,
        stage: str,
        table: Table,
        rows: list[dict[str, Any]],
        kind: str,
        after_chunk: Callable[[Sequence[dict[str, Any]], dict[str, str]], Any] | None = None,
    ) -> None:
        """Upsert rows by (club_id, external_id): compare each chunk with the stored rows, write only
        the new and changed ones, and record every row's id."""
        counts = self.summary.counts[stage]
        ids = self.ids[kind]
        total = len(rows)
        self.progress(stage, 0, total)
        if not rows:
            return
        columns = [name for name in rows[0] if name != "club_id"]
        # RETURNING gives the new rows' ids: no SELECT back (whose plan, on PostgreSQL, knows nothing yet
        # of the rows this transaction just wrote).
        upsert = self._upsert(table, rows[0].keys()).returning(table.c.external_id, table.c.id)
        done = 0
        for chunk in _chunks(rows, tuning.WRITE_CHUNK):
            stored: dict[str, Any] = {}
            if not self.club_is_new:
                result = await self.session.execute(
                    select(table.c.id, *[table.c[name] for name in columns]).where(
                        table.c.club_id == self.club_id, table.c.external_id.in_([r["external_id"] for r in chunk])))
                stored = {row["external_id"]: row for row in result.mappings()}
            status: dict[str, str] = {}
            changed = []
            for row in chunk:
                old = stored.get(row["external_id"])
                if old is None:
                    status[row["external_id"]] = "created"
                    changed.append(row)
                elif any(old[name] != row[name] for name in columns):
                    status[row["external_id"]] = "updated"
                    changed.append(row)
                else:
                    status[row["external_id"]] = "unchanged"
                if old is not None:
                    ids[row["external_id"]] = old["id"]
            if changed:
                for external_id, row_id in await self.session.execute(upsert, changed):
                    ids[external_id] = row_id
            if after_chunk is not None:
                await after_chunk(chunk, status)
            for state in status.values():
                setattr(counts, state, getattr(counts, state) + 1)
            done += len(chunk)
            self.progress(stage, done, total)

    async def _member_tags(self, chunk: Sequence[dict[str, Any]], status: dict[str, str]) -> None:
        """Replace the tag rows of the members whose tags are new or changed."""
        ids = self.ids["member"]
        stale: list[int] = []
        rows: list[dict[str, Any]] = []
        for row in chunk:
            state = status[row["external_id"]]
            if state == "unchanged":
                continue
            member_id = ids[row["external_id"]]
            if state == "updated":
                stale.append(member_id)
            rows.extend({"club_id": self.club_id, "member_id": member_id, "tag": tag} for tag in row["tags"])
        if stale:
            # Comparing the tag rows would cost a query too; replacing them is as cheap and always right.
            await self.session.execute(delete(MEMBER_TAG).where(MEMBER_TAG.c.member_id.in_(stale)))
        if rows:
            await self.session.execute(self._insert(MEMBER_TAG), rows)

    async def _bookings(self, chunk: Sequence[dict[str, Any]], status: dict[str, str]) -> None:
        """Replace the bookings of the sessions whose bookings or waitlist changed (a changed session
        counts as updated)."""
        by_external = self.sessions_by_id
        members = self.ids["member"]
        wanted: dict[int, set[tuple[int, bool, int]]] = {}
        for row in chunk:
            source = by_external[row["external_id"]]
            session_id = self.ids["session"][row["external_id"]]
            wanted[session_id] = {(members[m], False, n) for n, m in enumerate(source.bookings, 1)} | {
                (members[m], True, n) for n, m in enumerate(source.waitlist, 1)}
        existing: dict[int, set[tuple[int, bool, int]]] = defaultdict(set)
        known = [sid for row in chunk if status[row["external_id"]] != "created"
                 for sid in [self.ids["session"][row["external_id"]]]]
        for part in _chunks(known, tuning.SELECT_CHUNK):
            result = await self.session.execute(
                select(BOOKING.c.session_id, BOOKING.c.member_id, BOOKING.c.waitlisted, BOOKING.c.position)
                .where(BOOKING.c.session_id.in_(part)))
            for session_id, member_id, waitlisted, position in result:
                existing[session_id].add((member_id, bool(waitlisted), position))
        replace: list[int] = []
        rows: list[dict[str, Any]] = []
        for row in chunk:
            session_id = self.ids["session"][row["external_id"]]
            if wanted[session_id] == existing.get(session_id, set()):
                continue
            if status[row["external_id"]] != "created":
                replace.append(session_id)
                status[row["external_id"]] = "updated"
            rows.extend({"club_id": self.club_id, "session_id": session_id, "member_id": member_id,
                         "waitlisted": waitlisted, "position": position}
                        for member_id, waitlisted, position in sorted(wanted[session_id], key=lambda b: (b[1], b[2])))
        for part in _chunks(replace, tuning.SELECT_CHUNK):
            await self.session.execute(delete(BOOKING).where(BOOKING.c.session_id.in_(part)))
        if rows:
            await self.session.execute(self._insert(BOOKING), rows)

    async def _threads(self) -> list[_ThreadPlan]:
        """Get or create the thread of each target; lock the existing ones (messages get numbered
        under the thread's row lock, as live messages do)."""
        plans: list[_ThreadPlan] = []
        for index, thread in enumerate(self.doc.threads):
            [(kind, ext)] = thread.target.given()
            plans.append(_ThreadPlan(index, kind, self.ids[kind][ext], thread))
        total = len(plans)
        self.progress("threads", 0, total)
        done = 0
        now = datetime.now(UTC)
        for kind, column_name in TARGET_COLUMNS.items():
            column = THREAD.c[column_name]
            of_kind = [plan for plan in plans if plan.kind == kind]
            for chunk in _chunks(of_kind, tuning.SELECT_CHUNK):
                by_target = {plan.target_id: plan for plan in chunk}
                if not self.club_is_new:
                    await self._load_threads(column, by_target)
                new = [plan for plan in chunk if plan.thread_id is None]
                if new:
                    rows = []
                    for plan in new:
                        first = min((m.created_at for m in plan.thread.messages), default=now)
                        rows.append({"club_id": self.club_id, "category": CATEGORIES[kind],
                                     "member_id": plan.target_id if kind == "member" else None,
                                     "smartlist_id": plan.target_id if kind == "smartlist" else None,
                                     "session_id": plan.target_id if kind == "session" else None,
                                     "created_at": first, "sort_at": first, "last_seq": 0, "inbound_count": 0,
                                     "history_seq": 0, "history_inbound_count": 0})
                        plan.created = True
                    statement = self._insert(THREAD).on_conflict_do_nothing(
                        index_elements=[THREAD.c.club_id, column], index_where=column.is_not(None),
                    ).returning(column, THREAD.c.id)
                    for target_id, thread_id in await self.session.execute(statement, rows):
                        by_target[target_id].thread_id = thread_id
                    raced = {plan.target_id: plan for plan in new if plan.thread_id is None}
                    if raced:  # created meanwhile by someone else (PostgreSQL): use it
                        await self._load_threads(column, raced)
                        for plan in raced.values():
                            plan.created = False
                done += len(chunk)
                self.progress("threads", done, total)
        return plans

    async def _log_changes(self, club_id: int, plans: list[_ThreadPlan]) -> None:
        """Stamp the threads created or given history, as live changes are (inbox.changes), in bulk:
        a client resuming threadUpdated from before the import then catches up with them. The first
        change takes the club's next stamp; the others follow it, as no one else takes a stamp after
        one that is not committed."""
        changed = [plan for plan in plans if plan.created or plan.appended]
        if not changed:
            return
        head = changed[0]
        assert head.thread_id is not None  # every plan has its thread by now (_threads)
        first = await append_change(self.session, club_id=club_id, thread_id=head.thread_id,
                                    reason=_change_reason(head))
        now = datetime.now(UTC)
        stamps = [(plan, first + number) for number, plan in enumerate(changed)]
        stamp = update(THREAD).where(THREAD.c.id == bindparam("b_id", type_=THREAD.c.id.type)).values(
            change_seq=bindparam("b_seq", type_=THREAD.c.change_seq.type))
        for chunk in _chunks(stamps, tuning.WRITE_CHUNK):
            await self.session.execute(stamp, [{"b_id": plan.thread_id, "b_seq": seq} for plan, seq in chunk])
            rows = [{"club_id": club_id, "seq": seq, "thread_id": plan.thread_id, "staff_id": None,
                     "reason": _change_reason(plan), "message_id": None, "created_at": now}
                    for plan, seq in chunk if plan is not head]
            if rows:
                await self.session.execute(self._insert(THREAD_CHANGE), rows)

    async def _load_threads(self, column: Any, by_target: dict[int, _ThreadPlan]) -> None:
        statement = (
            select(column, THREAD.c.id, THREAD.c.last_seq, THREAD.c.inbound_count)
            .where(THREAD.c.club_id == self.club_id, column.in_(list(by_target)))
        )
        if self.dialect == "postgresql":
            statement = statement.with_for_update()
        for target_id, thread_id, last_seq, inbound_count in (await self.session.execute(statement)):
            plan = by_target[target_id]
            plan.thread_id, plan.last_seq, plan.inbound_count = thread_id, last_seq, inbound_count

    async def _messages(self, plans: list[_ThreadPlan]) -> None:
        """Append each thread's new messages after its existing ones, in batches of whole threads."""
        total = sum(len(plan.thread.messages) for plan in plans)
        self.progress("messages", 0, total)
        has_imported = not self.club_is_new and bool(await self.session.scalar(
            select(exists().where(MESSAGE.c.club_id == self.club_id, MESSAGE.c.external_id.is_not(None)))))
        known = await self._all_imported_message_ids() if has_imported and total > tuning.MESSAGE_LOOKUP_LIMIT \
            else None
        done = 0
        for batch in _thread_batches(plans, tuning.MESSAGE_CHUNK):
            existing = known if known is not None else (
                await self._imported_message_ids(batch) if has_imported else set())
            await self._append_messages(batch, existing)
            done += sum(len(plan.thread.messages) for plan in batch)
            self.progress("messages", done, total)

    async def _all_imported_message_ids(self) -> set[str]:
        """Many messages: one pass over the club's imported ids beats a thousand IN (...) lookups, and
        does not depend on the planner's statistics (stale right after a big import)."""
        known: set[str] = set()
        result = await self.session.stream_scalars(
            select(MESSAGE.c.external_id).where(MESSAGE.c.club_id == self.club_id, MESSAGE.c.external_id.is_not(None))
            .execution_options(yield_per=20_000))
        async for external_id in result:
            known.add(external_id)
        return known

    async def _imported_message_ids(self, batch: Sequence[_ThreadPlan]) -> set[str]:
        existing: set[str] = set()
        ids = [m.id for plan in batch for m in plan.thread.messages]
        for chunk in _chunks(ids, tuning.SELECT_CHUNK):
            result = await self.session.execute(select(MESSAGE.c.external_id).where(
                MESSAGE.c.club_id == self.club_id, MESSAGE.c.external_id.in_(chunk)))
            existing.update(result.scalars())
        return existing

    async def _append_messages(self, batch: Sequence[_ThreadPlan], existing: set[str]) -> None:
        """Insert a batch's new messages, then set each thread's counters and last message at once."""
        rows: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        last_external: dict[str, dict[str, Any]] = {}
        for plan in batch:
            fresh = self._count_fresh(plan, existing)
            if not fresh:
                continue
            update_row = self._message_rows(plan, fresh, rows)
            updates.append(update_row)
            last_external[fresh[-1].id] = update_row
        insert = self._insert(MESSAGE).returning(MESSAGE.c.external_id, MESSAGE.c.id)
        for chunk in _chunks(rows, tuning.MESSAGE_CHUNK):
            for external_id, message_id in await self.session.execute(insert, list(chunk)):
                if external_id in last_external:
                    last_external[external_id]["b_last_id"] = message_id
        if updates:
            await self.session.execute(_THREAD_COUNTERS, updates)

    def _count_fresh(self, plan: _ThreadPlan, existing: set[str]) -> list[MessageIn]:
        """The thread's messages not imported before, oldest first; counted in the summary."""
        counts = self.summary.counts
        fresh = sorted((m for m in plan.thread.messages if m.id not in existing), key=lambda m: m.created_at)
        counts["messages"].unchanged += len(plan.thread.messages) - len(fresh)
        counts["messages"].created += len(fresh)
        kind = "created" if plan.created else "updated" if fresh else "unchanged"
        setattr(counts["threads"], kind, getattr(counts["threads"], kind) + 1)
        return fresh

    def _message_rows(self, plan: _ThreadPlan, fresh: list[MessageIn], rows: list[dict[str, Any]]) -> dict[str, Any]:
        """Add the thread's new message rows (numbered after its last); answer its counters' update."""
        plan.appended = True
        staff_ids = self.ids["staff"]
        seq, inbound = plan.last_seq, plan.inbound_count
        for message in fresh:
            seq += 1
            is_inbound = message.direction == Direction.INBOUND
            inbound += is_inbound
            rows.append({
                "club_id": self.club_id, "thread_id": plan.thread_id, "seq": seq,
                "direction": message.direction, "channel": message.channel,
                "staff_id": staff_ids[message.staff] if message.staff is not None else None,
                "member_id": plan.target_id if is_inbound and plan.kind == "member" else None,
                "subject": message.subject, "body": message.body, "created_at": message.created_at,
                "external_id": message.id,
            })
        return {"b_id": plan.thread_id, "b_last_seq": seq, "b_last_at": fresh[-1].created_at, "b_last_id": None,
                "b_inbound": inbound}


def _change_reason(plan: _ThreadPlan) -> str:
    return UpdateReason.CREATED if plan.created else UpdateReason.MESSAGE_ADDED


def _thread_batches(plans: Sequence[_ThreadPlan], size: int) -> Iterator[list[_ThreadPlan]]:
    """Whole threads, about `size` messages per batch."""
    batch: list[_ThreadPlan] = []
    count = 0
    for plan in plans:
        batch.append(plan)
        count += len(plan.thread.messages)
        if count >= size:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


_LAST_SEQ = bindparam("b_last_seq", type_=THREAD.c.last_seq.type)
_LAST_AT = bindparam("b_last_at", type_=THREAD.c.last_message_at.type)
_INBOUND = bindparam("b_inbound", type_=THREAD.c.inbound_count.type)
# Imported messages are history: read for every viewer (history_seq, history_inbound_count).
_THREAD_COUNTERS = (
    update(THREAD).where(THREAD.c.id == bindparam("b_id", type_=THREAD.c.id.type)).values(
        last_seq=_LAST_SEQ, last_message_at=_LAST_AT, sort_at=_LAST_AT,
        last_message_id=bindparam("b_last_id", type_=THREAD.c.last_message_id.type),
        inbound_count=_INBOUND, history_seq=_LAST_SEQ, history_inbound_count=_INBOUND)
)
