"""Keyset pagination: page sizes, and opaque cursors that carry their key values.

A cursor names the list it belongs to (a digest of the list's parameters), so a cursor of another
list is refused instead of silently giving a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Generic, TypeVar

import orjson

from inbox.errors import BadUserInput

MAX_PAGE_SIZE = 100
T = TypeVar("T")


def page_size(first: int | None, last: int | None = None, default: int = 20) -> int:
    """The number of items asked for: `first` or `last`, 1..100, never both."""
    if first is not None and last is not None:
        raise BadUserInput("Pass either `first` or `last`, not both")
    size = first if first is not None else last
    if size is None:
        return default
    if not 1 <= size <= MAX_PAGE_SIZE:
        name = "first" if first is not None else "last"
        raise BadUserInput(f"`{name}` must be between 1 and {MAX_PAGE_SIZE}, got {size}")
    return size


def list_digest(*parts: Any) -> str:
    """A short digest naming one list (kind, viewer, filters): cursors carry it."""
    return _digest(tuple(tuple(part) if isinstance(part, list) else part for part in parts))


@lru_cache(maxsize=4096)  # every cursor of a page names the same list: one sha256 per list, not per item
def _digest(parts: tuple[Any, ...]) -> str:
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def encode_cursor(digest: str, key: Sequence[Any]) -> str:
    # orjson, with dates written as str() writes them, as the json module did (a third of the cost);
    # base64.urlsafe_b64encode without its two extra calls.
    raw = orjson.dumps([digest, key], default=str, option=orjson.OPT_PASSTHROUGH_DATETIME)
    return binascii.b2a_base64(raw, newline=False).rstrip(b"=").translate(_URL_SAFE).decode()


def decode_cursor(cursor: str | None, digest: str) -> list[Any] | None:
    """The key values of a cursor of this list; BadUserInput when malformed or of another list."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_digest, key = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise BadUserInput("Malformed cursor") from exc
    if cursor_digest != digest or not isinstance(key, list):
        raise BadUserInput("This cursor belongs to another list")
    return key


def decode_key(cursor: str | None, digest: str, *shape: type) -> list[Any] | None:
    """The key of a cursor of this list, checked against the key's shape (`int`, `str`, or `datetime`
    for an ISO string, which is parsed); BadUserInput when it does not fit."""
    key = decode_cursor(cursor, digest)
    if key is None:
        return None
    if len(key) != len(shape):
        raise BadUserInput("Malformed cursor")
    return [_key_part(part, kind) for part, kind in zip(key, shape, strict=True)]


def _key_part(part: Any, kind: type) -> Any:
    if kind is datetime and isinstance(part, str):
        try:
            return datetime.fromisoformat(part)
        except ValueError:
            pass
    elif kind is int and isinstance(part, int) and not isinstance(part, bool):
        return part
    elif kind is str and isinstance(part, str):
        return part
    raise BadUserInput("Malformed cursor")


def keyset_page(rows: Sequence[T], size: int, digest: str, key_of: Callable[[T], list[Any]], *, after: Any,
                count_query: Any = None) -> Page[T]:
    """A page from the `size + 1` rows read after a key (`after`: the decoded key, None on the first
    page): the extra row only says that a next page exists."""
    items = list(rows[:size])
    return Page(items=items, cursors=[encode_cursor(digest, key_of(item)) for item in items],
                has_next_page=len(rows) > size, has_previous_page=after is not None, count_query=count_query)


@dataclass
class Page(Generic[T]):
    """One page of a keyset-paginated list, with the cursor of each item."""

    items: list[T]
    cursors: list[str]
    has_next_page: bool = False
    has_previous_page: bool = False
    # Counts every item matching the list's filters, whatever the cursor; run only when asked. A
    # function returning that query is welcome where building it costs (see `count_statement`).
    count_query: Any = field(default=None, repr=False)
    # That count, when the list's own statement already made it.
    total: int | None = None
    # Rows the list's statement loaded beside its items (e.g. messages' authors), for the dataloaders.
    related: list[Any] = field(default_factory=list, repr=False)

    def count_statement(self) -> Any:
        """The count query, built now if it was given as a function."""
        return self.count_query() if callable(self.count_query) else self.count_query
