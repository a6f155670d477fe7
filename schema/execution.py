"""A faster path through graphql-core's executor for the fields that need none of its machinery.

A threads page resolves about a thousand fields. graphql-core spends most of its per-field time on
things a plain field never uses: strawberry's resolver chain (argument conversion, extension
wrappers, a new `Info` per call), argument coercion, a field lookup. This execution context decides
once per schema how each field can be read, and reads it directly:

- a plain leaf (an attribute, or a method taking only `self`, e.g. a cursor): `getattr` or the
  method, then the type's output coercion — no resolve info at all;
- a list of plain leaves (tags): the list read and each item coerced;
- any other attribute (an object, a connection, a union) or a sync method taking only `self` and
  `info`: read directly with a resolve info, then completed by graphql-core as usual.

Completion, errors, nulls and awaitables go through graphql-core's own methods (`complete_value`,
`complete_awaitable_value`, `handle_field_error`), so answers are identical; anything unusual (an
argument, a field extension, middleware, a null in a leaf fast path) takes graphql-core's path
unchanged. Tests run documents both ways; `INBOX_FAST_EXECUTION=0` turns the shortcut off.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    Undefined,
    get_named_type,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.executor import to_nodes
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case

from schema.compiled import MAX_COMPILED, Compiler, Complete, has_directives

# Compiled completions that answered ("completed") or handed the value back to graphql-core
# ("fell_back"), for tests.
COMPILED: Counter[str] = Counter()


@dataclass(frozen=True, slots=True)
class LeafAttribute:
    """A leaf read with no resolve info: the source object -> the value to coerce."""

    read: Callable[[Any], Any]
    leaf_type: GraphQLLeafType
    non_null: bool


@dataclass(frozen=True, slots=True)
class LeafList:
    """A list of leaves read with no resolve info (tags): each item is coerced."""

    read: Callable[[Any], Any]
    leaf_type: GraphQLLeafType
    non_null: bool


@dataclass(frozen=True, slots=True)
class DirectField:
    """Any other plain field: read (with the resolve info when the method asks for it), then
    completed by graphql-core."""

    read: Callable[[Any, Any], Any]  # (source, graphql-core resolve info) -> the field's value
    needs_info: bool  # False: `read` ignores the info (None may be passed)


FieldPlan = LeafAttribute | LeafList | DirectField


def _strawberry_field(field: Any) -> StrawberryField | None:
    found = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return found if isinstance(found, StrawberryField) else None


_BUILTIN_SCALARS = frozenset({"Int", "Float", "String", "Boolean"})


def _defaults(strawberry_field: StrawberryField, field: Any) -> dict[str, Any] | None:
    """The arguments a field takes when a query gives none, if each is a built-in scalar with a
    default (`preview(length: Int = 140)`): graphql-core and strawberry would pass exactly these."""
    defaults: dict[str, Any] = {}
    for argument in strawberry_field.arguments:
        graphql_argument = field.args.get(argument.graphql_name or to_camel_case(argument.python_name))
        if graphql_argument is None or graphql_argument.default_value is Undefined:
            return None
        named = get_named_type(graphql_argument.type)
        if named.name not in _BUILTIN_SCALARS or graphql_argument.default_value != argument.default:
            return None
        defaults[argument.python_name] = argument.default
    return defaults


def _leaf_reader(strawberry_field: StrawberryField, field: Any) -> Callable[[Any], Any] | None:
    """How to read the field off its source with no resolve info, if it needs none."""
    if getattr(field.resolve, "_is_default", False) and strawberry_field.python_name:
        return attrgetter(strawberry_field.python_name)
    resolver = strawberry_field.base_resolver
    defaults = _defaults(strawberry_field, field)
    if (resolver is None or resolver.is_async or defaults is None or resolver.self_parameter is None
            or resolver.info_parameter or resolver.root_parameter or resolver.parent_parameter):
        return None
    method: Callable[..., Any] = resolver._unbound_wrapped_func
    if defaults:
        return lambda source: method(source, **defaults)
    return method


def _direct_reader(strawberry_field: StrawberryField, field: Any, info_class: type) -> DirectField | None:
    """How to read a field whose value graphql-core completes: an attribute, or a sync method of
    `self` and `info` only (called as strawberry would call it, with a strawberry `Info`)."""
    if getattr(field.resolve, "_is_default", False) and strawberry_field.python_name:
        read = attrgetter(strawberry_field.python_name)
        return DirectField(lambda source, _info: read(source), needs_info=False)
    resolver = strawberry_field.base_resolver
    if (resolver is None or resolver.is_async or resolver.arguments or resolver.self_parameter is None
            or resolver.root_parameter or resolver.parent_parameter):
        return None
    if resolver.info_parameter is None:
        plain: Callable[..., Any] = resolver._unbound_wrapped_func
        return DirectField(lambda source, _info: plain(source), needs_info=False)
    name = resolver.info_parameter.name
    method: Callable[..., Any] = resolver._unbound_wrapped_func

    def read_with_info(source: Any, info: Any) -> Any:
        return method(source, **{name: info_class(_raw_info=info, _field=strawberry_field)})

    return DirectField(read_with_info, needs_info=True)


def _leaf_of(graphql_type: GraphQLOutputType) -> tuple[Any, bool]:
    if isinstance(graphql_type, GraphQLNonNull):
        return graphql_type.of_type, True
    return graphql_type, False


def field_plans(schema: GraphQLSchema, info_class: type) -> dict[tuple[str, str], FieldPlan]:
    """(type name, field name) -> how to read it, for every plain field of the schema."""
    plans: dict[tuple[str, str], FieldPlan] = {}
    for type_name, graphql_type in schema.type_map.items():
        if type_name.startswith("__") or not is_object_type(graphql_type):
            continue
        assert isinstance(graphql_type, GraphQLObjectType)
        for field_name, field in graphql_type.fields.items():
            strawberry_field = _strawberry_field(field)
            if strawberry_field is None or strawberry_field.extensions:
                continue
            if field.args and (_defaults(strawberry_field, field) is None or not is_leaf_type(_leaf_of(field.type)[0])):
                continue  # only a leaf whose arguments all default takes the shortcut with arguments
            plan = _plan(strawberry_field, field, info_class)
            if plan is not None:
                plans[(type_name, field_name)] = plan
    return plans


def _plan(strawberry_field: StrawberryField, field: Any, info_class: type) -> FieldPlan | None:
    inner, non_null = _leaf_of(field.type)
    leaf_read = _leaf_reader(strawberry_field, field)
    if leaf_read is not None and is_leaf_type(inner):
        return LeafAttribute(leaf_read, inner, non_null)
    if leaf_read is not None and isinstance(inner, GraphQLList):
        item, items_non_null = _leaf_of(inner.of_type)
        if is_leaf_type(item) and items_non_null:
            return LeafList(leaf_read, item, non_null)
    return _direct_reader(strawberry_field, field, info_class)


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with plain fields read directly and plain selections compiled."""

    field_plans: dict[tuple[str, str], FieldPlan] = {}
    # (object type, the selection's field nodes) -> its compiled completion, or None when it has none;
    # the entry holds the nodes, so their ids stay theirs while it lives. Per schema (see below).
    compiled: dict[tuple[str, tuple[int, ...]], tuple[object, Complete | None]] = {}
    plain_operations: dict[int, tuple[object, bool]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        # Middleware wraps every resolver, plain attributes included: then no field takes the shortcut.
        self.plans = {} if middleware is not None and middleware.middlewares else self.field_plans
        self.compiling = bool(self.plans) and self._plain_operation()
        self.fell_back: set[tuple[str, tuple[int, ...]]] = set()

    def _plain_operation(self) -> bool:
        """No directive anywhere in the operation: its selections are the same whatever the variables."""
        operation = self.operation
        known = self.plain_operations.get(id(operation))
        if known is not None and known[0] is operation:
            return known[1]
        plain = not has_directives(operation, self.fragments)
        if len(self.plain_operations) >= MAX_COMPILED:
            self.plain_operations.clear()
        self.plain_operations[id(operation)] = (operation, plain)
        return plain

    def complete_object_value(self, return_type: Any, field_details_list: Any, info: Any, path: Any, result: Any,
                              position_context: Any) -> Any:
        if self.compiling:
            key = (return_type.name, tuple(id(details.node) for details in field_details_list))
            if key not in self.fell_back:
                entry = self.compiled.get(key)
                if entry is None:
                    if len(self.compiled) >= MAX_COMPILED:
                        self.compiled.clear()
                    entry = (tuple(details.node for details in field_details_list),
                             Compiler(self).object(return_type, list(field_details_list)))
                    self.compiled[key] = entry
                complete = entry[1]
                if complete is not None:
                    try:
                        completed = complete(self, result, path)
                    except Exception:  # noqa: BLE001 - Fallback, or an error graphql-core reports below
                        self.fell_back.add(key)
                        COMPILED["fell_back"] += 1
                    else:
                        COMPILED["completed"] += 1
                        return completed
        return super().complete_object_value(return_type, field_details_list, info, path, result, position_context)

    def execute_field(self, parent_type: Any, source: Any, field_details_list: Any, path: Any,
                      position_context: Any) -> Any:
        node = field_details_list[0].node
        plan = self.plans.get((parent_type.name, node.name.value))
        if plan is None or node.arguments:
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        if isinstance(plan, LeafAttribute):
            try:
                value = plan.read(source)
                if value is not None:
                    coerced = plan.leaf_type.coerce_output_value(value)
                    if coerced is not None and coerced is not Undefined:
                        return coerced
                elif not plan.non_null:
                    return None
            except Exception:  # noqa: BLE001 - graphql-core below reports it, located and masked as usual
                pass
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        if isinstance(plan, LeafList):
            completed = complete_leaf_list(plan, source)
            if completed is not None:
                return completed
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        return self._execute_direct(plan, parent_type, source, field_details_list, path, position_context)

    def _execute_direct(self, plan: DirectField, parent_type: Any, source: Any, field_details_list: Any,
                        path: Any, position_context: Any) -> Any:
        """graphql-core's `execute_field`, with the field read directly instead of resolved."""
        field_def = parent_type.fields[field_details_list[0].node.name.value]
        return_type = field_def.type
        info = self.build_resolve_info(field_def, to_nodes(field_details_list), parent_type, path)
        try:
            result = plan.read(source, info)
            if self.is_awaitable(result):
                return self.complete_awaitable_value(return_type, field_details_list, info, path, result,
                                                     position_context)
            completed = self.complete_value(return_type, field_details_list, info, path, result, position_context)
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def _await_completed(self, completed: Awaitable[Any], return_type: Any, field_details_list: Any,
                               path: Any) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None


def complete_leaf_list(plan: LeafList, source: Any) -> list[Any] | None:
    """The coerced list, or None when graphql-core must answer (a null, an error, a bad item)."""
    try:
        values = plan.read(source)
        if values is None or not isinstance(values, list | tuple):
            return None
        coerce = plan.leaf_type.coerce_output_value
        completed = [coerce(value) for value in values]
    except Exception:  # noqa: BLE001 - graphql-core reports it
        return None
    if any(value is None or value is Undefined for value in completed):
        return None
    return completed


def fast_execution_context(schema: GraphQLSchema, info_class: type) -> type[FastExecutionContext]:
    """An execution context class for this schema (its plans are computed once)."""
    return type("SchemaFastExecutionContext", (FastExecutionContext,),
                {"field_plans": field_plans(schema, info_class), "compiled": {}, "plain_operations": {}})
