"""A message's preview is the first characters of its body with white space collapsed (inbox.md, the
list's last message): the same whether the body is collapsed whole or only its start is."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inbox.messages import message_preview
from inbox.text import collapse_spaces

PIECES = ["word", "é", " ", "  ", "\n", "\t\t", " " * 300, "x" * 50]
bodies = st.lists(st.sampled_from(PIECES), max_size=80).map("".join)


@settings(max_examples=400, deadline=None)
@given(body=bodies, length=st.sampled_from([0, 1, 5, 140, 500]))
def test_a_preview_is_the_collapsed_body_cut_at_its_length(body: str, length: int) -> None:
    assert message_preview(body, length) == collapse_spaces(body)[:length]


def test_a_long_email_and_one_that_starts_with_a_long_gap_preview_alike() -> None:
    assert message_preview("Hello   there\n" * 10_000, 12) == "Hello there "[:12]
    assert message_preview(" " * 5_000 + "Hi  you", 140) == "Hi you"
