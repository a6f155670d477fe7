"""Smartlist filters: validation into user errors, and compilation to one SQL condition on members.

A smartlist is a dynamic segment: its members are whoever matches its filters at query time, so the
filters are stored as data (`Smartlist.filters`) and compiled on every count or send. The rules are
those of docs/rules.md, "Smartlist filters".
"""

from __future__ import annotations

import json
import operator as op
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, ColumnElement, String, and_, bindparam, false, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute

from inbox.errors import UserError
from inbox.text import fold
from inbox.vocabulary import FilterField, FilterOperator
from models import Member, MemberTag

FIELDS = tuple(FilterField)
OPERATORS = tuple(FilterOperator)
_COMPARISONS = ("EQ", "LT", "LTE", "GT", "GTE", "BETWEEN")
_PRESENCE = ("IS_SET", "NOT_SET")
OPERATORS_BY_FIELD: dict[str, tuple[str, ...]] = {
    "TAG": ("IN", "EQ", "NEQ", "IS_SET", "NOT_SET"),
    "REGISTERED_AT": _COMPARISONS,
    "AGE": _COMPARISONS,
    "ACCOUNT_BALANCE": _COMPARISONS,
    "UNPAID_INVOICES": _COMPARISONS,
    "CITY": ("EQ", "NEQ", "IN"),
    "HAS_EMAIL": _PRESENCE,
    "HAS_PHONE": _PRESENCE,
}
MAX_AGE = 150
# Size limits of a smartlist's filters (operations.md): they bound the SQL one smartlist compiles to.
MAX_FILTERS = 20
MAX_FILTER_VALUES = 500
MAX_FILTER_VALUE_LENGTH = 200
INT_MAX = 2_147_483_647  # unpaid_invoices_count is a 32-bit integer; a larger bound would fail on PostgreSQL
INVALID_INPUT = "INVALID_INPUT"

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHOLE = re.compile(r"[0-9]{1,10}")
# What account_balance (Numeric(14, 4)) can hold; a dot, never a comma, so "1,50" is not read as 150.
_DECIMAL = re.compile(r"-?[0-9]{1,10}(\.[0-9]{1,4})?")


@dataclass(frozen=True)
class Filter:
    """One condition of a smartlist; field and operator are the contract's enum names ("TAG", "IN")."""

    field: str
    operator: str
    values: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------- values


def _quote(value: str, limit: int = 40) -> str:
    """The value as shown in a message: quoted, and cut short so a huge input is not echoed whole."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


@dataclass(frozen=True)
class _ValueForm:
    """How a field's values are written (for messages) and read (for SQL)."""

    description: str
    parse: Callable[[str], Any]


def _parse_date(text: str) -> date:
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(text)
    return date.fromisoformat(text)  # refuses 2024-02-30


def _whole_number(maximum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not _WHOLE.fullmatch(text) or int(text) > maximum:
            raise ValueError(text)
        return int(text)

    return parse


def _parse_decimal(text: str) -> Decimal:
    if not _DECIMAL.fullmatch(text):
        raise ValueError(text)
    return Decimal(text)


def _name(max_length: int, key: Callable[[str], str]) -> Callable[[str], str]:
    """A tag or city name: its matching key must not be empty (a blank or symbols-only name matches nothing)."""

    def parse(text: str) -> str:
        if not key(text) or len(text) > max_length:
            raise ValueError(text)
        return text

    return parse


_FORMS: dict[str, _ValueForm] = {
    "TAG": _ValueForm("a tag name (1 to 100 characters, not blank)", _name(100, str.strip)),
    "REGISTERED_AT": _ValueForm("an ISO date (YYYY-MM-DD)", _parse_date),
    "AGE": _ValueForm(f"a whole number of years from 0 to {MAX_AGE}", _whole_number(MAX_AGE)),
    "ACCOUNT_BALANCE": _ValueForm("a decimal number with a dot, such as -12.50 (at most 10 digits before the "
                                  "dot and 4 after)", _parse_decimal),
    "UNPAID_INVOICES": _ValueForm(f"a whole number from 0 to {INT_MAX}", _whole_number(INT_MAX)),
    "CITY": _ValueForm("a city name (1 to 200 characters, not blank)", _name(200, fold)),
}


def _count_problem(operator: str, count: int) -> str | None:
    if operator in _PRESENCE:
        expected, ok = "no values", count == 0
    elif operator == "BETWEEN":
        expected, ok = "exactly two values (lower bound, upper bound)", count == 2
    elif operator == "IN":
        expected, ok = "one or more values", count >= 1
    else:
        expected, ok = "exactly one value", count == 1
    return None if ok else f"{operator} takes {expected}; {count} given"


def _value_problems(rule: Filter) -> list[str]:
    count_problem = _count_problem(rule.operator, len(rule.values))
    problems = [count_problem] if count_problem else []
    form = _FORMS.get(rule.field)
    if form is None:  # HAS_EMAIL, HAS_PHONE: no values to read
        return problems
    parsed = []
    for value in rule.values:
        try:
            parsed.append(form.parse(value))
        except ValueError:
            problems.append(f"{rule.field} takes {form.description}; {_quote(value)} is not")
    # Reversed bounds would silently select nobody: almost always a typo, so say so.
    if rule.operator == "BETWEEN" and len(parsed) == len(rule.values) == 2 and parsed[0] > parsed[1]:
        low, high = (_quote(v) for v in rule.values)
        problems.append(f"BETWEEN takes the lower bound first; {low} is above {high}")
    return problems


# ---------------------------------------------------------------------------------------------- validation


def _name_of(value: Any) -> str:
    """An enum member (e.g. the GraphQL layer's) by its name, anything else as text."""
    if isinstance(value, Enum):
        return value.name
    return "" if value is None else str(value)


def _read(item: Mapping[str, Any] | Filter) -> tuple[Filter, list[tuple[str, str]]]:
    """The filter as given (values trimmed), and the problems of its shape (values not a list of strings)."""
    field: object
    operator: object
    values: object
    if isinstance(item, Filter):
        field, operator, values = item.field, item.operator, item.values
    else:
        field, operator, values = item.get("field"), item.get("operator"), item.get("values", ())
    texts = tuple(values) if isinstance(values, Iterable) and not isinstance(values, str) else None
    if texts is None or not all(isinstance(v, str) for v in texts):
        return Filter(_name_of(field), _name_of(operator)), [("values", "values must be a list of strings")]
    return Filter(_name_of(field), _name_of(operator), tuple(v.strip() for v in texts)), []


def _problems(rule: Filter) -> list[tuple[str, str]]:
    """(path part, message) for everything wrong with one filter."""
    problems: list[tuple[str, str]] = []
    if rule.field not in OPERATORS_BY_FIELD:
        problems.append(("field", f"unknown filter field {_quote(rule.field)}; use one of {', '.join(FIELDS)}"))
    if rule.operator not in OPERATORS:
        problems.append(("operator", f"unknown operator {_quote(rule.operator)}; use one of {', '.join(OPERATORS)}"))
    if problems:
        return problems
    allowed = OPERATORS_BY_FIELD[rule.field]
    if rule.operator not in allowed:
        # The value rules depend on the operator: checking them against a wrong one would only add noise.
        return [("operator", f"{rule.field} does not take {rule.operator}; use one of {', '.join(allowed)}")]
    return [("values", message) for message in _value_problems(rule)]


def validate_filters(
    raw: Sequence[Mapping[str, Any] | Filter], path: Sequence[str] = ("input", "filters")
) -> tuple[list[Filter], list[UserError]]:
    """The filters (values trimmed of surrounding white space) and every problem found, not just the first.

    Each problem is an INVALID_INPUT user error whose field is `[*path, index, "field" | "operator" |
    "values"]`. Use the filters only when there is no error: `filter_condition` refuses invalid ones.
    """
    filters: list[Filter] = []
    errors: list[UserError] = []
    for index, item in enumerate(raw):
        rule, problems = _read(item)
        problems = problems or _problems(rule)
        filters.append(rule)
        errors += [UserError(INVALID_INPUT, message, [*path, str(index), part]) for part, message in problems]
    return filters, errors


# ---------------------------------------------------------------------------------------------- SQL

_COMPARE: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "EQ": op.eq, "LT": op.lt, "LTE": op.le, "GT": op.gt, "GTE": op.ge,
}


def _compare(column: InstrumentedAttribute[Any], rule: Filter) -> ColumnElement[bool]:
    bounds = [_FORMS[rule.field].parse(v) for v in rule.values]
    if rule.operator == "BETWEEN":
        return column.between(bounds[0], bounds[1])
    return _COMPARE[rule.operator](column, bounds[0])


def born_by(today: date, years: int) -> date:
    """The latest birth date of someone at least `years` old on `today`.

    Ages are whole years; a 29 February birthday is reached on 1 March in common years (the usual
    computation: the birthday has not come while (month, day) of today is before it).
    """
    year = today.year - years
    try:
        return today.replace(year=year)
    except ValueError:  # today is 29 February and `year` is a common year
        return date(year, 2, 28)


def _age_range(rule: Filter) -> tuple[int | None, int | None]:
    """The inclusive range of ages the filter accepts (None: unbounded)."""
    ages = [int(v) for v in rule.values]
    return {
        "EQ": (ages[0], ages[0]),
        "LT": (None, ages[0] - 1),
        "LTE": (None, ages[0]),
        "GT": (ages[0] + 1, None),
        "GTE": (ages[0], None),
        "BETWEEN": (ages[0], ages[-1]),
    }[rule.operator]


def _age(rule: Filter, today: date) -> ColumnElement[bool]:
    """Ages as birth-date ranges, so the comparison is portable SQL and can use the column as is.

    A member without a birth date never matches (NULL compares to nothing).
    """
    youngest, oldest = _age_range(rule)
    conditions = []
    if youngest is not None:
        conditions.append(Member.birth_date <= born_by(today, youngest))
    if oldest is not None:
        conditions.append(Member.birth_date > born_by(today, oldest + 1))
    return and_(*conditions)


def _has_tag(names: Sequence[str] | None) -> ColumnElement[bool]:
    """The member has a tag of `names` (any tag when None).

    Case-insensitive: both sides go through the database's lower(), so they fold alike (SQLite's
    lower() folds ASCII letters only, so there "Élite" and "élite" stay different).
    """
    query = select(MemberTag.member_id)
    if names is not None:
        query = query.where(_LowerIn(MemberTag.tag, names))
    # Uncorrelated: a correlated EXISTS ran once per member (51 s at 20,000 members on SQLite, bench/).
    return Member.id.in_(query)


class _LowerIn(ColumnElement[bool]):
    """`lower(column) IN (lower(name), ...)` with the names in one JSON parameter: hundreds of values
    compile in no time (one bound expression per value took about a second for 10,000)."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, column: InstrumentedAttribute[str], names: Sequence[str]) -> None:
        self.column = column
        self.names = bindparam(None, json.dumps(list(names)), type_=String())


@compiles(_LowerIn)
def _lower_in_json_each(element: _LowerIn, compiler: Any, **kw: Any) -> str:
    column, names = compiler.process(element.column, **kw), compiler.process(element.names, **kw)
    return f"lower({column}) IN (SELECT lower(value) FROM json_each({names}))"


@compiles(_LowerIn, "postgresql")
def _lower_in_json_array(element: _LowerIn, compiler: Any, **kw: Any) -> str:
    column, names = compiler.process(element.column, **kw), compiler.process(element.names, **kw)
    return f"lower({column}) IN (SELECT lower(value) FROM json_array_elements_text(CAST({names} AS json)))"


def _tag(rule: Filter, _today: date) -> ColumnElement[bool]:
    if rule.operator in _PRESENCE:
        has_any = _has_tag(None)
        return has_any if rule.operator == "IS_SET" else not_(has_any)
    has = _has_tag(rule.values)
    return not_(has) if rule.operator == "NEQ" else has


def _city(rule: Filter, _today: date) -> ColumnElement[bool]:
    """Through city_key (folded on write), so "Montréal" = "montreal"; "city is not X" includes no city."""
    keys = [fold(v) for v in rule.values]
    if rule.operator == "IN":
        return Member.city_key.in_(keys)
    if rule.operator == "EQ":
        return Member.city_key == keys[0]
    return or_(Member.city_key.is_(None), Member.city_key != keys[0])


def _presence(column: InstrumentedAttribute[str | None]) -> Callable[[Filter, date], ColumnElement[bool]]:
    """IS_SET / NOT_SET on an address column: an empty string is no address."""

    def condition(rule: Filter, _today: date) -> ColumnElement[bool]:
        if rule.operator == "IS_SET":
            return and_(column.is_not(None), column != "")
        return or_(column.is_(None), column == "")

    return condition


def _column(column: InstrumentedAttribute[Any]) -> Callable[[Filter, date], ColumnElement[bool]]:
    return lambda rule, _today: _compare(column, rule)


_CONDITIONS: dict[str, Callable[[Filter, date], ColumnElement[bool]]] = {
    "TAG": _tag,
    "REGISTERED_AT": _column(Member.registered_at),
    "AGE": _age,
    "ACCOUNT_BALANCE": _column(Member.account_balance),
    "UNPAID_INVOICES": _column(Member.unpaid_invoices_count),
    "CITY": _city,
    "HAS_EMAIL": _presence(Member.email),
    "HAS_PHONE": _presence(Member.phone),
}


def filter_condition(filters: Sequence[Filter], *, today: date) -> ColumnElement[bool]:
    """One condition on `Member` for all the filters, ANDed; no filters match every member.

    `today` is the club's date (see `club_today`): ages change at the club's midnight.
    Raises ValueError on invalid filters (validate input first): a broadcast must never go to a guess.
    """
    rules, errors = validate_filters(filters)
    if errors:
        raise ValueError("invalid smartlist filters: " + "; ".join(e.message for e in errors))
    return all_of([_CONDITIONS[rule.field](rule, today) for rule in rules])


def all_of(conditions: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    """AND of the conditions; a long one (a smartlist stored before the size limits) as a balanced tree,
    whose depth stays near log2(n) where a flat chain would go over SQLite's expression depth (1,000).

    SQLAlchemy flattens nested ANDs, so each group is a `coalesce(group, false)`: the same rows match
    (NULL and false both reject a row), and the result is never negated.
    """
    if len(conditions) <= 64:
        return and_(*conditions) if conditions else true()
    middle = len(conditions) // 2
    return and_(*(func.coalesce(all_of(half), false()) for half in (conditions[:middle], conditions[middle:])))


def parameter_count(filters: Sequence[Filter]) -> int:
    """About how many bound parameters the filters compile to (an upper bound: one or two per value,
    a few per filter), to keep each statement within the drivers' limits (32,767)."""
    return sum(len(rule.values) + 4 for rule in filters)


# ---------------------------------------------------------------------------------------------- helpers


def filter_types(filters: Sequence[Filter]) -> list[str]:
    """The distinct fields, in order of first use (the details panel's "filter types")."""
    return list(dict.fromkeys(rule.field for rule in filters))


def club_today(timezone_name: str, now: datetime | None = None) -> date:
    """The date at the club: ages and date filters turn at the club's midnight, not UTC's."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return moment.astimezone(ZoneInfo(timezone_name)).date()


def filters_from_json(stored: list[dict[str, Any]]) -> list[Filter]:
    """The filters of a `Smartlist.filters` column."""
    return [Filter(item["field"], item["operator"], tuple(item.get("values", ()))) for item in stored]


def filters_to_json(filters: Iterable[Filter]) -> list[dict[str, Any]]:
    """The value to store in `Smartlist.filters` (the importer's shape)."""
    return [{"field": rule.field, "operator": rule.operator, "values": list(rule.values)} for rule in filters]


async def count_members(session: AsyncSession, filters: Sequence[Filter], today: date) -> int:
    """Members matching the filters now; the session's club scope keeps it to one club."""
    query = select(func.count()).select_from(Member).where(filter_condition(filters, today=today))
    return int(await session.scalar(query) or 0)
