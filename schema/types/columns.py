"""Fields read off the row a schema object wraps, when a query selects them.

A list page wraps 50 rows of 30 columns and selects a handful: copying every column into the object
up front cost a threads page more than reading the few it selects (py-spy: `Member.from_row` was
5% of the page). These fields are methods of the object (the execution's plain-leaf path reads them
directly); a field's type is the class annotation beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

import strawberry

from schema.enums import member_by_value


def computed(name: str, description: str, value_of: Callable[[Any], Any]) -> Any:
    """The field whose value is `value_of(self.row)`."""
    def read(self: Any) -> Any:
        return value_of(self.row)
    read.__name__ = name
    read.row_value = value_of  # type: ignore[attr-defined]  # compiled selections call it on the row inline
    return strawberry.field(description=description, resolver=read)


def column(name: str, description: str, convert: Callable[[Any], Any] | None = None) -> Any:
    """The field whose value is `self.row.<name>`, passed through `convert` when given and not null."""
    if convert is None:
        def read(self: Any) -> Any:
            return getattr(self.row, name)
        read.__name__ = name
        read.row_column = name  # type: ignore[attr-defined]  # compiled selections read it inline
        return strawberry.field(description=description, resolver=read)

    to_value: Callable[[Any], Any] = convert
    if isinstance(convert, type) and issubclass(convert, Enum):
        to_value = member_by_value(convert)

    def converted(row: Any) -> Any:
        value = getattr(row, name)
        return None if value is None else to_value(value)
    return computed(name, description, converted)

