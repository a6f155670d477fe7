"""Selections completed by generated Python functions instead of graphql-core's per-field machinery.

Below a list page's root field, every field of the selection is plain: an attribute, a method of the
object, or a sync method that returns data the page already loaded. graphql-core still walks each of
them with its general machinery (a path, a resolve info, an awaitable check, a completion dispatch
per field: about a third of a threads page's CPU, py-spy). Here a selection whose fields all have a
plan (`schema.plans`) is compiled once per document into the source of one function per object
selection, which builds the response dict directly: attributes are read inline, leaves coerced
inline, and paths built only where a field asks for its resolve info. Nested closures cost three
times as much as the generated code on a threads page (1.6 against 0.5 ms, measured in-process).

A compiled completion answers only when everything is ordinary: no error, no null where the schema
forbids one, no awaitable, the exact classes it was compiled for. Anything else raises `Fallback` and
graphql-core completes the same value from the start, so answers, errors and nulls are graphql-core's
own; the fields read are plain reads of loaded data, so reading them again is safe. Selections with
directives (`@include`, `@skip`, `@defer`) or arguments are not compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from graphql import (
    DirectiveNode,
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    Node,
    OperationDefinitionNode,
    Undefined,
    is_abstract_type,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetails, collect_subfields
from graphql.pyutils import Path
from strawberry.types import Info as StrawberryInfo
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import get_strawberry_type_cast

from schema.plans import DirectField, LeafAttribute, LeafList, complete_leaf_list

if TYPE_CHECKING:
    from schema.execution import FastExecutionContext

# (execution context, value, path) -> the completed value; raises Fallback.
Complete = Callable[["FastExecutionContext", Any, Path], Any]

MAX_COMPILED = 2048


class Fallback(Exception):  # noqa: N818 - a signal, not an error
    """graphql-core must complete this value."""


FALLBACK = Fallback()


def _close(value: Any) -> None:
    """An awaitable that will not be awaited: a coroutine is closed (its body never ran)."""
    close = getattr(value, "close", None)
    if close is not None and hasattr(value, "cr_frame"):
        close()


def has_directives(operation: OperationDefinitionNode, fragments: dict[str, Any]) -> bool:
    """Whether the operation or a fragment uses a directive: its fields then depend on variables."""
    stack: list[Any] = [operation, *(details.definition for details in fragments.values())]
    while stack:
        node = stack.pop()
        if isinstance(node, DirectiveNode):
            return True
        for key in node.keys:
            child = getattr(node, key, None)
            if isinstance(child, Node):
                stack.append(child)
            elif isinstance(child, tuple | list):
                stack.extend(item for item in child if isinstance(item, Node))
    return False


# The classes whose values are never awaitable: a field value of one of them skips the check.
_NOT_AWAITABLE = frozenset({type(None), bool, int, float, str, list, tuple, dict})
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


# A compiled function's path: graphql-core's, or (its parent's, key, type name) as a plain tuple (a
# third of the cost of a Path), made a Path only when a resolver reads it.
CompiledPath = Path | tuple[Any, str | int, str | None]


def as_path(path: CompiledPath) -> Path:
    if type(path) is Path:
        return path
    parent, key, type_name = path
    return Path(as_path(cast(CompiledPath, parent)), key, type_name)


class DeferredInfo(StrawberryInfo):
    """The strawberry `Info` a compiled field's resolver receives: graphql-core's resolve info behind
    it is built only when the resolver reads more than its context (the list's sync fields read only
    that: building 150 full ones, and their strawberry wrappers, was a tenth of a threads page)."""

    def __init__(self, execution: FastExecutionContext, field: GraphQLField, nodes: list[Any],
                 parent: GraphQLObjectType, path: CompiledPath, strawberry_field: Any) -> None:
        self._execution, self._graphql_field, self._nodes, self._parent, self._path = (
            execution, field, nodes, parent, path)
        self._field = strawberry_field

    @property
    def context(self) -> Any:
        return self._execution.context_value

    @property
    def _raw_info(self) -> Any:  # type: ignore[override]
        return self._execution.build_resolve_info(self._graphql_field, self._nodes, self._parent, as_path(self._path))


class Compiler:
    """Compiles the selections of one operation, using its execution context's fragments.

    Each object selection becomes one generated function `(execution, source, path) -> dict`; a
    value's completion is emitted inline as statements on a local variable. A function receives its
    path only when a field below it asks for a resolve info (otherwise None is passed)."""

    def __init__(self, context: FastExecutionContext) -> None:
        self.context = context
        self.namespace: dict[str, Any] = {
            "FALLBACK": FALLBACK, "as_path": as_path, "Undefined": Undefined, "cast_of": get_strawberry_type_cast,
            "close": _close, "DeferredInfo": DeferredInfo, "INT_MIN": _INT_MIN, "INT_MAX": _INT_MAX,
        }
        self.not_awaitable: set[type] = set(_NOT_AWAITABLE)
        self.namespace["NOT_AWAITABLE"] = self.not_awaitable
        self.functions: list[str] = []
        self.counter = 0

    def object(self, object_type: GraphQLObjectType, details: list[FieldDetails]) -> Complete | None:
        """The compiled completion of this selection on this type, or None when it has none."""
        compiled = self._object(object_type, details)
        if compiled is None:
            return None
        exec(compile("\n\n".join(self.functions), f"<compiled {object_type.name}>", "exec"), self.namespace)  # noqa: S102 - our own generated source
        complete: Complete = self.namespace[compiled[0]]
        return complete

    def _bind(self, value: Any, prefix: str) -> str:
        self.counter += 1
        name = f"{prefix}{self.counter}"
        self.namespace[name] = value
        return name

    def _fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _object(self, object_type: GraphQLObjectType, details: list[FieldDetails]) -> tuple[str, bool] | None:
        """(the generated function's name, whether it uses its path)."""
        context = self.context
        collected = collect_subfields(context.schema, context.fragments, context.variable_values,
                                      context.operation, object_type, details, context.hide_suggestions)
        if collected.new_defer_usages:
            return None
        checked = _checked_class(object_type)
        if checked is False:
            return None
        name = self._fresh(f"complete_{object_type.name}_")
        body: list[str] = []
        if checked is not None:
            assert isinstance(checked, type)
            self.not_awaitable.add(checked)
            body += [f"if type(source) is not {self._bind(checked, 'cls')} or cast_of(source) is not None:",
                     "    raise FALLBACK"]
        entries: list[str] = []
        uses_path = False
        for key, field_details in collected.grouped_field_set.items():
            field = self._field(object_type, key, field_details)
            if field is None:
                return None
            lines, expression, field_uses_path = field
            body += lines
            entries.append(f"{key!r}: {expression}")
            uses_path = uses_path or field_uses_path
        body.append("return {" + ", ".join(entries) + "}")
        self.functions.append(f"def {name}(execution, source, path):\n" + _indent(body, 1))
        return name, uses_path

    def _field(self, parent_type: GraphQLObjectType, key: str,
               details: list[FieldDetails]) -> tuple[list[str], str, bool] | None:
        """(statements, the expression of the completed value, whether they use `path`)."""
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            return [], repr(parent_type.name), False
        if any(detail.node.arguments or detail.defer_usage is not None for detail in details):
            return None
        plan = self.context.plans.get((parent_type.name, name))
        value = self._fresh("v")
        if isinstance(plan, LeafAttribute):
            if plan.attribute is not None:
                read = f"source.{plan.attribute}"
            elif plan.row_column is not None:
                read = f"source.row.{plan.row_column}"
            elif plan.row_value is not None:
                read = f"{self._bind(plan.row_value, 'value_of')}(source.row)"
            else:
                read = f"{self._bind(plan.read, 'read')}(source)"
            return [f"{value} = {read}", *self._leaf(plan.leaf_type, value, plan.non_null)], value, False
        if isinstance(plan, LeafList):
            lines = [f"{value} = complete_leaf_list({self._bind(plan, 'plan')}, source)",
                     f"if {value} is None:", "    raise FALLBACK"]
            self.namespace["complete_leaf_list"] = complete_leaf_list
            return lines, value, False
        if not isinstance(plan, DirectField):
            return None
        field_def = parent_type.fields[name]
        field_path = self._fresh("path")
        completion = self._value(field_def.type, details, value, field_path)
        if completion is None:
            return None
        completed, completion_uses_path = completion
        lines = []
        if plan.needs_info or completion_uses_path:
            lines.append(f"{field_path} = (path, {key!r}, {parent_type.name!r})")
        if plan.attribute is not None:
            lines.append(f"{value} = source.{plan.attribute}")
        else:
            read = self._bind(plan.read, "read")
            if plan.needs_info and plan.method is not None and self.context.deferred_info:
                nodes = self._bind([detail.node for detail in details], "nodes")
                field_def_name, parent = self._bind(field_def, "field"), self._bind(parent_type, "parent")
                lines.append(f"{value} = {self._bind(plan.method, 'method')}(source, {plan.info_parameter}="
                             f"DeferredInfo(execution, {field_def_name}, {nodes}, {parent}, {field_path}, "
                             f"{self._bind(plan.strawberry_field, 'strawberry_field')}))")
            elif plan.needs_info:
                nodes = self._bind([detail.node for detail in details], "nodes")
                field_def_name, parent = self._bind(field_def, "field"), self._bind(parent_type, "parent")
                lines.append(f"{value} = {read}(source, execution.build_resolve_info("
                             f"{field_def_name}, {nodes}, {parent}, as_path({field_path})))")
            else:
                lines.append(f"{value} = {read}(source, None)")
        lines += [f"if type({value}) not in NOT_AWAITABLE and execution.is_awaitable({value}):",
                  f"    close({value})", "    raise FALLBACK", *completed]
        return lines, value, plan.needs_info or completion_uses_path

    def _value(self, value_type: GraphQLOutputType, details: list[FieldDetails], value: str,
               path: str) -> tuple[list[str], bool] | None:
        """Statements completing the local `value` in place (nullable unless wrapped in non-null),
        and whether they use the local `path`."""
        non_null = isinstance(value_type, GraphQLNonNull)
        inner = value_type.of_type if isinstance(value_type, GraphQLNonNull) else value_type
        if is_leaf_type(inner):
            return self._leaf(inner, value, non_null), False
        check = [f"if {value} is None:", "    raise FALLBACK"] if non_null else []
        completed = self._non_null_value(inner, details, value, path)
        if completed is None:
            return None
        lines, uses_path = completed
        if non_null:
            return check + lines, uses_path
        return [f"if {value} is not None:", *_indent(lines, 1).splitlines()], uses_path

    def _non_null_value(self, value_type: GraphQLOutputType, details: list[FieldDetails], value: str,
                        path: str) -> tuple[list[str], bool] | None:
        """Statements completing `value`, known not to be None, of a list, object or abstract type."""
        if isinstance(value_type, GraphQLList):
            item = self._item(value_type.of_type, details)
            if item is None:
                return None
            function, uses_path = item
            items = (f"[{function}(execution, item, ({path}, index, None)) for index, item in enumerate({value})]"
                     if uses_path else f"[{function}(execution, item, None) for item in {value}]")
            return [f"if not isinstance({value}, list | tuple):", "    raise FALLBACK", f"{value} = {items}"], uses_path
        if is_object_type(value_type):
            assert isinstance(value_type, GraphQLObjectType)
            compiled = self._object(value_type, details)
            if compiled is None:
                return None
            function, uses_path = compiled
            return [f"{value} = {function}(execution, {value}, {path if uses_path else 'None'})"], uses_path
        if is_abstract_type(value_type):
            assert isinstance(value_type, GraphQLAbstractType)
            by_class: dict[type, Complete] = {}  # filled by the generated source, once its functions exist
            uses_path = False
            names: dict[type, str] = {}
            for possible in self.context.schema.get_possible_types(value_type):
                origin = _origin(possible)
                compiled = self._object(possible, details)
                if origin is None or compiled is None or origin in names:
                    return None
                names[origin] = compiled[0]
                uses_path = uses_path or compiled[1]
            table = self._bind(by_class, "by_class")
            self.functions.append(f"{table}.update({{" + ", ".join(
                f"{self._bind(origin, 'cls')}: {function}" for origin, function in names.items()) + "})")
            function = self._fresh("complete")
            return [f"{function} = {table}.get(type({value}))", f"if {function} is None:", "    raise FALLBACK",
                    f"{value} = {function}(execution, {value}, {path if uses_path else 'None'})"], uses_path
        return None

    def _item(self, item_type: GraphQLOutputType, details: list[FieldDetails]) -> tuple[str, bool] | None:
        """A generated function completing one item of a list: (its name, whether it uses its path)."""
        completion = self._value(item_type, details, "value", "path")
        if completion is None:
            return None
        lines, uses_path = completion
        name = self._fresh("complete_item_")
        self.functions.append(f"def {name}(execution, value, path):\n" + _indent([*lines, "return value"], 1))
        return name, uses_path

    def _leaf(self, leaf_type: Any, value: str, non_null: bool) -> list[str]:
        """Statements coercing `value` as the leaf type does (a null where forbidden falls back)."""
        coerce = self._bind(_coercion(leaf_type), "coerce")
        unchanged = _UNCHANGED.get(leaf_type)
        if leaf_type is GraphQLInt:
            needs_coercion = f"type({value}) is not int or not INT_MIN <= {value} <= INT_MAX"
        elif unchanged is not None:
            needs_coercion = f"type({value}) is not {unchanged.__name__}"
        else:
            needs_coercion = "True"
        coercion = [f"{value} = {coerce}({value})", f"if {value} is None or {value} is Undefined:",
                    "    raise FALLBACK"]
        if non_null:
            return [f"if {value} is None:", "    raise FALLBACK",
                    *(coercion if needs_coercion == "True" else
                      [f"if {needs_coercion}:", *_indent(coercion, 1).splitlines()])]
        if needs_coercion == "True":
            return [f"if {value} is not None:", *_indent(coercion, 1).splitlines()]
        return [f"if {value} is not None and ({needs_coercion}):", *_indent(coercion, 1).splitlines()]


def _indent(lines: list[str], depth: int) -> str:
    return "\n".join("    " * depth + line for line in lines)


# Built-in scalars whose output coercion returns a value of exactly this class unchanged.
_UNCHANGED: dict[Any, type] = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}


def _coercion(leaf_type: Any) -> Callable[[Any], Any]:
    """The leaf type's output coercion; an enum's, remembered per value (strawberry's scans the
    enum's values on every call)."""
    coerce: Callable[[Any], Any] = leaf_type.coerce_output_value
    if not isinstance(leaf_type, GraphQLEnumType):
        return coerce
    names: dict[Any, Any] = {}

    def coerce_enum(value: Any) -> Any:
        try:
            return names[value]
        except KeyError:
            name = names[value] = coerce(value)
            return name
        except TypeError:  # unhashable: not an enum value; coercion reports it
            return coerce(value)

    return coerce_enum


def _origin(object_type: GraphQLObjectType) -> type | None:
    definition = (object_type.extensions or {}).get("strawberry-definition")
    return definition.origin if isinstance(definition, StrawberryObjectDefinition) else None


def _checked_class(object_type: GraphQLObjectType) -> type | None | bool:
    """The class a value must have exactly when graphql-core would ask the type's `is_type_of`; None
    when it would not; False when the type has no class to check (it is then not compiled)."""
    if object_type.is_type_of is None:
        return None
    origin = _origin(object_type)
    return origin if origin is not None else False
