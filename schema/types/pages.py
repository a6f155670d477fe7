"""Pages of the schema's lists (Relay connections), the Node interface, and `later` for fields that are
sync when their data is loaded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar, cast

import strawberry

from inbox.pagination import Page
from schema.info import Info


@strawberry.interface(description="An object with a global id: node(id:) and nodes(ids:) load it again.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque, globally unique id; the same id always names the same object."
    )


@strawberry.type(description="Where a page stands in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether items follow this page (read them with `after`).")
    has_previous_page: bool = strawberry.field(
        description="Whether items precede this page (read them with `before`, where the list takes it).")
    start_cursor: str | None = strawberry.field(description="The first edge's cursor; null for an empty page.")
    end_cursor: str | None = strawberry.field(
        description="The last edge's cursor, to pass as `after` for the next page; null for an empty page.")

    @classmethod
    def of(cls, page: Page[Any]) -> PageInfo:
        return cls(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        )


NodeT = TypeVar("NodeT")


T = TypeVar("T")


@strawberry.type(description="One item of a page and its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(
        description="Opaque position of the item in its list; it stays valid when the item moves.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="One page of a list read by cursor (Relay connection).")
class Connection(Generic[NodeT]):
    """A page of a keyset-paginated list (strawberry names it MemberConnection, ThreadConnection...)."""

    edges: list[Edge[NodeT]] = strawberry.field(description="The page's items, in the list's order.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more items precede or follow.")
    page: strawberry.Private[Page[Any]]

    @strawberry.field(description="How many items match the list's filters in all, whatever the cursor.")
    def total_count(self, info: Info) -> int:
        if self.page.total is not None:
            return self.page.total
        return later(info.context.total_count(self.page))


def connection(page: Page[Any], wrap: Callable[[Any], NodeT]) -> Connection[NodeT]:
    """The connection of a domain page, each item wrapped in its schema type."""
    edges = [Edge(cursor=cursor, node=wrap(item)) for item, cursor in zip(page.items, page.cursors, strict=True)]
    return Connection(edges=edges, page_info=PageInfo.of(page), page=page)


def later(awaitable: Awaitable[T]) -> T:
    """A resolver's awaitable result, typed as its value: graphql-core awaits what a sync resolver
    returns, so a field can be sync when its data is loaded and async only when it is not."""
    return cast(T, awaitable)
