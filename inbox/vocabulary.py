"""The inbox's words, once: what a thread is about, how a message travels, where a delivery stands,
why a thread changed, the thread list's filters, the smartlist filters' fields and operators, and why
an input is refused.

Values are the strings stored in the database and spelled by the API (`schema/enums.py` publishes
these very classes as the GraphQL enums), so a member of these enums compares equal to its stored string.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from models import Member, Session, Smartlist


class Category(StrEnum):
    MEMBER = "MEMBER"
    SMARTLIST = "SMARTLIST"
    SESSION = "SESSION"


class Channel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"


class Direction(StrEnum):
    OUTBOUND = "OUTBOUND"
    INBOUND = "INBOUND"


class DeliveryStatus(StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class UpdateReason(StrEnum):
    """Why a thread changed, as its change log and `threadUpdated` say."""

    CATCH_UP = "CATCH_UP"
    CREATED = "CREATED"
    MESSAGE_ADDED = "MESSAGE_ADDED"
    READ = "READ"
    UNREAD = "UNREAD"
    FAVORITE_CHANGED = "FAVORITE_CHANGED"
    MUTE_CHANGED = "MUTE_CHANGED"
    ARCHIVE_CHANGED = "ARCHIVE_CHANGED"
    DELIVERY_CHANGED = "DELIVERY_CHANGED"


class ListStatus(StrEnum):
    """Which threads of a category the thread list shows."""

    ALL = "ALL"
    UNREAD = "UNREAD"
    FAVORITES = "FAVORITES"
    MUTED = "MUTED"
    ARCHIVED = "ARCHIVED"


class FilterField(StrEnum):
    TAG = "TAG"
    REGISTERED_AT = "REGISTERED_AT"
    AGE = "AGE"
    ACCOUNT_BALANCE = "ACCOUNT_BALANCE"
    UNPAID_INVOICES = "UNPAID_INVOICES"
    CITY = "CITY"
    HAS_EMAIL = "HAS_EMAIL"
    HAS_PHONE = "HAS_PHONE"


class FilterOperator(StrEnum):
    EQ = "EQ"
    NEQ = "NEQ"
    LT = "LT"
    LTE = "LTE"
    GT = "GT"
    GTE = "GTE"
    BETWEEN = "BETWEEN"
    IN = "IN"
    IS_SET = "IS_SET"
    NOT_SET = "NOT_SET"


class ErrorCode(StrEnum):
    """Why an action refused its input (`UserError.code`)."""

    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    THREAD_HAS_UNREAD = "THREAD_HAS_UNREAD"
    ADDON_REQUIRED = "ADDON_REQUIRED"
    NO_RECIPIENT = "NO_RECIPIENT"
    NO_RECIPIENT_ADDRESS = "NO_RECIPIENT_ADDRESS"


@dataclass(frozen=True)
class Target:
    """What a thread of a category is about: its model, the thread's column naming it, its API type."""

    model: Any
    thread_column: str
    type_name: str


TARGETS = {
    Category.MEMBER: Target(Member, "member_id", "Member"),
    Category.SMARTLIST: Target(Smartlist, "smartlist_id", "Smartlist"),
    Category.SESSION: Target(Session, "session_id", "Session"),
}
CATEGORY_OF_TYPE = {target.type_name: category for category, target in TARGETS.items()}
