"""Enumerations of the contract (values are the domain's strings)."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class ThreadCategory(Enum):
    MEMBER = "MEMBER"
    SMARTLIST = "SMARTLIST"
    SESSION = "SESSION"


@strawberry.enum(description="The five filters of the thread list; a search narrows any of them.")
class ThreadStatusFilter(Enum):
    ALL = strawberry.enum_value("ALL", description="Every thread not archived by the viewer.")
    UNREAD = strawberry.enum_value(
        "UNREAD", description="Not archived, with at least one unread message for the viewer (muted ones included).")
    FAVORITES = strawberry.enum_value("FAVORITES", description="Not archived, favorite for the viewer.")
    MUTED = strawberry.enum_value("MUTED", description="Not archived, muted by the viewer.")
    ARCHIVED = strawberry.enum_value("ARCHIVED", description="Archived by the viewer, and only those.")


@strawberry.enum
class MessageDirection(Enum):
    OUTBOUND = "OUTBOUND"
    INBOUND = "INBOUND"


@strawberry.enum
class Channel(Enum):
    EMAIL = "EMAIL"
    SMS = "SMS"


@strawberry.enum(description="Where one recipient's copy of an outbound message stands.")
class DeliveryStatus(Enum):
    QUEUED = strawberry.enum_value(
        "QUEUED", description="Waiting for the dispatcher (or for a retry after a temporary failure).")
    SENT = strawberry.enum_value("SENT", description="Handed to the email or SMS provider.")
    DELIVERED = strawberry.enum_value("DELIVERED", description="The provider reported it delivered.")
    FAILED = strawberry.enum_value(
        "FAILED", description="Not delivered: the provider refused it, retries ran out, or the send was cut off "
        "(see reason).")
    SKIPPED = strawberry.enum_value(
        "SKIPPED", description="Never sent: no address, or the member opted out of this channel (see reason).")


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
    INVALID_INPUT = strawberry.enum_value(
        "INVALID_INPUT", description="A value is malformed, out of range or inconsistent; `field` names it.")
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND", description="No such object in the caller's club (ids of other clubs read as unknown).")
    THREAD_HAS_UNREAD = strawberry.enum_value(
        "THREAD_HAS_UNREAD",
        description="markThreadUnread on a thread that already shows unread messages for the viewer.")
    ADDON_REQUIRED = strawberry.enum_value(
        "ADDON_REQUIRED", description="The club lacks the add-on this action needs (SMS sending needs the sms add-on).")
    NO_RECIPIENT = strawberry.enum_value(
        "NO_RECIPIENT", description="A broadcast whose smartlist or session resolves to no member at all.")
    NO_RECIPIENT_ADDRESS = strawberry.enum_value(
        "NO_RECIPIENT_ADDRESS",
        description="A member thread whose member has no address for, or opted out of, the chosen channel.")


@strawberry.enum(description="A hint of what changed; `thread` is the whole new state. Values may be added: "
                 "keep a default branch.")
class ThreadUpdateReason(Enum):
    CATCH_UP = strawberry.enum_value(
        "CATCH_UP", description="Sent first, once per thread changed since threadUpdated(after:), before live updates.")
    CREATED = "CREATED"
    MESSAGE_ADDED = "MESSAGE_ADDED"
    READ = "READ"
    UNREAD = "UNREAD"
    FAVORITE_CHANGED = "FAVORITE_CHANGED"
    MUTE_CHANGED = "MUTE_CHANGED"
    ARCHIVE_CHANGED = "ARCHIVE_CHANGED"
    DELIVERY_CHANGED = "DELIVERY_CHANGED"
