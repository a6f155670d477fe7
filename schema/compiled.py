"""Selections completed by compiled closures instead of graphql-core's per-field machinery.

Below a list page's root field, every field of the selection is plain: an attribute, a method of the
object, or a sync method that returns data the page already loaded. graphql-core still walks each of
them with its general machinery (a path, a resolve info, an awaitable check, a completion dispatch
per field: about a third of a threads page's CPU, py-spy). Here a selection whose fields all have a
plan (`schema.execution.field_plans`) is compiled once per document into closures that build the
response dict directly.

A compiled completion answers only when everything is ordinary: no error, no null where the schema
forbids one, no awaitable, the exact classes it was compiled for. Anything else raises `Fallback` and
graphql-core completes the same value from the start, so answers, errors and nulls are graphql-core's
own; the fields read are plain reads of loaded data, so reading them again is safe. Selections with
directives (`@include`, `@skip`, `@defer`) or arguments are not compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from graphql import (
    DirectiveNode,
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
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
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import get_strawberry_type_cast

from schema.plans import DirectField, LeafAttribute, LeafList, complete_leaf_list

if TYPE_CHECKING:
    from schema.execution import FastExecutionContext

# (execution context, value, path) -> the completed value; raises Fallback.
Complete = Callable[["FastExecutionContext", Any, Path], Any]
# (execution context, source object, its path) -> the field's completed value; raises Fallback.
CompleteField = Callable[["FastExecutionContext", Any, Path], Any]

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


class Compiler:
    """Compiles the selections of one operation, using its execution context's fragments."""

    def __init__(self, context: FastExecutionContext) -> None:
        self.context = context

    def object(self, object_type: GraphQLObjectType, details: list[FieldDetails]) -> Complete | None:
        context = self.context
        collected = collect_subfields(context.schema, context.fragments, context.variable_values,
                                      context.operation, object_type, details, context.hide_suggestions)
        if collected.new_defer_usages:
            return None
        fields: list[tuple[str, CompleteField]] = []
        for key, field_details in collected.grouped_field_set.items():
            complete_field = self.field(object_type, key, field_details)
            if complete_field is None:
                return None
            fields.append((key, complete_field))
        checked = _checked_class(object_type)
        if checked is False:
            return None

        def complete_object(execution: FastExecutionContext, source: Any, path: Path) -> dict[str, Any]:
            if checked is not None and (type(source) is not checked or get_strawberry_type_cast(source) is not None):
                raise FALLBACK
            return {key: complete(execution, source, path) for key, complete in fields}

        return complete_object

    def field(self, parent_type: GraphQLObjectType, key: str, details: list[FieldDetails]) -> CompleteField | None:
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            type_name = parent_type.name
            return lambda _execution, _source, _path: type_name
        if any(detail.node.arguments or detail.defer_usage is not None for detail in details):
            return None
        plan = self.context.plans.get((parent_type.name, name))
        if isinstance(plan, LeafAttribute):
            return _leaf_field(plan)
        if isinstance(plan, LeafList):
            def complete_list(_execution: FastExecutionContext, source: Any, _path: Path) -> list[Any]:
                completed = complete_leaf_list(plan, source)
                if completed is None:
                    raise FALLBACK
                return completed
            return complete_list
        if not isinstance(plan, DirectField):
            return None
        field_def = parent_type.fields[name]
        complete = self.value(field_def.type, details)
        if complete is None:
            return None
        nodes = [detail.node for detail in details]
        read, needs_info, type_name = plan.read, plan.needs_info, parent_type.name

        def complete_direct(execution: FastExecutionContext, source: Any, path: Path) -> Any:
            field_path = Path(path, key, type_name)
            info = execution.build_resolve_info(field_def, nodes, parent_type, field_path) if needs_info else None
            value = read(source, info)
            if execution.is_awaitable(value):
                _close(value)
                raise FALLBACK
            return complete(execution, value, field_path)

        return complete_direct

    def value(self, value_type: GraphQLOutputType, details: list[FieldDetails]) -> Complete | None:
        """How to complete a value of this type (nullable unless wrapped in non-null)."""
        if isinstance(value_type, GraphQLNonNull):
            inner = self.value(value_type.of_type, details)
            if inner is None:
                return None

            def complete_non_null(execution: FastExecutionContext, value: Any, path: Path) -> Any:
                if value is None:
                    raise FALLBACK
                return inner(execution, value, path)
            return complete_non_null
        if isinstance(value_type, GraphQLList):
            item = self.value(value_type.of_type, details)
            if item is None:
                return None

            def complete_list(execution: FastExecutionContext, value: Any, path: Path) -> list[Any] | None:
                if value is None:
                    return None
                if not isinstance(value, list | tuple):
                    raise FALLBACK
                return [item(execution, element, Path(path, index, None)) for index, element in enumerate(value)]
            return complete_list
        if is_leaf_type(value_type):
            coerce = _coercion(value_type)

            def complete_leaf(_execution: FastExecutionContext, value: Any, _path: Path) -> Any:
                if value is None:
                    return None
                coerced = coerce(value)
                if coerced is None or coerced is Undefined:
                    raise FALLBACK
                return coerced
            return complete_leaf
        if is_object_type(value_type):
            assert isinstance(value_type, GraphQLObjectType)
            return _nullable(self.object(value_type, details))
        if is_abstract_type(value_type):
            assert isinstance(value_type, GraphQLAbstractType)
            return _nullable(self.abstract(value_type, details))
        return None

    def abstract(self, abstract_type: GraphQLAbstractType, details: list[FieldDetails]) -> Complete | None:
        """A union or interface: each possible type compiled, chosen by the value's exact class."""
        by_class: dict[type, Complete] = {}
        for possible in self.context.schema.get_possible_types(abstract_type):
            origin = _origin(possible)
            complete = self.object(possible, details)
            if origin is None or complete is None or origin in by_class:
                return None
            by_class[origin] = complete

        def complete_abstract(execution: FastExecutionContext, value: Any, path: Path) -> Any:
            complete = by_class.get(type(value))
            if complete is None:
                raise FALLBACK
            return complete(execution, value, path)

        return complete_abstract


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


def _leaf_field(plan: LeafAttribute) -> CompleteField:
    read, coerce, non_null = plan.read, _coercion(plan.leaf_type), plan.non_null
    unchanged = _UNCHANGED.get(plan.leaf_type)

    def complete_leaf(_execution: FastExecutionContext, source: Any, _path: Path) -> Any:
        value = read(source)
        if value is None:
            if non_null:
                raise FALLBACK
            return None
        if type(value) is unchanged:
            return value
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise FALLBACK
        return coerced

    return complete_leaf


def _nullable(complete: Complete | None) -> Complete | None:
    if complete is None:
        return None

    def complete_nullable(execution: FastExecutionContext, value: Any, path: Path) -> Any:
        return None if value is None else complete(execution, value, path)

    return complete_nullable


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
