"""Arguments many fields share, each with its description (so every list explains its paging the same way)."""

from __future__ import annotations

from typing import Annotated, TypeVar

import strawberry

from schema.enums import Channel

First = Annotated[int | None, strawberry.argument(
    description="Page size, from 1 to 100 (more is an error, never a silent clamp).")]
After = Annotated[str | None, strawberry.argument(
    description="Read on after this cursor: an edge's cursor or pageInfo.endCursor of the same list.")]
SearchNames = Annotated[str | None, strawberry.argument(
    description="Keeps names matching every word, case- and accent-insensitively (at most 200 characters).")]
SearchMembers = Annotated[str | None, strawberry.argument(
    description="Keeps members whose first name, last name, email or phone match every word, case- and "
    "accent-insensitively; phone digits match whatever their formatting (at most 200 characters).")]
Last = Annotated[int | None, strawberry.argument(
    description="Page size counted back from the end (or from `before`), from 1 to 100.")]
MessageAfter = Annotated[str | None, strawberry.argument(
    description="A Message.cursor: read the messages after it.")]
Before = Annotated[str | None, strawberry.argument(description="A Message.cursor: read the messages before it.")]
Around = Annotated[str | None, strawberry.argument(
    description="A Message.cursor: the page centred on that message (e.g. the first unread one).")]
SendChannel = Annotated[Channel, strawberry.argument(description="The channel a send would use.")]

InputT = TypeVar("InputT")
Input = Annotated[InputT, strawberry.argument(description="The mutation's input, as one object.")]
