"""Model objects read straight from a statement's columns, for pages that only read them.

The ORM's per-row work (the execution's compile state, the identity map, an instance state per
object) cost a 50-thread page 6.5 ms of CPU against 2.5 ms for the same statement run as Core with
its rows gathered back into objects (bench/). Here a statement's entities are spread into their
columns once, the statement runs on the session's connection, and each row's slices become
read-only instances of the model's class holding their column values: `isinstance` works; the
objects belong to no session and cannot be written. Such an object is a tuple of its columns, of an
unmapped subclass of the model whose column attributes read their place (`itemgetter` properties,
shadowing the ORM's instrumented descriptors): making one is a single tuple copy (0.2 µs against
1.3 µs for a 32-column dict, 200 objects a threads page) and a read costs about what a dict read
costs (the ORM's: 0.2 µs, 2,400 reads a page). They compare and hash by identity, as ORM objects
do. `model_of` gives such an object's model.

The club filter is the session's (`models.engine.club_session`), applied here as the same loader
criteria with the club bound at execution, since Core execution skips the ORM's per-execution hook.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import JSON, BindParameter, Boolean, Date, DateTime, Integer, Numeric, Select, String, any_, bindparam
from sqlalchemy import inspect as inspect_mapped
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import with_loader_criteria
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression
from sqlalchemy.util import greenlet_spawn

from models.base import ClubScoped, UTCDateTime
from models.engine import CLUB_ID, READ_ONLY

CLUB: BindParameter[int] = bindparam("club_id", type_=Integer)
"""The session's club, bound by `ColumnsStatement.rows`: a statement may compare with it too."""


def column_keys(model: type[Any], loaded: frozenset[str] | None = None) -> list[str]:
    """The model's column attributes in `column_attrs` order (only the `loaded` ones, when given)."""
    keys = [attribute.key for attribute in inspect_mapped(model).column_attrs]
    return keys if loaded is None else [key for key in keys if key in loaded]


def _not_loaded(model: type[Any], key: str) -> property:
    def read(_: object) -> Any:
        raise AttributeError(f"{model.__name__}.{key} was not loaded by this statement")
    return property(read)


@cache
def _read_only_class(model: type[Any], loaded: frozenset[str] | None = None) -> type[Any]:
    """The model's unmapped subclass whose instances are tuples of its columns (in `column_attrs` order),
    or of the `loaded` ones: reading another column then raises an AttributeError that names it."""
    keys = column_keys(model, loaded)
    namespace: dict[str, Any] = {
        "__abstract__": True, "__module__": model.__module__, "__slots__": (), "read_only_of": model,
        "__eq__": object.__eq__, "__ne__": object.__ne__, "__hash__": object.__hash__, "__repr__": object.__repr__,
        **{key: _not_loaded(model, key) for key in column_keys(model) if key not in keys},
        **{key: property(itemgetter(index)) for index, key in enumerate(keys)},
    }
    return type(model.__name__, (tuple, model), namespace)


def model_of(instance: object) -> type[Any]:
    """The mapped class of an ORM instance, or of an object read by a columns statement."""
    cls = type(instance)
    return cls.__dict__.get("read_only_of", cls)


@dataclass(frozen=True, slots=True)
class _Segment:
    """Where one selected entity (or a plain column when `model` is None) sits in a spread row."""

    model: type[Any] | None
    start: int
    end: int
    presence: int  # the index of the entity's primary key: None there means an outer join found nothing

    def expression(self, model_name: str) -> str:
        """Its value in a row, as Python source over `row`."""
        if self.model is None:
            return f"row[{self.start}]"
        return f"None if row[{self.presence}] is None else new({model_name}, row[{self.start}:{self.end}])"


def _row_builder(segments: Sequence[_Segment]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """One row's objects, built by one generated expression (a generator over the segments cost a
    threads page four times as much: 255 calls)."""
    namespace: dict[str, Any] = {"new": tuple.__new__}
    values = []
    for index, segment in enumerate(segments):
        namespace[f"model{index}"] = segment.model
        values.append(segment.expression(f"model{index}"))
    exec(f"def build(row):\n    return ({', '.join(values)},)", namespace)  # noqa: S102 - our own generated source
    build: Callable[[Sequence[Any]], tuple[Any, ...]] = namespace["build"]
    return build


# Column types whose values asyncpg returns exactly as SQLAlchemy's result processing would leave them
# (aware UTC datetimes, Decimals, JSON decoded by the connection's codec).
_DRIVER_TYPES = (Integer, String, Boolean, Date, DateTime, UTCDateTime, JSON, Numeric)


@dataclass(frozen=True, slots=True)
class _DirectStatement:
    """A read statement compiled once and sent as its SQL straight to asyncpg: a threads page's
    execution then skips SQLAlchemy's per-execution compile lookup, its result metadata (built again
    for each execution of driver SQL: 74 columns a threads page) and its row processing, which cost
    the page 6% of its instructions (callgrind) after the compile lookup was gone. It keeps
    SQLAlchemy's statement events and error handling (`_fetch`)."""

    sql: str
    # The positional parameters in order, each with its bind processor (None when it has none).
    positions: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    # The values the statement itself binds (literals of its conditions); the others come with each execution.
    constants: dict[str, Any]
    compiled: Any

    @classmethod
    def of(cls, statement: Select[*tuple[Any, ...]], dialect: Dialect) -> _DirectStatement | None:
        if dialect.driver != "asyncpg":
            return None
        compiled: Any = statement.compile(dialect=dialect)
        if compiled.post_compile_params or compiled.literal_execute_params or not compiled.positiontup:
            return None  # expanding IN lists are rendered per execution
        result_types = [column[3] for column in compiled._result_columns]
        if not all(isinstance(kind, _DRIVER_TYPES) for kind in result_types):
            return None
        if any(isinstance(kind, Numeric) and not kind.asdecimal for kind in result_types):
            return None
        binds = compiled.binds
        if compiled.escaped_bind_names or any(binds[name].callable is not None for name in compiled.positiontup):
            return None
        processors = compiled._bind_processors
        positions = tuple((name, processors.get(name)) for name in compiled.positiontup)
        constants = {name: binds[name].value for name in compiled.positiontup if not binds[name].required}
        return cls(compiled.string, positions, constants, compiled)

    def arguments(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The positional values, as `construct_params` and the bind processors would give them."""
        parameters = {**self.constants, **values}
        try:
            return tuple(parameters[name] if process is None else process(parameters[name])
                         for name, process in self.positions)
        except KeyError:
            self.compiled.construct_params(values)  # raises SQLAlchemy's error naming the missing value
            raise


_NO_OPTIONS: dict[str, Any] = {}


def _in_lists_as_arrays(statement: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """The statement with each `column IN (:values)` list written `column = ANY(:values)`, the values
    bound as one PostgreSQL array: its SQL is then the same whatever their number, so it can be
    compiled once (an expanding list is rendered again at each execution)."""
    found = False

    def replace(element: Any, **_: Any) -> Any:
        nonlocal found
        if (isinstance(element, BinaryExpression) and element.operator is operators.in_op
                and isinstance(element.right, BindParameter) and element.right.expanding):
            found = True
            return element.left == any_(bindparam(element.right.key, type_=ARRAY(element.left.type)))
        return None
    replaced = cast(Select[*tuple[Any, ...]], visitors.replacement_traverse(cast(Any, statement), _NO_OPTIONS, replace))
    return replaced if found else statement


@dataclass(frozen=True, slots=True)
class ColumnsStatement:
    """An ORM select whose entities were spread into their columns, and how to gather them back."""

    statement: Select[*tuple[Any, ...]]
    build: Callable[[Sequence[Any]], tuple[Any, ...]]  # a row -> its objects and values
    # The same before the club's criteria: what `_direct` rewrites for PostgreSQL (`_in_lists_as_arrays`).
    unscoped: Select[*tuple[Any, ...]] | None = None
    direct: dict[str, _DirectStatement | None] = field(default_factory=dict)  # by dialect name

    async def rows(self, session: AsyncSession, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows as the ORM statement would give them (entities as read-only objects), in the
        session's club."""
        club_id = session.info.get(CLUB_ID)
        if club_id is None:
            raise RuntimeError("a columns statement reads in a club session only")
        if session.new or session.dirty or session.deleted:
            await session.flush()  # what the ORM's autoflush would do before its own query
        connection = await session.connection()
        parameters = {**values, "club_id": club_id}
        direct = self._direct(connection.dialect) if session.info.get(READ_ONLY) else None
        build = self.build
        if direct is None:
            result = await connection.execute(self.statement, parameters)
            return [build(row) for row in result.all()]
        return [build(row) for row in await _fetch(connection, direct.sql, direct.arguments(parameters))]

    def _direct(self, dialect: Dialect) -> _DirectStatement | None:
        """The statement as compiled SQL, if the dialect's driver returns its values as SQLAlchemy would."""
        try:
            return self.direct[dialect.name]
        except KeyError:
            sent = self.statement
            if dialect.name == "postgresql" and self.unscoped is not None:
                arrays = _in_lists_as_arrays(self.unscoped)
                if arrays is not self.unscoped:
                    sent = _in_club(arrays)
            direct = self.direct[dialect.name] = _DirectStatement.of(sent, dialect)
            return direct


async def _fetch(connection: AsyncConnection, sql: str, arguments: tuple[Any, ...]) -> Sequence[Sequence[Any]]:
    """The rows of one read on an autocommit connection, fetched by asyncpg itself (its prepared
    statement cache), with SQLAlchemy's `before/after_cursor_execute` events around it and its
    handling of a failure: the driver's error raised as SQLAlchemy's, a lost connection invalidated."""
    sync_connection = connection.sync_connection
    assert sync_connection is not None
    adapted: Any = (await connection.get_raw_connection()).dbapi_connection
    if not getattr(adapted, "autocommit", False):  # a transaction to begin: SQLAlchemy's own path does it
        return (await connection.exec_driver_sql(sql, arguments)).all()
    events = sync_connection._has_events or sync_connection.engine._has_events
    if events:
        sync_connection.dispatch.before_cursor_execute(sync_connection, None, sql, arguments, None, False)
    try:
        async with adapted._execute_mutex:
            records = await adapted._connection.fetch(sql, *arguments)
    except Exception as error:  # noqa: BLE001 - re-raised as SQLAlchemy raises it
        await greenlet_spawn(_raise_as_sqlalchemy, sync_connection, adapted, error, sql, arguments)
        raise
    if events:
        sync_connection.dispatch.after_cursor_execute(sync_connection, None, sql, arguments, None, False)
    return records


def _raise_as_sqlalchemy(sync_connection: Any, adapted: Any, error: Exception, sql: str,
                         arguments: tuple[Any, ...]) -> None:
    try:
        adapted._handle_exception(error)  # the driver's error as the dialect's DBAPI error
    except Exception as dbapi_error:  # noqa: BLE001
        sync_connection._handle_dbapi_exception(dbapi_error, sql, arguments, None, None)


def spread(statement: Select[*tuple[Any, ...]],
           loaded: Mapping[type[Any], frozenset[str]] | None = None) -> ColumnsStatement:
    """The statement with each selected entity (a mapped class, not an alias) as its columns: all of
    them, or for a model of `loaded` only those named there (its primary key among them)."""
    segments: list[_Segment] = []
    columns: list[Any] = []
    for description in statement.column_descriptions:
        entity, expression = description.get("entity"), description["expr"]
        if entity is not None and expression is entity:
            mapper = inspect_mapped(entity)
            only = (loaded or {}).get(entity)
            keys = tuple(column_keys(entity, only))
            presence = len(columns) + keys.index(mapper.get_property_by_column(mapper.primary_key[0]).key)
            segments.append(_Segment(_read_only_class(entity, only), len(columns), len(columns) + len(keys),
                                     presence))
            columns += [getattr(entity, key) for key in keys]
        else:
            segments.append(_Segment(None, len(columns), len(columns) + 1, len(columns)))
            columns.append(expression)
    unscoped = statement.with_only_columns(*columns, maintain_column_froms=True)
    return ColumnsStatement(_in_club(unscoped), _row_builder(segments), unscoped)


def _in_club(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    return query.options(with_loader_criteria(ClubScoped, lambda cls: cls.club_id == CLUB, include_aliases=True))
