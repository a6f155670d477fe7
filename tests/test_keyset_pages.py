"""The one keyset-page helper every list uses: a cursor's key must fit the list's key, or it is malformed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inbox.errors import BadUserInput
from inbox.pagination import decode_key, encode_cursor, keyset_page


def test_a_key_that_fits_is_answered_with_its_date_time_parsed() -> None:
    moment = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    cursor = encode_cursor("d", [moment.isoformat(), 7])
    assert decode_key(cursor, "d", datetime, int) == [moment, 7]
    assert decode_key(None, "d", int) is None


@pytest.mark.parametrize("key", [[1], [1, 2, 3], ["1", 2], [True, 2], [1.5, 2]])
def test_a_key_of_another_shape_is_malformed(key: list[object]) -> None:
    with pytest.raises(BadUserInput, match="Malformed cursor"):
        decode_key(encode_cursor("d", key), "d", int, int)


def test_a_cursor_of_another_list_is_refused() -> None:
    with pytest.raises(BadUserInput, match="another list"):
        decode_key(encode_cursor("other", [1]), "d", int)


def test_the_extra_row_only_says_a_next_page_exists() -> None:
    page = keyset_page([1, 2, 3], 2, "d", lambda n: [n], after=None)
    assert page.items == [1, 2] and page.has_next_page and not page.has_previous_page
    assert decode_key(page.cursors[-1], "d", int) == [2]
    last = keyset_page([3], 2, "d", lambda n: [n], after=[2])
    assert last.items == [3] and not last.has_next_page and last.has_previous_page
