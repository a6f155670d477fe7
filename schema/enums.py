"""Enumerations of the contract (values are the domain's strings)."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class ThreadCategory(Enum):
    MEMBER = "MEMBER"
    SMARTLIST = "SMARTLIST"
    SESSION = "SESSION"


@strawberry.enum
class ThreadStatusFilter(Enum):
    ALL = "ALL"
    UNREAD = "UNREAD"
    FAVORITES = "FAVORITES"
    MUTED = "MUTED"
    ARCHIVED = "ARCHIVED"


@strawberry.enum
class MessageDirection(Enum):
    OUTBOUND = "OUTBOUND"
    INBOUND = "INBOUND"


@strawberry.enum
class Channel(Enum):
    EMAIL = "EMAIL"
    SMS = "SMS"


@strawberry.enum
class DeliveryStatus(Enum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


@strawberry.enum
class SmartlistFilterField(Enum):
    TAG = "TAG"
    REGISTERED_AT = "REGISTERED_AT"
    AGE = "AGE"
    ACCOUNT_BALANCE = "ACCOUNT_BALANCE"
    UNPAID_INVOICES = "UNPAID_INVOICES"
    CITY = "CITY"
    HAS_EMAIL = "HAS_EMAIL"
    HAS_PHONE = "HAS_PHONE"


@strawberry.enum
class FilterOperator(Enum):
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


@strawberry.enum
class UserErrorCode(Enum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    THREAD_HAS_UNREAD = "THREAD_HAS_UNREAD"
    ADDON_REQUIRED = "ADDON_REQUIRED"
    NO_RECIPIENT = "NO_RECIPIENT"
    NO_RECIPIENT_ADDRESS = "NO_RECIPIENT_ADDRESS"


@strawberry.enum(description="A hint of what changed; `thread` is the whole new state. Values may be added: "
                 "keep a default branch.")
class ThreadUpdateReason(Enum):
    CATCH_UP = "CATCH_UP"
    CREATED = "CREATED"
    MESSAGE_ADDED = "MESSAGE_ADDED"
    READ = "READ"
    UNREAD = "UNREAD"
    FAVORITE_CHANGED = "FAVORITE_CHANGED"
    MUTE_CHANGED = "MUTE_CHANGED"
    ARCHIVE_CHANGED = "ARCHIVE_CHANGED"
    DELIVERY_CHANGED = "DELIVERY_CHANGED"
