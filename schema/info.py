"""The `info` every resolver of the schema receives, its `context` typed as the inbox's own."""

from __future__ import annotations

from typing import TypeAlias

from strawberry.types import Info as StrawberryInfo

from resolvers.context import Context

Info: TypeAlias = StrawberryInfo[Context, None]
