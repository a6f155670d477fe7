"""The table rows of a document's items: normalised values, and the folded keys that searches use."""

from __future__ import annotations

from typing import Any

from inbox.importer.document import ClubIn, MemberIn, SessionIn, SmartlistIn, StaffIn
from inbox.phones import searchable_digits
from inbox.text import fold, member_search_text


def club_row(club: ClubIn) -> dict[str, Any]:
    return {
        "slug": club.slug, "name": club.name, "country": club.country, "timezone": club.timezone,
        "currency": club.currency, "backoffice_url": club.backoffice_url, "addons": club.addons,
        "sms_number": club.sms_number, "inbound_email": club.inbound_email,
    }


def staff_row(club_id: int, staff: StaffIn) -> dict[str, Any]:
    return {"club_id": club_id, "external_id": staff.id, "name": staff.name, "email": staff.email,
            "email_normalized": staff.email.strip().casefold()}


def member_row(club_id: int, m: MemberIn) -> dict[str, Any]:
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


def session_row(club_id: int, s: SessionIn) -> dict[str, Any]:
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


def smartlist_row(club_id: int, s: SmartlistIn) -> dict[str, Any]:
    return {
        "club_id": club_id,
        "external_id": s.id,
        "name": s.name,
        "name_key": fold(s.name),
        "description": s.description,
        "filters": [{"field": f.field, "operator": f.operator, "values": list(f.values)} for f in s.filters],
    }
