"""One subscription event shaped once per group of subscribers that see the same thing.

Re-executing a subscription's document for every subscriber costs about half a millisecond each:
one message to a thousand subscribers of a club spent most of its fan-out there. The hub already
hands every subscriber of the same viewer the same row object; the layer above wraps it in one
`SharedEvent` (the value built once), and the executor below runs the document once per
(operation, variables, principal) for that event: every other member of the group receives the same
`ExecutionResult`, hence the same bytes. Anything that is not a `SharedEvent` executes as usual.

What keys a group is everything an answer depends on: the row (one per viewer and change), the
parsed operation, its variables and who asks (club, staff user, add-ons). Two staff users never share
a row, so each keeps their own unread state and flags.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import ExecutionResult
from graphql.execution import Executor

T = TypeVar("T")
E = TypeVar("E", bound=Executor)
_UNSET: Any = object()


@dataclass
class ExecutionCount:
    """Executions of shared events in this process, counted for the tests that pin one execution per group."""

    executed: int = 0
    shared: int = 0


EXECUTIONS = ExecutionCount()


class SharedEvent:
    """An event as the GraphQL layer shapes it, once, for every subscriber of one hub row."""

    __slots__ = ("_value", "results", "prepare")

    def __init__(self) -> None:
        self._value: Any = _UNSET
        self.results: dict[Hashable, ExecutionResult | asyncio.Future[ExecutionResult]] = {}
        # What a subscriber's context needs before it executes the event for its group (its dataloaders):
        # a subscriber answered from `results` skips it.
        self.prepare: Callable[[Any], None] | None = None

    @property
    def value(self) -> Any:
        return self._value

    async def shaped(self, build: Callable[[], Awaitable[T]]) -> SharedEvent:
        """This event with its value built (by the first subscriber that gets here)."""
        if self._value is _UNSET:
            value = await build()
            if self._value is _UNSET:  # another subscriber may have built it meanwhile: keep the first
                self._value = value
        return self


def _principal_key(context: Any) -> Hashable:
    principal = getattr(context, "principal", None)
    if principal is None:
        return None
    return principal.club_id, principal.staff_id, principal.api_key_id, principal.addons


class _Same:
    """A key part equal only to itself (a parsed operation: comparing two deeply costs more than running it)."""

    __slots__ = ("of",)

    def __init__(self, of: object) -> None:
        self.of = of  # referenced, so its id is not reused while the key lives

    def __hash__(self) -> int:
        return id(self.of)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.of is self.of


def _group_key(executor: Executor) -> Hashable:
    variables = executor.variable_values.coerced
    return (_Same(executor.operation), tuple(sorted((name, repr(value)) for name, value in variables.items())),
            _principal_key(executor.context_value))


class GroupedEvents(Executor):
    """An executor that runs a `SharedEvent` once per group (mixed into the schema's executor class)."""

    shared_event: SharedEvent | None = None

    def build_per_event_executor(self, payload: Any) -> Executor:
        if not isinstance(payload, SharedEvent):
            return super().build_per_event_executor(payload)
        executor = super().build_per_event_executor(payload.value)
        executor.shared_event = payload  # type: ignore[attr-defined]
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        event = self.shared_event
        if event is None:
            return super().execute_operation(serially)
        key = _group_key(self)
        known = event.results.get(key)
        if known is not None:
            EXECUTIONS.shared += 1
            return asyncio.shield(known) if isinstance(known, asyncio.Future) else known
        EXECUTIONS.executed += 1
        if event.prepare is not None:
            event.prepare(self.context_value)
        result: Any = super().execute_operation(serially)
        if not self.is_awaitable(result):
            event.results[key] = result
            return result
        # Its own task: a subscriber that leaves mid-execution does not cancel the others' answer.
        task = event.results[key] = asyncio.ensure_future(result)
        return asyncio.shield(task)


def grouped_events(base: type[E]) -> type[E]:
    """`base` (the schema's executor class) with subscription events executed once per group."""
    return type(f"Grouped{base.__name__}", (GroupedEvents, base), {})
