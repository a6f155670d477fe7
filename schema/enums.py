"""The contract's enumerations: the domain's own enums (inbox/vocabulary.py), published under their
GraphQL names with the contract's descriptions, so the API and the domain share one vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

import strawberry
from strawberry.types.enum import has_enum_definition

from inbox.vocabulary import (
    Category,
    Channel,
    DeliveryStatus,
    Direction,
    ErrorCode,
    FilterField,
    FilterOperator,
    ListStatus,
    UpdateReason,
)


def member_by_value(enum: type[Enum]) -> Callable[[Any], Any]:
    """`enum(value)` as a dict lookup (a fifth of its cost; a page converts a hundred values)."""
    members = {member.value: member for member in enum}

    def member(value: Any) -> Any:
        found = members.get(value)
        return enum(value) if found is None else found  # enum() raises the usual error
    return member


def _publish(domain: type[Enum], name: str, description: str, **values: str) -> None:
    """Make `domain` the GraphQL enum `name`, each member described by the keyword of its name."""
    if set(values) != set(domain.__members__):
        raise ValueError(f"{name}: describe exactly the members of {domain.__name__}")
    published = strawberry.enum(domain, name=name, description=description)
    assert has_enum_definition(published)
    for value in published.__strawberry_definition__.values:
        value.description = values[value.name]


_publish(
    Category, "ThreadCategory",
    "The three kinds of thread target, and the three thread lists.",
    MEMBER="Two-way conversations with one member.",
    SMARTLIST="Broadcasts to a smartlist (members' replies land in their member threads).",
    SESSION="Broadcasts to a session's booked members (replies land in member threads).",
)
ThreadCategory = Category

_publish(
    ListStatus, "ThreadStatusFilter",
    "The five filters of the thread list; a search narrows any of them.",
    ALL="Every thread not archived by the viewer.",
    UNREAD="Not archived, with at least one unread message for the viewer (muted ones included).",
    FAVORITES="Not archived, favorite for the viewer.",
    MUTED="Not archived, muted by the viewer.",
    ARCHIVED="Archived by the viewer, and only those.",
)
ThreadStatusFilter = ListStatus

_publish(
    Direction, "MessageDirection",
    "Who wrote a message.",
    OUTBOUND="Written by a staff user, sent to members.",
    INBOUND="A member's reply, received by webhook.",
)
MessageDirection = Direction

_publish(
    Channel, "Channel",
    "How a message travels.",
    EMAIL="Email, with an optional subject.",
    SMS="Text message (sending needs the sms add-on).",
)

_publish(
    DeliveryStatus, "DeliveryStatus",
    "Where one recipient's copy of an outbound message stands.",
    QUEUED="Waiting for the dispatcher (or for a retry after a temporary failure).",
    SENT="Handed to the email or SMS provider.",
    DELIVERED="The provider reported it delivered.",
    FAILED="Not delivered: the provider refused it, retries ran out, or the send was cut off (see reason).",
    SKIPPED="Never sent: no address, or the member opted out of this channel (see reason).",
)

_publish(
    FilterField, "SmartlistFilterField",
    "What a smartlist filter looks at; each field takes some operators only.",
    TAG="The member's tags: IN, EQ, NEQ, IS_SET, NOT_SET; tag names.",
    REGISTERED_AT="The sign-up date: EQ, LT, LTE, GT, GTE, BETWEEN; ISO dates.",
    AGE="Age today in the club's time zone: EQ, LT, LTE, GT, GTE, BETWEEN; whole years.",
    ACCOUNT_BALANCE="The account balance: EQ, LT, LTE, GT, GTE, BETWEEN; decimals.",
    UNPAID_INVOICES="Unpaid invoices: EQ, LT, LTE, GT, GTE, BETWEEN; whole numbers.",
    CITY="The address's city: EQ, NEQ, IN; case- and accent-insensitive names.",
    HAS_EMAIL="Whether the member has an email: IS_SET, NOT_SET.",
    HAS_PHONE="Whether the member has a phone: IS_SET, NOT_SET.",
)
SmartlistFilterField = FilterField

_publish(
    FilterOperator, "FilterOperator",
    "How a smartlist filter compares its field with its values.",
    EQ="Equal to the one value (TAG: has that tag).",
    NEQ="Not equal to the one value (TAG: has not that tag).",
    LT="Less than the one value.",
    LTE="Less than or equal to the one value.",
    GT="Greater than the one value.",
    GTE="Greater than or equal to the one value.",
    BETWEEN="Between the two values, both included.",
    IN="Equal to one of the values (TAG: has any of them).",
    IS_SET="The field has a value (TAG: any tag); takes no value.",
    NOT_SET="The field has no value; takes no value.",
)

_publish(
    ErrorCode, "UserErrorCode",
    "Why a mutation (or smartlistPreview) refused its input.",
    INVALID_INPUT="A value is malformed, out of range or inconsistent; `field` names it.",
    NOT_FOUND="No such object in the caller's club (ids of other clubs read as unknown).",
    THREAD_HAS_UNREAD="markThreadUnread on a thread that already shows unread messages for the viewer.",
    ADDON_REQUIRED="The club lacks the add-on this action needs (SMS sending needs the sms add-on).",
    NO_RECIPIENT="A broadcast whose smartlist or session resolves to no member at all.",
    NO_RECIPIENT_ADDRESS="A member thread whose member has no address for, or opted out of, the chosen channel.",
)
UserErrorCode = ErrorCode

_publish(
    UpdateReason, "ThreadUpdateReason",
    "A hint of what changed; `thread` is the whole new state. Values may be added: keep a default branch.",
    CATCH_UP="Sent first, once per thread changed since threadUpdated(after:), before live updates.",
    CREATED="A new thread appeared in the list.",
    MESSAGE_ADDED="A message was sent or received; `message` is it.",
    READ="The subscriber read the thread.",
    UNREAD="The subscriber marked the thread unread.",
    FAVORITE_CHANGED="The subscriber (un)favorited it.",
    MUTE_CHANGED="The subscriber muted or reactivated it.",
    ARCHIVE_CHANGED="The subscriber archived or restored it.",
    DELIVERY_CHANGED="Deliveries of `message` changed status (at most once a second per message).",
)
ThreadUpdateReason = UpdateReason

__all__ = ["Channel", "DeliveryStatus", "FilterOperator", "MessageDirection", "SmartlistFilterField", "ThreadCategory",
           "ThreadStatusFilter", "ThreadUpdateReason", "UserErrorCode"]
