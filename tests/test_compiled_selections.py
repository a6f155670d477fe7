"""Compiled selections (schema/compiled.py) answer exactly what graphql-core answers, and hand back to
graphql-core whatever is not ordinary: an awaitable, an error, a null where the schema forbids one,
an unexpected class. A small schema of the same shapes as the inbox's (a connection of objects with a
union and leaves) is executed both ways; the inbox's own documents are compared in test_read_path.py."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest
import strawberry

from schema import execution
from schema.execution import fast_execution_context


@strawberry.type
class Person:
    id: strawberry.ID
    name: str
    nickname: str | None = None

    @strawberry.field
    def shout(self) -> str:
        if self.name == "boom":
            raise ValueError("no shouting")
        return self.name.upper()


@strawberry.type
class Badge:
    """A sync field with `info`: compiled, it gets a DeferredInfo, built in full only when read."""

    @strawberry.field
    def seen(self, info: strawberry.Info) -> str:
        return f"{info.field_name} {list(info.path.as_list())} {info.context['who']} {info.python_name}"


@strawberry.type
class Group:
    id: strawberry.ID
    title: str


Target = Annotated[Person | Group, strawberry.union("Target")]


@strawberry.type
class Item:
    position: int
    tags: list[str]
    person: Person | None
    payload: strawberry.Private[Any] = None

    @strawberry.field
    def badge(self) -> Badge:
        return Badge()

    @strawberry.field
    def target(self) -> Target:
        return self.payload

    @strawberry.field
    def label(self) -> str:
        return self.payload  # a coroutine here is awaited by graphql-core (`later` in the inbox)


@strawberry.type
class Page:
    items: list[Item]
    count: int


async def _late(value: str) -> str:
    await asyncio.sleep(0)
    return value


ITEMS: list[Item] = []


@strawberry.type
class Query:
    @strawberry.field
    async def page(self, kind: str = "plain") -> Page:
        people = [Person(id=strawberry.ID(str(n)), name=f"p{n}", nickname=None if n % 2 else "nick")
                  for n in range(3)]
        items = [Item(position=n, tags=["a", "b"], person=people[n], payload=people[n]) for n in range(3)]
        items.append(Item(position=3, tags=[], person=None, payload=Group(id=strawberry.ID("g"), title="G")))
        if kind == "late":
            items[1].payload = _late("late")
        if kind == "error":
            items[2].person = Person(id=strawberry.ID("x"), name="boom")
        if kind == "null":
            items[0].tags = None  # type: ignore[assignment]
        if kind == "stranger":
            items[0].payload = "not a member of the union"
        return Page(items=items, count=len(items))


def _schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    plain = strawberry.Schema(query=Query)
    fast = strawberry.Schema(query=Query)
    fast.execution_context_class = fast_execution_context(fast._schema, fast.config.info_class)
    return plain, fast


SELECTION = """{ page(kind: "%s") { count items { position tags person { id name nickname shout }
  target { __typename ... on Person { id name } ... on Group { id title } } } } }"""


@pytest.mark.parametrize("kind", ["plain", "error", "null", "stranger"])
async def test_a_compiled_selection_answers_what_graphql_core_answers(kind: str) -> None:
    plain, fast = _schemas()
    before = execution.COMPILED["fell_back"]
    expected = await plain.execute(SELECTION % kind)
    answered = await fast.execute(SELECTION % kind)
    assert answered.data == expected.data
    assert [(e.message, e.path) for e in answered.errors or []] == [(e.message, e.path) for e in expected.errors or []]
    fell_back = execution.COMPILED["fell_back"] - before
    # An ordinary page is compiled; otherwise each enclosing selection falls back once per operation.
    assert (fell_back == 0) == (kind == "plain") and fell_back <= 3


async def test_an_awaitable_in_a_compiled_selection_is_left_to_graphql_core() -> None:
    plain, fast = _schemas()
    document = '{ page(kind: "late") { items { position label } } }'
    expected = await plain.execute(document)
    before = execution.COMPILED["fell_back"]
    answered = await fast.execute(document)
    assert answered.errors is None and answered.data == expected.data
    assert answered.data is not None and answered.data["page"]["items"][1]["label"] == "late"
    assert 1 <= execution.COMPILED["fell_back"] - before <= 2


async def test_a_resolver_with_info_reads_what_graphql_core_gives_it() -> None:
    plain, fast = _schemas()
    document = "{ page { items { badge { seen } } } }"
    expected = await plain.execute(document, context_value={"who": "me"})
    before = execution.COMPILED["completed"]
    answered = await fast.execute(document, context_value={"who": "me"})
    assert answered.errors is None and answered.data == expected.data
    assert answered.data is not None and answered.data["page"]["items"][1]["badge"]["seen"] == (
        "seen ['page', 'items', 1, 'badge', 'seen'] me seen")
    assert execution.COMPILED["completed"] > before


async def test_selections_with_directives_are_not_compiled() -> None:
    plain, fast = _schemas()
    document = 'query($on: Boolean!) { page { items { position person @include(if: $on) { name } } } }'
    for on in (True, False):
        expected = await plain.execute(document, variable_values={"on": on})
        answered = await fast.execute(document, variable_values={"on": on})
        assert answered.data == expected.data
