"""Enumerations of the contract (values are the domain's strings)."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="The three kinds of thread target, and the three thread lists.")
class ThreadCategory(Enum):
    MEMBER = strawberry.enum_value("MEMBER", description="Two-way conversations with one member.")
    SMARTLIST = strawberry.enum_value(
        "SMARTLIST", description="Broadcasts to a smartlist (members' replies land in their member threads).")
    SESSION = strawberry.enum_value(
        "SESSION", description="Broadcasts to a session's booked members (replies land in member threads).")


@strawberry.enum(description="The five filters of the thread list; a search narrows any of them.")
class ThreadStatusFilter(Enum):
    ALL = strawberry.enum_value("ALL", description="Every thread not archived by the viewer.")
    UNREAD = strawberry.enum_value(
        "UNREAD", description="Not archived, with at least one unread message for the viewer (muted ones included).")
    FAVORITES = strawberry.enum_value("FAVORITES", description="Not archived, favorite for the viewer.")
    MUTED = strawberry.enum_value("MUTED", description="Not archived, muted by the viewer.")
    ARCHIVED = strawberry.enum_value("ARCHIVED", description="Archived by the viewer, and only those.")


@strawberry.enum(description="Who wrote a message.")
class MessageDirection(Enum):
    OUTBOUND = strawberry.enum_value("OUTBOUND", description="Written by a staff user, sent to members.")
    INBOUND = strawberry.enum_value("INBOUND", description="A member's reply, received by webhook.")


@strawberry.enum(description="How a message travels.")
class Channel(Enum):
    EMAIL = strawberry.enum_value("EMAIL", description="Email, with an optional subject.")
    SMS = strawberry.enum_value("SMS", description="Text message (sending needs the sms add-on).")


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


@strawberry.enum(description="What a smartlist filter looks at; each field takes some operators only.")
class SmartlistFilterField(Enum):
    TAG = strawberry.enum_value("TAG", description="The member's tags: IN, EQ, NEQ, IS_SET, NOT_SET; tag names.")
    REGISTERED_AT = strawberry.enum_value(
        "REGISTERED_AT", description="The sign-up date: EQ, LT, LTE, GT, GTE, BETWEEN; ISO dates.")
    AGE = strawberry.enum_value(
        "AGE", description="Age today in the club's time zone: EQ, LT, LTE, GT, GTE, BETWEEN; whole years.")
    ACCOUNT_BALANCE = strawberry.enum_value(
        "ACCOUNT_BALANCE", description="The account balance: EQ, LT, LTE, GT, GTE, BETWEEN; decimals.")
    UNPAID_INVOICES = strawberry.enum_value(
        "UNPAID_INVOICES", description="Unpaid invoices: EQ, LT, LTE, GT, GTE, BETWEEN; whole numbers.")
    CITY = strawberry.enum_value(
        "CITY", description="The address's city: EQ, NEQ, IN; case- and accent-insensitive names.")
    HAS_EMAIL = strawberry.enum_value("HAS_EMAIL", description="Whether the member has an email: IS_SET, NOT_SET.")
    HAS_PHONE = strawberry.enum_value("HAS_PHONE", description="Whether the member has a phone: IS_SET, NOT_SET.")


@strawberry.enum(description="How a smartlist filter compares its field with its values.")
class FilterOperator(Enum):
    EQ = strawberry.enum_value("EQ", description="Equal to the one value (TAG: has that tag).")
    NEQ = strawberry.enum_value("NEQ", description="Not equal to the one value (TAG: has not that tag).")
    LT = strawberry.enum_value("LT", description="Less than the one value.")
    LTE = strawberry.enum_value("LTE", description="Less than or equal to the one value.")
    GT = strawberry.enum_value("GT", description="Greater than the one value.")
    GTE = strawberry.enum_value("GTE", description="Greater than or equal to the one value.")
    BETWEEN = strawberry.enum_value("BETWEEN", description="Between the two values, both included.")
    IN = strawberry.enum_value("IN", description="Equal to one of the values (TAG: has any of them).")
    IS_SET = strawberry.enum_value("IS_SET", description="The field has a value (TAG: any tag); takes no value.")
    NOT_SET = strawberry.enum_value("NOT_SET", description="The field has no value; takes no value.")


@strawberry.enum(description="Why a mutation (or smartlistPreview) refused its input.")
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
    CREATED = strawberry.enum_value("CREATED", description="A new thread appeared in the list.")
    MESSAGE_ADDED = strawberry.enum_value(
        "MESSAGE_ADDED", description="A message was sent or received; `message` is it.")
    READ = strawberry.enum_value("READ", description="The subscriber read the thread.")
    UNREAD = strawberry.enum_value("UNREAD", description="The subscriber marked the thread unread.")
    FAVORITE_CHANGED = strawberry.enum_value("FAVORITE_CHANGED", description="The subscriber (un)favorited it.")
    MUTE_CHANGED = strawberry.enum_value("MUTE_CHANGED", description="The subscriber muted or reactivated it.")
    ARCHIVE_CHANGED = strawberry.enum_value("ARCHIVE_CHANGED", description="The subscriber archived or restored it.")
    DELIVERY_CHANGED = strawberry.enum_value(
        "DELIVERY_CHANGED", description="Deliveries of `message` changed status (at most once a second per message).")
