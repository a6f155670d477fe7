"""Search conditions, shared by every list that searches (members, threads, smartlists, sessions)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, true
from sqlalchemy.orm import InstrumentedAttribute

from inbox.text import SearchTerms, escape_like, fold
from models import Member

MAX_SEARCH = 200  # characters: bounds the words, hence the LIKE conditions, one search compiles to


def _contains(column: InstrumentedAttribute[str] | ColumnElement[str], word: str) -> ColumnElement[bool]:
    return column.like(f"%{escape_like(word)}%", escape="\\")


def _distinct(words: Iterable[str]) -> list[str]:
    """Each word once: a repeated word adds nothing but work."""
    return list(dict.fromkeys(words))


def member_search_condition(search: str | None) -> ColumnElement[bool]:
    """Every word matches the first name, last name, email or phone (see docs/rules.md, The thread list)."""
    terms = SearchTerms.parse(search)
    conditions: list[ColumnElement[bool]] = [_contains(Member.search_text, w) for w in _distinct(terms.text_words)]
    conditions += [_contains(Member.phone_digits, digits) for digits in _distinct(terms.phone_words)]
    return and_(*conditions) if conditions else true()


def name_search_condition(
    name_key: InstrumentedAttribute[str], search: str | None
) -> ColumnElement[bool]:
    """Every word is a substring of the folded name (smartlists, sessions)."""
    words = _distinct(w for w in fold(search).split() if w)
    return and_(*[_contains(name_key, w) for w in words]) if words else true()


