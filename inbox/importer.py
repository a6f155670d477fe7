"""Loading a club's data from its JSON document (docs/import.md).

Two steps, so that nothing is written when anything is wrong:

1. `validate_document` checks the whole document without touching the database: types and formats
   (pydantic models with the document's camelCase names), then the rules that span fields and items
   (ids unique per list, references, one thread per target...). Every problem is collected, each with
   its JSON path ("$.members[3].registeredAt").
2. `import_document` also checks what needs the database (references to rows of a previous import,
   addresses owned by another club), then writes everything in ONE transaction with bulk statements:
   chunks of rows are compared with the rows already stored (one SELECT per chunk) and only new or
   changed rows are upserted (`INSERT ... ON CONFLICT (club_id, external_id) DO UPDATE`).

Re-importing updates and adds, never deletes. Messages already imported (by their id, unique per club)
are never modified; new messages of an existing thread are appended after its existing ones.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from sqlalchemy import Table, bindparam, delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.phones import InvalidPhone, searchable_digits, to_e164
from inbox.smartlists import validate_filters
from inbox.text import fold, member_search_text
from models.engine import begin_write
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

__all__ = [
    "ImportErrors",
    "ImportProblem",
    "ImportSummary",
    "KindCounts",
    "ValidatedDocument",
    "import_document",
    "validate_document",
]

Progress = Callable[[str, int, int], None]
T = TypeVar("T")

# ---------------------------------------------------------------------------------------------------
# Results and errors
# ---------------------------------------------------------------------------------------------------


@dataclass
class ImportProblem:
    """One thing wrong with the document: where ("$.members[3].registeredAt") and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ImportErrors(Exception):
    """The document does not match: every problem found, and nothing was written."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the import document")

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


KINDS = ("staff", "members", "sessions", "smartlists", "threads", "messages")


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class ImportSummary:
    """What an import did, per kind of row. `club` is "created", "updated" or "unchanged"."""

    club_slug: str
    club: str = "unchanged"
    counts: dict[str, KindCounts] = field(default_factory=lambda: {kind: KindCounts() for kind in KINDS})

    def __getitem__(self, kind: str) -> KindCounts:
        return self.counts[kind]

    @property
    def changed(self) -> bool:
        return self.club != "unchanged" or any(c.created or c.updated for c in self.counts.values())

    def describe(self) -> str:
        """A few lines for people: the club, then one line per kind of row."""
        lines = [f"club {self.club_slug}: {self.club}" + ("" if self.changed else " (nothing changed)")]
        for kind in KINDS:
            c = self.counts[kind]
            updated = "" if kind == "messages" else f", {c.updated} updated"
            lines.append(f"  {kind + ':':<12}{c.created} created{updated}, {c.unchanged} unchanged")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# Field types
# ---------------------------------------------------------------------------------------------------

INT_MAX = 2_147_483_647
SECTIONS = ("club", "staff", "members", "sessions", "smartlists", "threads")
ADDONS = ("inbox", "sms")
DIRECTION = Literal["OUTBOUND", "INBOUND"]
CHANNEL = Literal["EMAIL", "SMS"]
FilterField = Literal["TAG", "REGISTERED_AT", "AGE", "ACCOUNT_BALANCE", "UNPAID_INVOICES", "CITY", "HAS_EMAIL",
                      "HAS_PHONE"]
FilterOperator = Literal["EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "IS_SET", "NOT_SET"]
# ISO 3166-1 alpha-2 (and XK, Kosovo, which phone numbering uses).
COUNTRIES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
""".split())

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}(:?\d{2})?)?")
_SLUG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _context(info: ValidationInfo) -> dict[str, Any]:
    return info.context or {}


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _parse_date(value: Any) -> date:
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value.strip()):
        raise ValueError(f"not a date in the form YYYY-MM-DD: {value!r}")
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"not a valid date: {value!r} ({exc})") from None


def _parse_datetime(value: Any, info: ValidationInfo) -> datetime:
    """An ISO 8601 date-time; one without an offset is read in the club's time zone. Returned in UTC."""
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _DATETIME_RE.fullmatch(text):
        raise ValueError(f"not an ISO 8601 date-time such as 2026-12-01T18:00:00+00:00: {value!r}")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a valid date-time: {value!r} ({exc})") from None
    if parsed.tzinfo is None:
        zone: tzinfo = _context(info).get("tz") or UTC
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def _parse_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"not a decimal number (give a string such as \"-12.50\"): {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite decimal number: {value!r}")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise ValueError(f"at most 4 decimal places: {value!r}")
    if abs(number) >= Decimal(10) ** 10:
        raise ValueError(f"out of range: {value!r}")
    return number


def _check_country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or code not in COUNTRIES:
        raise ValueError(f"unknown country code (expected ISO 3166-1 alpha-2, e.g. GB): {value!r}")
    return code


def _check_timezone(value: str) -> str:
    name = value.strip()
    if name not in _time_zones():
        raise ValueError(f"unknown IANA time zone: {value!r}")
    return name


def _check_currency(value: str) -> str:
    code = value.strip().upper()
    if not _CURRENCY_RE.fullmatch(code):
        raise ValueError(f"not an ISO 4217 currency code (3 letters, e.g. GBP): {value!r}")
    return code


def _check_email(value: str) -> str:
    text = value.strip()
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {text!r} ({exc})") from None
    return text


def _check_phone(value: str, info: ValidationInfo) -> str:
    context = _context(info)
    if context.get("club_invalid") and not value.strip().startswith("+"):
        return value  # a national number cannot be judged without the club's country (reported already)
    try:
        return to_e164(value.strip(), context.get("country"))
    except InvalidPhone:
        raise ValueError(f"not a valid phone number: {value!r}") from None


def _check_url(value: str) -> str:
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {value!r}")
    return text.rstrip("/")


def _check_slug(value: str) -> str:
    if not _SLUG_RE.fullmatch(value):
        raise ValueError(f"not a slug (letters, digits, '.', '_' and '-'): {value!r}")
    return value


def _check_addon(value: str) -> str:
    name = value.strip().lower()
    if name not in ADDONS:
        raise ValueError(f"unknown add-on {value!r} (known: {', '.join(ADDONS)})")
    return name


def _text(max_length: int) -> Any:
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)]


def _optional_text(max_length: int) -> Any:
    return Annotated[_text(max_length) | None, BeforeValidator(_blank_to_none)]


Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Name = _text(200)
IsoDate = Annotated[date, PlainValidator(_parse_date)]
IsoDateTime = Annotated[datetime, PlainValidator(_parse_datetime)]
Money = Annotated[Decimal, PlainValidator(_parse_decimal)]
Count = Annotated[int, Field(strict=True, ge=0, le=INT_MAX)]
Country = Annotated[str, StringConstraints(max_length=10), AfterValidator(_check_country)]
Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_check_email)]
OptionalEmail = Annotated[Email | None, BeforeValidator(_blank_to_none)]
Phone = Annotated[str, StringConstraints(max_length=50), AfterValidator(_check_phone)]
OptionalPhone = Annotated[Phone | None, BeforeValidator(_blank_to_none)]
Url = Annotated[str, StringConstraints(max_length=500), AfterValidator(_check_url)]
Tag = _text(100)


class _In(BaseModel):
    """A part of the document: camelCase names, unknown names refused, null read as omitted."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_omitted(cls, data: Any) -> Any:
        if isinstance(data, dict) and None in data.values():
            return {key: value for key, value in data.items() if value is not None}
        return data


class AddressIn(_In):
    street: _text(300)
    postal_code: _text(30)
    city: _text(200)
    country: Country


class ClubIn(_In):
    slug: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                    AfterValidator(_check_slug)]
    name: Name
    country: Country
    timezone: Annotated[str, StringConstraints(max_length=64), AfterValidator(_check_timezone)]
    currency: Annotated[str, StringConstraints(max_length=10), AfterValidator(_check_currency)]
    backoffice_url: Url
    addons: list[Annotated[str, StringConstraints(max_length=50), AfterValidator(_check_addon)]] = []
    sms_number: Annotated[str | None, BeforeValidator(_blank_to_none), StringConstraints(max_length=50)] = None
    inbound_email: OptionalEmail = None

    @field_validator("addons")
    @classmethod
    def _distinct_addons(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("sms_number")
    @classmethod
    def _sms_number(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if "country" not in info.data and not value.strip().startswith("+"):
            return value  # a national number cannot be judged without a valid country (reported already)
        try:
            return to_e164(value.strip(), info.data.get("country"))
        except InvalidPhone:
            raise ValueError(f"not a valid phone number: {value!r}") from None

    @field_validator("inbound_email")
    @classmethod
    def _lowercase(cls, value: str | None) -> str | None:
        return value.lower() if value else value


class StaffIn(_In):
    id: Id
    name: Name
    email: Email


class EmergencyContactIn(_In):
    name: Name
    phone: Phone
    relationship: _optional_text(100) = None


class MemberIn(_In):
    id: Id
    member_number: _text(100)
    first_name: Name
    last_name: Name
    email: OptionalEmail = None
    phone: OptionalPhone = None
    accepts_email: StrictBool = True
    accepts_sms: StrictBool = True
    registered_at: IsoDate
    birth_date: IsoDate | None = None
    barcode: _optional_text(100) = None
    address: AddressIn | None = None
    emergency_contact: EmergencyContactIn | None = None
    tags: list[Tag] = []
    account_balance: Money = Decimal(0)
    unpaid_invoices_count: Count = 0
    photo_url: _optional_text(1000) = None
    documents_count: Count = 0
    notes_count: Count = 0

    @field_validator("tags")
    @classmethod
    def _distinct_tags(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class TeacherIn(_In):
    name: Name
    photo_url: _optional_text(1000) = None


class RoomIn(_In):
    name: Name
    address: AddressIn | None = None


class SessionIn(_In):
    id: Id
    name: Name
    starts_at: IsoDateTime
    ends_at: IsoDateTime
    level: _optional_text(100) = None
    is_online: StrictBool = False
    capacity: Annotated[int, Field(strict=True, ge=0, le=INT_MAX)]
    teacher: TeacherIn | None = None
    room: RoomIn | None = None
    bookings: list[Id] = []
    waitlist: list[Id] = []


class FilterIn(_In):
    field: FilterField
    operator: FilterOperator
    values: list[Annotated[str, StringConstraints(max_length=200)]] = []


class SmartlistIn(_In):
    id: Id
    name: Name
    description: _optional_text(10_000) = None
    filters: list[FilterIn] = []


class TargetIn(_In):
    member: Id | None = None
    smartlist: Id | None = None
    session: Id | None = None

    def given(self) -> list[tuple[str, str]]:
        """The (kind, id) pairs given: exactly one in a valid document."""
        pairs = (("member", self.member), ("smartlist", self.smartlist), ("session", self.session))
        return [(kind, value) for kind, value in pairs if value is not None]


class MessageIn(_In):
    id: Id
    direction: DIRECTION
    channel: CHANNEL
    staff: Id | None = None
    subject: _optional_text(998) = None
    body: Annotated[str, StringConstraints(max_length=100_000)]
    created_at: IsoDateTime

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class ThreadIn(_In):
    target: TargetIn
    messages: list[MessageIn] = []


# ---------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------

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


def _sort_key(problem: ImportProblem) -> tuple[int, int]:
    match = re.match(r"\$\.(\w+)(?:\[(\d+)\])?", problem.path)
    if not match:
        return (-1, 0)
    section = SECTIONS.index(match.group(1)) if match.group(1) in SECTIONS else -1
    return (section, int(match.group(2) or 0))


class _Validator:
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
                if message.direction == "INBOUND":
                    if message.staff is not None:
                        self.problem(f"{path}.staff", "an inbound message is written by the member, not by staff")
                    if kind is not None and kind != "member":
                        self.problem(f"{path}.direction", "inbound messages belong to member threads only")
                elif message.staff is not None:
                    self._reference("staff", message.staff, raw_ids["staff"], f"{path}.staff")
                if message.channel == "SMS" and message.subject is not None:
                    self.problem(f"{path}.subject", "an SMS has no subject")


def _validate(document: Any, progress: Progress | None = None) -> tuple[ValidatedDocument | None, list[ImportProblem]]:
    validator = _Validator(progress)
    result = validator.run(document)
    return result, validator.problems


def validate_document(document: Any) -> ValidatedDocument:
    """Check a parsed import document without touching the database.

    Raises `ImportErrors` with every problem found. References to ids the document does not define are
    not problems here (they may name rows of a previous import): they are listed in
    `ValidatedDocument.references`, and `import_document` checks them against the database.
    """
    result, problems = _validate(document)
    if problems or result is None:
        raise ImportErrors(sorted(problems, key=_sort_key))
    return result


# ---------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------

CLUB = Club.__table__
STAFF = Staff.__table__
MEMBER = Member.__table__
MEMBER_TAG = MemberTag.__table__
SESSION = Session.__table__
BOOKING = Booking.__table__
SMARTLIST = Smartlist.__table__
THREAD = Thread.__table__
MESSAGE = Message.__table__
THREAD_CHANGE = ThreadChange.__table__

# Ids per IN (...) list: far below SQLite's 32766 bound parameters and PostgreSQL's 32767.
SELECT_CHUNK = 900
# Rows compared and written per round trip (executemany: no bound-parameter limit).
WRITE_CHUNK = 1000
MESSAGE_CHUNK = 5000
# Up to this many messages in a document, existing ones are looked up by id; beyond, all the club's
# imported message ids are read once.
MESSAGE_LOOKUP_LIMIT = 20_000

TARGET_COLUMNS = {"member": "member_id", "smartlist": "smartlist_id", "session": "session_id"}
CATEGORIES = {"member": "MEMBER", "smartlist": "SMARTLIST", "session": "SESSION"}
REFERENCE_TABLES = {"member": MEMBER, "session": SESSION, "smartlist": SMARTLIST, "staff": STAFF}


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _club_row(club: ClubIn) -> dict[str, Any]:
    return {
        "slug": club.slug, "name": club.name, "country": club.country, "timezone": club.timezone,
        "currency": club.currency, "backoffice_url": club.backoffice_url, "addons": club.addons,
        "sms_number": club.sms_number, "inbound_email": club.inbound_email,
    }


def _staff_row(club_id: int, staff: StaffIn) -> dict[str, Any]:
    return {"club_id": club_id, "external_id": staff.id, "name": staff.name, "email": staff.email,
            "email_normalized": staff.email.strip().casefold()}


def _member_row(club_id: int, m: MemberIn) -> dict[str, Any]:
    address = m.address
    contact = m.emergency_contact
    return {
        "club_id": club_id,
        "external_id": m.id,
        "member_number": m.member_number,
        "first_name": m.first_name,
        "last_name": m.last_name,
        "email": m.email,
        "phone": m.phone,
        "accepts_email": m.accepts_email,
        "accepts_sms": m.accepts_sms,
        "registered_at": m.registered_at,
        "birth_date": m.birth_date,
        "barcode": m.barcode,
        "photo_url": m.photo_url,
        "address_street": address.street if address else None,
        "address_postal_code": address.postal_code if address else None,
        "address_city": address.city if address else None,
        "address_country": address.country if address else None,
        "emergency_name": contact.name if contact else None,
        "emergency_phone": contact.phone if contact else None,
        "emergency_relationship": contact.relationship if contact else None,
        "tags": m.tags,
        "account_balance": m.account_balance,
        "unpaid_invoices_count": m.unpaid_invoices_count,
        "documents_count": m.documents_count,
        "notes_count": m.notes_count,
        "last_name_key": fold(m.last_name),
        "first_name_key": fold(m.first_name),
        "email_normalized": m.email.strip().casefold() if m.email else None,
        "city_key": fold(address.city) if address else None,
        "search_text": member_search_text(m.first_name, m.last_name, m.email),
        "phone_digits": searchable_digits(m.phone),
    }


def _session_row(club_id: int, s: SessionIn) -> dict[str, Any]:
    room_address = s.room.address if s.room else None
    return {
        "club_id": club_id,
        "external_id": s.id,
        "name": s.name,
        "name_key": fold(s.name),
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "level": s.level,
        "is_online": s.is_online,
        "capacity": s.capacity,
        "teacher_name": s.teacher.name if s.teacher else None,
        "teacher_photo_url": s.teacher.photo_url if s.teacher else None,
        "room_name": s.room.name if s.room else None,
        "room_street": room_address.street if room_address else None,
        "room_postal_code": room_address.postal_code if room_address else None,
        "room_city": room_address.city if room_address else None,
        "room_country": room_address.country if room_address else None,
    }


def _smartlist_row(club_id: int, s: SmartlistIn) -> dict[str, Any]:
    return {
        "club_id": club_id,
        "external_id": s.id,
        "name": s.name,
        "name_key": fold(s.name),
        "description": s.description,
        "filters": [{"field": f.field, "operator": f.operator, "values": list(f.values)} for f in s.filters],
    }


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
    for chunk in _chunks(sorted(set(external_ids)), SELECT_CHUNK):
        rows = await session.execute(
            select(table.c.external_id, table.c.id).where(table.c.club_id == club_id, table.c.external_id.in_(chunk)))
        found.update((ext, row_id) for ext, row_id in rows)
    return found


async def _check_references(
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


class _Writer:
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
        staff users the document does not mention. (References are checked by `_check_references`.)"""
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
        await self._rows("staff", STAFF, [_staff_row(self.club_id, s) for s in self.doc.staff], "staff")
        await self._rows("members", MEMBER, [_member_row(self.club_id, m) for m in self.doc.members], "member",
                         after_chunk=self._member_tags)
        await self._rows("sessions", SESSION, [_session_row(self.club_id, s) for s in self.doc.sessions], "session",
                         after_chunk=self._bookings)
        await self._rows("smartlists", SMARTLIST, [_smartlist_row(self.club_id, s) for s in self.doc.smartlists],
                         "smartlist")
        plans = await self._threads()
        await self._messages(plans)
        await self._log_changes(plans)
        return self.summary

    async def _club(self) -> None:
        row = _club_row(self.doc.club)
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
        for chunk in _chunks(rows, WRITE_CHUNK):
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
        for part in _chunks(known, SELECT_CHUNK):
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
        for part in _chunks(replace, SELECT_CHUNK):
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
            for chunk in _chunks(of_kind, SELECT_CHUNK):
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

    async def _log_changes(self, plans: list[_ThreadPlan]) -> None:
        """Stamp the threads created or given history, as live changes are (inbox.changes), in bulk:
        a client resuming threadUpdated from before the import then catches up with them."""
        changed = [plan for plan in plans if plan.created or plan.appended]
        if not changed:
            return
        top = (await self.session.execute(
            update(CLUB).where(CLUB.c.id == self.club_id).values(change_seq=CLUB.c.change_seq + len(changed))
            .returning(CLUB.c.change_seq))).scalar_one()
        now = datetime.now(UTC)
        stamps = [(plan, top - len(changed) + number) for number, plan in enumerate(changed, 1)]
        stamp = update(THREAD).where(THREAD.c.id == bindparam("b_id", type_=THREAD.c.id.type)).values(
            change_seq=bindparam("b_seq", type_=THREAD.c.change_seq.type))
        for chunk in _chunks(stamps, WRITE_CHUNK):
            await self.session.execute(stamp, [{"b_id": plan.thread_id, "b_seq": seq} for plan, seq in chunk])
            await self.session.execute(self._insert(THREAD_CHANGE), [
                {"club_id": self.club_id, "seq": seq, "thread_id": plan.thread_id, "staff_id": None,
                 "reason": "CREATED" if plan.created else "MESSAGE_ADDED", "message_id": None, "created_at": now}
                for plan, seq in chunk])

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
        counts = self.summary.counts
        total = sum(len(plan.thread.messages) for plan in plans)
        self.progress("messages", 0, total)
        has_imported = not self.club_is_new and bool(await self.session.scalar(
            select(exists().where(MESSAGE.c.club_id == self.club_id, MESSAGE.c.external_id.is_not(None)))))
        known: set[str] | None = None
        if has_imported and total > MESSAGE_LOOKUP_LIMIT:
            # Many messages: one pass over the club's imported ids beats a thousand IN (...) lookups, and
            # does not depend on the planner's statistics (stale right after a big import).
            known = set()
            result = await self.session.stream_scalars(
                select(MESSAGE.c.external_id).where(MESSAGE.c.club_id == self.club_id,
                                                    MESSAGE.c.external_id.is_not(None))
                .execution_options(yield_per=20_000))
            async for external_id in result:
                known.add(external_id)
        staff_ids = self.ids["staff"]
        insert = self._insert(MESSAGE).returning(MESSAGE.c.external_id, MESSAGE.c.id)
        last_seq = bindparam("b_last_seq", type_=THREAD.c.last_seq.type)
        last_at = bindparam("b_last_at", type_=THREAD.c.last_message_at.type)
        inbound_count = bindparam("b_inbound", type_=THREAD.c.inbound_count.type)
        thread_update = (
            update(THREAD).where(THREAD.c.id == bindparam("b_id", type_=THREAD.c.id.type)).values(
                last_seq=last_seq, last_message_at=last_at, sort_at=last_at,
                last_message_id=bindparam("b_last_id", type_=THREAD.c.last_message_id.type),
                inbound_count=inbound_count, history_seq=last_seq, history_inbound_count=inbound_count)
        )
        done = 0
        batch: list[_ThreadPlan] = []
        batch_size = 0

        async def flush() -> None:
            nonlocal done
            existing: set[str] = known if known is not None else set()
            if has_imported and known is None:
                ids = [m.id for plan in batch for m in plan.thread.messages]
                for chunk in _chunks(ids, SELECT_CHUNK):
                    result = await self.session.execute(select(MESSAGE.c.external_id).where(
                        MESSAGE.c.club_id == self.club_id, MESSAGE.c.external_id.in_(chunk)))
                    existing.update(result.scalars())
            rows: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            last_external: dict[str, dict[str, Any]] = {}
            for plan in batch:
                fresh = sorted((m for m in plan.thread.messages if m.id not in existing), key=lambda m: m.created_at)
                counts["messages"].unchanged += len(plan.thread.messages) - len(fresh)
                counts["messages"].created += len(fresh)
                if plan.created:
                    counts["threads"].created += 1
                elif fresh:
                    counts["threads"].updated += 1
                else:
                    counts["threads"].unchanged += 1
                if not fresh:
                    continue
                plan.appended = True
                seq, inbound = plan.last_seq, plan.inbound_count
                for message in fresh:
                    seq += 1
                    is_inbound = message.direction == "INBOUND"
                    inbound += is_inbound
                    rows.append({
                        "club_id": self.club_id, "thread_id": plan.thread_id, "seq": seq,
                        "direction": message.direction, "channel": message.channel,
                        "staff_id": staff_ids[message.staff] if message.staff is not None else None,
                        "member_id": plan.target_id if is_inbound and plan.kind == "member" else None,
                        "subject": message.subject, "body": message.body, "created_at": message.created_at,
                        "external_id": message.id,
                    })
                update_row = {"b_id": plan.thread_id, "b_last_seq": seq, "b_last_at": fresh[-1].created_at,
                              "b_last_id": None, "b_inbound": inbound}
                updates.append(update_row)
                last_external[fresh[-1].id] = update_row
            for chunk in _chunks(rows, MESSAGE_CHUNK):
                for external_id, message_id in await self.session.execute(insert, list(chunk)):
                    if external_id in last_external:
                        last_external[external_id]["b_last_id"] = message_id
            if updates:
                await self.session.execute(thread_update, updates)
            done += sum(len(plan.thread.messages) for plan in batch)
            self.progress("messages", done, total)
            batch.clear()

        for plan in plans:
            batch.append(plan)
            batch_size += len(plan.thread.messages)
            if batch_size >= MESSAGE_CHUNK:
                await flush()
                batch_size = 0
        if batch:
            await flush()


async def import_document(
    factory: async_sessionmaker[AsyncSession],
    document: Any,
    progress: Progress | None = None,
) -> ImportSummary:
    """Validate `document` (a parsed JSON import document) and load it in one transaction.

    Raises `ImportErrors` with every problem (the document's and those only the database reveals, such
    as an unknown reference) and writes nothing when there is any.
    """
    validator = _Validator(progress)
    validated = validator.run(document)
    problems = validator.problems
    if validator.slug is None:
        raise ImportErrors(sorted(problems, key=_sort_key) or [ImportProblem("$", "not a valid import document")])
    async with factory() as session:
        await begin_write(session)
        club_id = await session.scalar(select(CLUB.c.id).where(CLUB.c.slug == validator.slug))
        referenced, unknown = await _check_references(session, club_id, validator.references)
        problems.extend(unknown)
        writer = None
        if validated is not None:
            writer = _Writer(session, validated, progress, club_id, referenced)
            problems.extend(await writer.check())
        if problems or writer is None:
            await session.rollback()
            raise ImportErrors(sorted(problems, key=_sort_key) or [ImportProblem("$", "not a valid import document")])
        summary = await writer.write()
        await session.commit()
    if summary.changed:
        await refresh_planner_statistics(factory)
    return summary


async def refresh_planner_statistics(factory: async_sessionmaker[AsyncSession]) -> None:
    """ANALYZE after a bulk load: without statistics SQLite picks indexes that turn a smartlist send
    into a 50-second scan, and PostgreSQL misplans lookups on freshly loaded tables (bench/)."""
    async with factory() as session:
        connection = await session.connection()
        if connection.dialect.name == "sqlite":
            await connection.exec_driver_sql("ANALYZE")
        else:
            await connection.exec_driver_sql("ANALYZE member, member_tag, booking, class_session, thread, message")
        await session.commit()
