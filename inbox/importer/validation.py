"""Checking a whole document without the database: each item against its model, then the rules
that span items (ids unique per list, references, one thread per target); every problem is
collected with its JSON path."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import (
    ValidationError,
)

from inbox.importer.document import (
    SECTIONS,
    ClubIn,
    MemberIn,
    SessionIn,
    SmartlistIn,
    StaffIn,
    ThreadIn,
)
from inbox.importer.results import ImportErrors, ImportProblem, Progress
from inbox.smartlists import validate_filters
from inbox.vocabulary import Channel, Direction

T = TypeVar("T")

# What a reference names: the table holding it and how problems call it.
REFERENCE_KINDS = {"member": "member", "session": "session", "smartlist": "smartlist", "staff": "staff user"}


@dataclass
class ValidatedDocument:
    """The document, checked and normalised (phones E.164, date-times aware UTC, emails stripped).

    `references` holds the ids the document refers to without defining them ("member" ->
    {"m9": ["$.sessions[0].bookings[2]"]}): rows of a previous import, which only the database can
    confirm (`import_document` does).
    """

    club: ClubIn
    staff: list[StaffIn]
    members: list[MemberIn]
    sessions: list[SessionIn]
    smartlists: list[SmartlistIn]
    threads: list[ThreadIn]
    references: dict[str, dict[str, list[str]]]


def _path(loc: Iterable[Any]) -> str:
    out = "$"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += f"[{str(part)!r}]"
    return out


_MESSAGES_BY_TYPE = {
    "missing": "is required",
    "extra_forbidden": "unknown field",
    "model_type": "expected a JSON object",
    "model_attributes_type": "expected a JSON object",
    "dict_type": "expected a JSON object",
    "list_type": "expected a JSON array",
    "string_type": "expected a string",
    "bool_type": "expected true or false",
    "int_type": "expected a whole number",
    "string_too_short": "must not be empty",
}


def _problems_from(error: ValidationError, prefix: tuple[Any, ...]) -> list[ImportProblem]:
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        message = _MESSAGES_BY_TYPE.get(item["type"]) or str(item["msg"]).removeprefix("Value error, ")
        problems.append(ImportProblem(_path(prefix + tuple(item["loc"])), message))
    return problems


def problem_order(problem: ImportProblem) -> tuple[int, int]:
    match = re.match(r"\$\.(\w+)(?:\[(\d+)\])?", problem.path)
    if not match:
        return (-1, 0)
    section = SECTIONS.index(match.group(1)) if match.group(1) in SECTIONS else -1
    return (section, int(match.group(2) or 0))


class Validator:
    def __init__(self, progress: Progress | None = None) -> None:
        self.problems: list[ImportProblem] = []
        self.references: dict[str, dict[str, list[str]]] = {kind: {} for kind in REFERENCE_KINDS}
        self.progress = progress
        # The club's slug as written, to look references up even when the club part has problems.
        self.slug: str | None = None

    def problem(self, path: str, message: str) -> None:
        self.problems.append(ImportProblem(path, message))

    def run(self, document: Any) -> ValidatedDocument | None:
        if not isinstance(document, dict):
            self.problem("$", "expected a JSON object with a \"club\"")
            return None
        for key in document:
            if key not in SECTIONS:
                self.problem(_path([key]), f"unknown field (expected {', '.join(SECTIONS)})")
        raw_club = document.get("club")
        if isinstance(raw_club, dict) and isinstance(raw_club.get("slug"), str):
            self.slug = raw_club["slug"].strip()
        club = self._club(raw_club)
        context = {"country": club.country if club else None,
                   "tz": ZoneInfo(club.timezone) if club else None,
                   "club_invalid": club is None}
        lists = {name: self._list(document, name) for name in SECTIONS[1:]}
        raw_ids = {name: self._raw_ids(items) for name, items in lists.items()}
        staff = self._items("staff", lists["staff"], StaffIn, context)
        members = self._items("members", lists["members"], MemberIn, context)
        sessions = self._items("sessions", lists["sessions"], SessionIn, context)
        smartlists = self._items("smartlists", lists["smartlists"], SmartlistIn, context)
        threads = self._items("threads", lists["threads"], ThreadIn, context)

        self._unique_ids("staff", staff)
        self._unique_ids("members", members)
        self._unique_ids("sessions", sessions)
        self._unique_ids("smartlists", smartlists)
        self._staff_emails(staff)
        self._sessions(sessions, raw_ids["members"])
        self._smartlists(smartlists)
        self._threads(threads, raw_ids, lists["threads"])
        if club is None:
            return None
        return ValidatedDocument(
            club=club,
            staff=[item for _, item in staff],
            members=[item for _, item in members],
            sessions=[item for _, item in sessions],
            smartlists=[item for _, item in smartlists],
            threads=[item for _, item in threads],
            references={kind: refs for kind, refs in self.references.items()},
        )

    def _club(self, raw: Any) -> ClubIn | None:
        if raw is None:
            self.problem("$.club", "is required")
            return None
        try:
            return ClubIn.model_validate(raw)
        except ValidationError as exc:
            self.problems.extend(_problems_from(exc, ("club",)))
            return None

    def _list(self, document: dict[str, Any], name: str) -> list[Any]:
        value = document.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(_path([name]), "expected a JSON array")
            return []
        return value

    @staticmethod
    def _raw_ids(items: list[Any]) -> set[str]:
        """Ids of the items as written, valid or not: a reference to an item that has problems of its
        own is not reported as unknown too."""
        return {item["id"].strip() for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)}

    def _items(self, name: str, items: list[Any], model: type[T], context: dict[str, Any]) -> list[tuple[int, T]]:
        valid = []
        validate = model.model_validate  # type: ignore[attr-defined]
        total = len(items)
        for index, raw in enumerate(items):
            try:
                valid.append((index, validate(raw, context=context)))
            except ValidationError as exc:
                self.problems.extend(_problems_from(exc, (name, index)))
            if self.progress and (index + 1) % 5000 == 0:
                self.progress(f"check {name}", index + 1, total)
        if self.progress and total:
            self.progress(f"check {name}", total, total)
        return valid

    def _unique_ids(self, name: str, items: list[tuple[int, Any]]) -> None:
        first: dict[str, int] = {}
        for index, item in items:
            if item.id in first:
                self.problem(f"$.{name}[{index}].id", f"duplicate id {item.id!r} (also $.{name}[{first[item.id]}])")
            else:
                first[item.id] = index

    def _staff_emails(self, staff: list[tuple[int, StaffIn]]) -> None:
        first: dict[str, int] = {}
        for index, item in staff:
            key = item.email.casefold()
            if key in first:
                self.problem(f"$.staff[{index}].email",
                             f"email {item.email!r} is already the email of $.staff[{first[key]}]")
            else:
                first[key] = index

    def _reference(self, kind: str, ext_id: str, known: set[str], path: str) -> None:
        if ext_id not in known:
            self.references[kind].setdefault(ext_id, []).append(path)

    def _sessions(self, sessions: list[tuple[int, SessionIn]], member_ids: set[str]) -> None:
        for index, item in sessions:
            base = f"$.sessions[{index}]"
            if item.ends_at <= item.starts_at:
                self.problem(f"{base}.endsAt", "must be after startsAt")
            booked: dict[str, int] = {}
            for position, member in enumerate(item.bookings):
                path = f"{base}.bookings[{position}]"
                if member in booked:
                    self.problem(path, f"member {member!r} is booked twice (also bookings[{booked[member]}])")
                    continue
                booked[member] = position
                self._reference("member", member, member_ids, path)
            waiting: dict[str, int] = {}
            for position, member in enumerate(item.waitlist):
                path = f"{base}.waitlist[{position}]"
                if member in booked:
                    self.problem(path, f"member {member!r} is both booked (bookings[{booked[member]}]) and waitlisted")
                    continue
                if member in waiting:
                    self.problem(path, f"member {member!r} is waitlisted twice (also waitlist[{waiting[member]}])")
                    continue
                waiting[member] = position
                self._reference("member", member, member_ids, path)

    def _smartlists(self, smartlists: list[tuple[int, SmartlistIn]]) -> None:
        """The filter language's own validation (inbox.smartlists), with the document's paths."""
        for index, item in smartlists:
            raw = [{"field": rule.field, "operator": rule.operator, "values": rule.values} for rule in item.filters]
            _, errors = validate_filters(raw, path=())
            for error in errors:
                number, part = error.field or ("0", "values")
                self.problem(f"$.smartlists[{index}].filters[{number}].{part}", error.message)

    def _threads(self, threads: list[tuple[int, ThreadIn]], raw_ids: dict[str, set[str]], raw: list[Any]) -> None:
        known = {"member": raw_ids["members"], "smartlist": raw_ids["smartlists"], "session": raw_ids["sessions"]}
        targets: dict[tuple[str, str], int] = {}
        message_ids: dict[str, str] = {}
        # Message ids of threads that failed validation still count, so a duplicate is seen once.
        for index, thread in enumerate(raw):
            if isinstance(thread, dict) and isinstance(thread.get("messages"), list):
                for number, message in enumerate(thread["messages"]):
                    if isinstance(message, dict) and isinstance(message.get("id"), str):
                        message_ids.setdefault(message["id"].strip(), f"$.threads[{index}].messages[{number}]")
        for index, thread in threads:
            base = f"$.threads[{index}]"
            given = thread.target.given()
            kind = None
            if len(given) != 1:
                self.problem(f"{base}.target", "give exactly one of member, smartlist or session")
            else:
                kind, target = given[0]
                if (kind, target) in targets:
                    self.problem(f"{base}.target",
                                 f"another thread has the same target ($.threads[{targets[kind, target]}])")
                else:
                    targets[kind, target] = index
                self._reference(kind, target, known[kind], f"{base}.target.{kind}")
            for number, message in enumerate(thread.messages):
                path = f"{base}.messages[{number}]"
                if message_ids.get(message.id, path) != path:
                    self.problem(f"{path}.id", f"duplicate message id {message.id!r} (also {message_ids[message.id]})")
                if message.direction == Direction.INBOUND:
                    if message.staff is not None:
                        self.problem(f"{path}.staff", "an inbound message is written by the member, not by staff")
                    if kind is not None and kind != "member":
                        self.problem(f"{path}.direction", "inbound messages belong to member threads only")
                elif message.staff is not None:
                    self._reference("staff", message.staff, raw_ids["staff"], f"{path}.staff")
                if message.channel == Channel.SMS and message.subject is not None:
                    self.problem(f"{path}.subject", "an SMS has no subject")


def validate(document: Any, progress: Progress | None = None) -> tuple[ValidatedDocument | None, list[ImportProblem]]:
    validator = Validator(progress)
    result = validator.run(document)
    return result, validator.problems


def validate_document(document: Any) -> ValidatedDocument:
    """Check a parsed import document without touching the database.

    Raises `ImportErrors` with every problem found. References to ids the document does not define are
    not problems here (they may name rows of a previous import): they are listed in
    `ValidatedDocument.references`, and `import_document` checks them against the database.
    """
    result, problems = validate(document)
    if problems or result is None:
        raise ImportErrors(sorted(problems, key=problem_order))
    return result
