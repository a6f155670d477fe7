"""The import document's shape: one pydantic model per object, with the document's camelCase
names, and the field types that check and normalise formats (phones E.164, aware date-times)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import available_timezones

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
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from inbox.phones import InvalidPhone, to_e164
from inbox.vocabulary import Channel, Direction, FilterField, FilterOperator

INT_MAX = 2_147_483_647
SECTIONS = ("club", "staff", "members", "sessions", "smartlists", "threads")
ADDONS = ("inbox", "sms")
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


def _bounded(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


_BLANK_IS_NONE = BeforeValidator(_blank_to_none)

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Name = Annotated[str, _bounded(200)]
Label = Annotated[str, _bounded(100)]
Street = Annotated[str, _bounded(300)]
PostalCode = Annotated[str, _bounded(30)]
OptionalLabel = Annotated[Label | None, _BLANK_IS_NONE]
OptionalLink = Annotated[Annotated[str, _bounded(1000)] | None, _BLANK_IS_NONE]
OptionalDescription = Annotated[Annotated[str, _bounded(10_000)] | None, _BLANK_IS_NONE]
OptionalSubject = Annotated[Annotated[str, _bounded(998)] | None, _BLANK_IS_NONE]
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
Tag = Label


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
    street: Street
    postal_code: PostalCode
    city: Name
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
    relationship: OptionalLabel = None


class MemberIn(_In):
    id: Id
    member_number: Label
    first_name: Name
    last_name: Name
    email: OptionalEmail = None
    phone: OptionalPhone = None
    accepts_email: StrictBool = True
    accepts_sms: StrictBool = True
    registered_at: IsoDate
    birth_date: IsoDate | None = None
    barcode: OptionalLabel = None
    address: AddressIn | None = None
    emergency_contact: EmergencyContactIn | None = None
    tags: list[Tag] = []
    account_balance: Money = Decimal(0)
    unpaid_invoices_count: Count = 0
    photo_url: OptionalLink = None
    documents_count: Count = 0
    notes_count: Count = 0

    @field_validator("tags")
    @classmethod
    def _distinct_tags(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class TeacherIn(_In):
    name: Name
    photo_url: OptionalLink = None


class RoomIn(_In):
    name: Name
    address: AddressIn | None = None


class SessionIn(_In):
    id: Id
    name: Name
    starts_at: IsoDateTime
    ends_at: IsoDateTime
    level: OptionalLabel = None
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
    description: OptionalDescription = None
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
    direction: Direction
    channel: Channel
    staff: Id | None = None
    subject: OptionalSubject = None
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
