"""The club, its staff and its members, with the small values a member carries (address, money)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from inbox.barcodes import barcode_svg
from inbox.clubs import backoffice_link, receives_sms_replies
from inbox.members import member_full_name
from inbox.money import quantize
from inbox.pagination import Page
from models import Club as ClubRow
from models import Member as MemberRow
from models import Staff as StaffRow
from resolvers.ids import encode_id
from schema.info import Info
from schema.types.columns import column, computed
from schema.types.pages import Connection, Node, connection

if TYPE_CHECKING:  # threads.py imports this module: its resolvers import Thread when they run
    from schema.types.threads import Thread


@strawberry.type(description="A postal address.")
class Address:
    street: str = strawberry.field(description="Street and number.")
    postal_code: str = strawberry.field(description="Postal code, as the club platform gave it.")
    city: str = strawberry.field(description="City name.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")

    @classmethod
    def of(cls, street: str | None, postal_code: str | None, city: str | None, country: str | None) -> Address | None:
        if not any((street, postal_code, city, country)):
            return None
        return cls(street=street or "", postal_code=postal_code or "", city=city or "", country=country or "")


@strawberry.type(description="Whom to call if something happens to the member.")
class EmergencyContact:
    name: str = strawberry.field(description="The contact's name.")
    phone: str = strawberry.field(description="The contact's phone number, as the club platform gave it.")
    relationship: str | None = strawberry.field(description="How the contact relates to the member, e.g. brother.")


@strawberry.type(description="An amount of money in one currency.")
class Money:
    amount: Decimal = strawberry.field(description="The exact amount, rounded to the currency's minor unit.")
    currency: str = strawberry.field(description="ISO 4217 currency code.")


@strawberry.type(description="The caller's club (the tenant): every object of the API belongs to one.")
class Club(Node):
    name: str = strawberry.field(description="The club's display name.")
    receives_sms_replies: bool = strawberry.field(
        description="Whether members' SMS replies reach the inbox (the sms add-on, in CA, US or GB).")
    receives_email_replies: bool = strawberry.field(
        description="Whether members' email replies reach the inbox (the club has an inbound address).")
    timezone: str = strawberry.field(
        description="IANA time zone, e.g. Europe/London: the calendar's days are this zone's.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2.")
    currency: str = strawberry.field(description="ISO 4217.")
    addons: list[str] = strawberry.field(description='Enabled add-ons, e.g. ["inbox", "sms"].')

    @classmethod
    def from_row(cls, row: ClubRow) -> Club:
        addons = list(row.addons or [])
        return cls(
            id=strawberry.ID(encode_id("Club", row.id)),
            name=row.name,
            receives_sms_replies=receives_sms_replies(row),
            receives_email_replies=row.inbound_email is not None,
            timezone=row.timezone,
            country=row.country,
            currency=row.currency,
            addons=addons,
        )


@strawberry.type(description="A back-office user of the club; thread state (read, favorite, muted, archived) is "
                 "per staff user.")
class Staff(Node):
    name: str = strawberry.field(description="Display name.")
    email: str = strawberry.field(description="Sign-in email address.")
    external_id: str = strawberry.field(description="The club platform's own id of this staff user (as imported).")

    @classmethod
    def from_row(cls, row: StaffRow) -> Staff:
        return cls(id=strawberry.ID(encode_id("Staff", row.id)), name=row.name, email=row.email,
                   external_id=row.external_id)


@strawberry.type(description="A customer of the club: a thread's target, a message's author, a recipient.")
class Member(Node):
    member_number: str = column("member_number", "The club's own member number (the 'member ID' shown to staff).")
    first_name: str = column("first_name", "Given name.")
    last_name: str = column("last_name", "Family name.")
    full_name: str = computed("full_name", "First name then last name.",
                              lambda row: member_full_name(row.first_name, row.last_name))
    email: str | None = column("email", "Email address, if the member has one.")
    phone: str | None = column("phone", "E.164, e.g. +33612345678.")
    accepts_email: bool = column("accepts_email",
                                 "False once the member opted out of email; broadcasts then skip them.")
    accepts_sms: bool = column("accepts_sms", "False once the member opted out of SMS (e.g. replied STOP).")
    registered_at: dt.date = column("registered_at", "The day the member signed up.")
    birth_date: dt.date | None = column("birth_date", "Date of birth, if known.")
    barcode: str | None = column("barcode", "The membership card's barcode number, if any.")
    photo_url: str | None = column("photo_url", "The member's picture, if the platform has one.")
    tags: list[str] = computed("tags", "The member's tags (the smartlists' TAG filter reads them).",
                               lambda row: list(row.tags or []))
    unpaid_invoices_count: int = column("unpaid_invoices_count", "Invoices the member has not paid yet.")
    documents_count: int = column("documents_count", "Documents on file in the club platform.")
    notes_count: int = column("notes_count", "Staff notes on file in the club platform.")
    external_id: str = column("external_id", "The club platform's own id of this member (as imported).")
    pk: strawberry.Private[int]
    row: strawberry.Private[MemberRow]
    club: strawberry.Private[ClubRow]


    @strawberry.field(description="Postal address; null when the platform has none.")
    def address(self) -> Address | None:
        row = self.row
        return Address.of(row.address_street, row.address_postal_code, row.address_city, row.address_country)

    @strawberry.field(description="Null when none was given.")
    def emergency_contact(self) -> EmergencyContact | None:
        row = self.row
        if not row.emergency_name:
            return None
        return EmergencyContact(name=row.emergency_name, phone=row.emergency_phone or "",
                                relationship=row.emergency_relationship)

    @strawberry.field(description="Negative when the member owes money.")
    def account_balance(self) -> Money:
        currency = self.club.currency
        return Money(amount=quantize(Decimal(self.row.account_balance), currency), currency=currency)

    @strawberry.field(description="The member's profile page in the back office.")
    def profile_url(self) -> str:
        return backoffice_link(self.club, "MEMBER", self.row.external_id)

    @strawberry.field(
        description="The barcode rendered as an SVG document, generated by the server (safe to display as an image)."
    )
    def barcode_svg(self) -> str | None:
        return barcode_svg(self.row.barcode) if self.row.barcode else None

    @strawberry.field(description="The member thread, if one exists.")
    async def thread(self, info: Info) -> Annotated[Thread, strawberry.lazy("schema.types.threads")] | None:
        from schema.types.threads import thread_of_target

        return await thread_of_target(info, "MEMBER", self.pk)

    @classmethod
    def from_row(cls, row: MemberRow, club: ClubRow) -> Member:
        return cls(id=strawberry.ID(encode_id("Member", row.id)), pk=row.id, row=row, club=club)


# The member columns each field reads (besides `id`, which every member has loaded).
_FIELD_COLUMNS: dict[str, frozenset[str]] = {name: frozenset(columns) for name, columns in {
    "__typename": (), "id": (), "thread": (), "memberNumber": ("member_number",), "firstName": ("first_name",),
    "lastName": ("last_name",), "fullName": ("first_name", "last_name"), "email": ("email",), "phone": ("phone",),
    "acceptsEmail": ("accepts_email",), "acceptsSms": ("accepts_sms",), "registeredAt": ("registered_at",),
    "birthDate": ("birth_date",), "barcode": ("barcode",), "barcodeSvg": ("barcode",), "photoUrl": ("photo_url",),
    "tags": ("tags",), "unpaidInvoicesCount": ("unpaid_invoices_count",), "documentsCount": ("documents_count",),
    "notesCount": ("notes_count",), "externalId": ("external_id",), "profileUrl": ("external_id",),
    "accountBalance": ("account_balance",),
    "address": ("address_street", "address_postal_code", "address_city", "address_country"),
    "emergencyContact": ("emergency_name", "emergency_phone", "emergency_relationship"),
}.items()}


def member_columns(fields: frozenset[str]) -> frozenset[str] | None:
    """The member columns that a selection of these fields reads; None (every column) when a field is
    not known here."""
    if not fields <= _FIELD_COLUMNS.keys():
        return None
    return frozenset({"id"}).union(*(_FIELD_COLUMNS[name] for name in fields))


def member_connection(page: Page[MemberRow], club: ClubRow) -> Connection[Member]:
    return connection(page, lambda row: Member.from_row(row, club))
