"""A club's own rules: where members' replies reach it, and its back office's links."""

from __future__ import annotations

from models import Club

TWO_WAY_SMS_COUNTRIES = frozenset({"CA", "US", "GB"})
BACKOFFICE_PATHS = {"MEMBER": "members", "SMARTLIST": "smartlists", "SESSION": "sessions"}


def has_two_way_sms_country(club: Club) -> bool:
    """Members' SMS replies are received only in Canada, the United States and the United Kingdom."""
    return club.country.upper() in TWO_WAY_SMS_COUNTRIES


def receives_sms_replies(club: Club) -> bool:
    return "sms" in (club.addons or []) and has_two_way_sms_country(club)


def backoffice_link(club: Club, category: str, external_id: str) -> str:
    """The page of a member, smartlist or session in the club platform's back office."""
    return f"{club.backoffice_url.rstrip('/')}/{BACKOFFICE_PATHS[category]}/{external_id}"
