"""One subscription event shaped once per group of subscribers that see the same thing.

Re-executing a subscription's document for every subscriber costs about half a millisecond each:
one message to a thousand subscribers of a club spent most of its fan-out there. The hub already
hands every subscriber of the same viewer the same row object; the layer above wraps it in one
`SharedEvent` (the value built once), and the executor below runs the document once per
(operation, variables, principal) for that event: every other member of the group receives the same
`ExecutionResult`, hence the same bytes. Anything that is not a `SharedEvent` executes as usual.

Even answered from a shared result, each subscriber's frame crossed graphql-core's and strawberry's
per-event machinery (a per-event executor, extension hooks, the transport handler): about 80 us a
subscriber, most of a fan-out to a thousand. So the first subscriber of a group to get an event executes
and sends it (its frame's payload is recorded on the event, `SharedEvent.encoded`); the others wait for
that payload and send it under their own operation id through their `FrameSink` (`shared_frames`), in
their own task, so each subscription's order is kept. When the first one's frame is not plain data (an
error) or it ends before sending, the others execute as before.

What keys a group is everything an answer depends on: the row (one per viewer and change), the
parsed operation, its variables and who asks (club, staff user, add-ons). Two staff users never share
a row, so each keeps their own unread state and flags.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

from graphql import ExecutionResult
from graphql.execution import Executor

T = TypeVar("T")
E = TypeVar("E", bound=Executor)
_UNSET: Any = object()


@dataclass
class ExecutionCount:
    """Executions of shared events in this process, counted for the tests that pin one execution per group:
    `shared` answers reused a group's result, `sent` of them its encoded frame as well."""

    executed: int = 0
    shared: int = 0
    sent: int = 0


EXECUTIONS = ExecutionCount()


class SharedEvent:
    """An event as the GraphQL layer shapes it, once, for every subscriber of one hub row."""

    __slots__ = ("_value", "results", "payloads", "prepare")

    def __init__(self) -> None:
        self._value: Any = _UNSET
        self.results: dict[Hashable, ExecutionResult | asyncio.Future[ExecutionResult]] = {}
        # Per group: the payload of its frame as JSON, once its first subscriber encoded it (None: that
        # subscriber's frame was not shareable, or it ended first; the others execute then).
        self.payloads: dict[Hashable, asyncio.Future[str | None]] = {}
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

    def claim(self, key: Hashable) -> asyncio.Future[str | None] | None:
        """The group's payload to come, or None when the caller is the group's first subscriber: it
        executes and sends the event, then `settle`s."""
        known = self.payloads.get(key)
        if known is None:
            self.payloads[key] = asyncio.get_running_loop().create_future()
        return known

    def settle(self, key: Hashable) -> None:
        """The first subscriber is done with the event: whoever still waits executes it if no payload came."""
        waiting = self.payloads.get(key)
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    def encoded(self, key: Hashable, data: object, payload: dict[str, Any],
                dumps: Callable[[object], str]) -> str | None:
        """`payload` of a `next` frame as JSON, encoded once for the group whose result's data is `data`
        (None when `data` is not that result's: the frame is encoded as any other)."""
        known = self.results.get(key)
        if isinstance(known, asyncio.Future):
            known = known.result() if known.done() and not known.cancelled() and known.exception() is None else None
        if known is None or known.data is not data:
            return None
        waiting = self.payloads.get(key)
        if waiting is not None and waiting.done() and (text := waiting.result()) is not None:
            return text
        text = dumps(payload)
        if waiting is None or waiting.done():
            waiting = self.payloads[key] = asyncio.get_running_loop().create_future()
        waiting.set_result(text)
        return text


class FrameSink(Protocol):
    """Where a subscription's frames go (the transport's operation): `current` is the group event it is
    executing and sending, `send_payload` sends a group's encoded payload under its own id."""

    current: tuple[SharedEvent, Hashable] | None

    async def send_payload(self, payload: str) -> None: ...


CURRENT_SINK: ContextVar[FrameSink | None] = ContextVar("inbox_frame_sink", default=None)


class _Row(Protocol):
    @property
    def event(self) -> SharedEvent: ...


R = TypeVar("R", bound=_Row)


async def shared_frames(rows: AsyncIterator[R], shape: Callable[[R], Awaitable[Any]], operation: object,
                        variables: dict[str, Any], context: Any) -> AsyncGenerator[SharedEvent, None]:
    """Each hub row's event, shaped by `shape` once for all its subscribers, for this subscription to
    execute; an event whose group's frame an earlier subscriber encoded is sent as it is, by this
    subscription's own sink, instead."""
    sink = CURRENT_SINK.get()
    key = group_key(operation, variables, context) if sink is not None else None
    async for row in rows:
        event = await row.event.shaped(partial(shape, row))
        if sink is None:  # a transport that sends no shared payloads (graphql-ws)
            yield event
            continue
        waiting = event.claim(key)
        if waiting is not None and (payload := await waiting) is not None:
            EXECUTIONS.shared += 1
            EXECUTIONS.sent += 1
            await sink.send_payload(payload)
            continue
        sink.current = (event, key)
        try:
            yield event
        finally:
            sink.current = None
            event.settle(key)


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


def group_key(operation: object, variables: dict[str, Any], context: Any) -> Hashable:
    """Everything a subscription event's answer depends on, besides the event."""
    return (_Same(operation), tuple(sorted((name, repr(value)) for name, value in variables.items())),
            _principal_key(context))


def _group_key(executor: Executor) -> Hashable:
    return group_key(executor.operation, executor.variable_values.coerced, executor.context_value)


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
            if not isinstance(known, asyncio.Future):
                return known
            return known.result() if known.done() else self._wait_for(known, serially)
        EXECUTIONS.executed += 1
        if event.prepare is not None:
            event.prepare(self.context_value)
        result: Any = super().execute_operation(serially)
        if not self.is_awaitable(result):
            event.results[key] = result
            return result
        waiting = event.results[key] = asyncio.get_running_loop().create_future()
        return self._execute_first(event, key, result, waiting)

    @staticmethod
    async def _execute_first(event: SharedEvent, key: Hashable, result: Awaitable[ExecutionResult],
                             waiting: asyncio.Future[ExecutionResult]) -> ExecutionResult:
        """The group's execution, in its first subscriber's task: when nothing suspends it (the round's
        dataloaders are primed), its frame goes out before the group's other subscribers even run. If
        that subscriber leaves meanwhile, the others execute again (`_Abandoned`)."""
        try:
            answer = await result
        except asyncio.CancelledError:
            if event.results.get(key) is waiting:
                del event.results[key]
            waiting.set_exception(_Abandoned())
            waiting.exception()  # retrieved: nobody may be waiting
            raise
        except Exception as exc:
            waiting.set_exception(exc)
            waiting.exception()
            raise
        waiting.set_result(answer)
        return answer

    async def _wait_for(self, known: asyncio.Future[ExecutionResult], serially: bool | None) -> ExecutionResult:
        try:
            return await asyncio.shield(known)  # leaving does not cancel the group's execution
        except _Abandoned:
            result = self.execute_operation(serially)
            return await result if self.is_awaitable(result) else result


class _Abandoned(Exception):
    """The subscriber executing a group's event left before it finished: the next one executes it."""


def grouped_events(base: type[E]) -> type[E]:
    """`base` (the schema's executor class) with subscription events executed once per group."""
    return type(f"Grouped{base.__name__}", (GroupedEvents, base), {})
