"""Text normalisation for search and ordering: one definition, used on write and on query."""

from __future__ import annotations

import re

from unidecode import unidecode

_PHONE_CHARS = re.compile(r"^[\d\s.\-()+]+$")
_NON_DIGITS = re.compile(r"\D")
MIN_PHONE_DIGITS = 3


def fold(value: str | None) -> str:
    """Casefolded, accents stripped, white space collapsed: "Héloïse  Œuvre" -> "heloise oeuvre"."""
    if not value:
        return ""
    return collapse_spaces(unidecode(value).casefold())


def collapse_spaces(value: str) -> str:
    """Runs of white space as one space, none at the ends (`str.split` knows the same white space
    as the regex `\\s+`, checked over every code point, and is five times faster)."""
    return " ".join(value.split())


def member_search_text(first_name: str, last_name: str, email: str | None) -> str:
    """The fields a member search word may match, folded and separated by spaces.

    Words never contain spaces, so a word cannot match across two fields.
    """
    return " ".join(part for part in (fold(first_name), fold(last_name), fold(email)) if part)


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SearchTerms:
    """A search text split into what each word must match.

    Adjacent words made only of phone characters are joined ("06 12 34" is one phone word);
    a phone word of 3 or more digits matches the phone's digits, any other word the folded text.
    """

    def __init__(self, text_words: list[str], phone_words: list[str]) -> None:
        self.text_words = text_words
        self.phone_words = phone_words

    @classmethod
    def parse(cls, search: str | None) -> SearchTerms:
        text_words: list[str] = []
        phone_words: list[str] = []
        pending_phone: list[str] = []

        def flush() -> None:
            if not pending_phone:
                return
            digits = _NON_DIGITS.sub("", "".join(pending_phone))
            if len(digits) >= MIN_PHONE_DIGITS:
                phone_words.append(digits)
            else:
                text_words.extend(w for w in (fold(p) for p in pending_phone) if w)
            pending_phone.clear()

        for word in (search or "").split():
            if _PHONE_CHARS.match(word) and any(c.isdigit() for c in word):
                pending_phone.append(word)
                continue
            flush()
            folded = fold(word)
            if folded:
                text_words.append(folded)
        flush()
        return cls(text_words, phone_words)
