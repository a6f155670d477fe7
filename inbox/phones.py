"""Phone numbers: E.164 normalisation and the digits that phone search matches."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    pass


def to_e164(raw: str, default_country: str | None) -> str:
    """Parse a number written in international form or in `default_country`'s national form."""
    try:
        number = phonenumbers.parse(raw, (default_country or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_e164(raw: str | None, default_country: str | None) -> str | None:
    if not raw:
        return None
    try:
        return to_e164(raw, default_country)
    except InvalidPhone:
        return None


def searchable_digits(e164: str | None) -> str:
    """International and national digits, space separated: "+33612345678" -> "33612345678 0612345678"."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164, None)
    international = e164.lstrip("+")
    national = "".join(
        c for c in phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL) if c.isdigit()
    )
    return f"{international} {national}" if national and national != international else international
