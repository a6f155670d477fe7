"""How each field of the schema can be read without graphql-core's resolver machinery, decided once
per schema (the plans `schema.execution` and `schema.compiled` read fields by):

- a plain leaf (an attribute, or a method taking only `self`, e.g. a cursor): `getattr` or the
  method, then the type's output coercion, with no resolve info at all;
- a list of plain leaves (tags): the list read and each item coerced;
- any other attribute (an object, a connection, a union) or a sync method taking only `self` and
  `info`: read directly (with a resolve info when it asks for one), then completed.
"""

from __future__ import annotations

from collections.abc import Callable
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
    GraphQLString,
    Undefined,
    get_named_type,
    is_leaf_type,
    is_object_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case


@dataclass(frozen=True, slots=True)
class LeafAttribute:
    """A leaf read with no resolve info: the source object -> the value to coerce."""

    read: Callable[[Any], Any]
    leaf_type: GraphQLLeafType
    non_null: bool
    attribute: str | None = None  # set when `read` is this attribute's getattr
    # Set when `read` is a `schema.types.columns` field: the row's column, or the function of the row.
    row_column: str | None = None
    row_value: Callable[[Any], Any] | None = None


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
    attribute: str | None = None  # set when `read` is this attribute's getattr
    # When `read` calls a method with a strawberry `Info`: the method, the info's parameter and field.
    method: Callable[..., Any] | None = None
    info_parameter: str | None = None
    strawberry_field: StrawberryField | None = None


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
        name = strawberry_field.python_name
        read = attrgetter(name)
        return DirectField(lambda source, _info: read(source), needs_info=False, attribute=name)
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

    return DirectField(read_with_info, needs_info=True, method=method, info_parameter=name,
                       strawberry_field=strawberry_field)


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
        attribute = strawberry_field.python_name if isinstance(leaf_read, attrgetter) else None
        return LeafAttribute(leaf_read, inner, non_null, attribute, getattr(leaf_read, "row_column", None),
                             getattr(leaf_read, "row_value", None))
    if leaf_read is not None and isinstance(inner, GraphQLList):
        item, items_non_null = _leaf_of(inner.of_type)
        if is_leaf_type(item) and items_non_null:
            return LeafList(leaf_read, item, non_null)
    return _direct_reader(strawberry_field, field, info_class)


def complete_leaf_list(plan: LeafList, source: Any) -> list[Any] | None:
    """The coerced list, or None when graphql-core must answer (a null, an error, a bad item)."""
    try:
        values = plan.read(source)
        if values is None or not isinstance(values, list | tuple):
            return None
        if plan.leaf_type is GraphQLString and all(type(value) is str for value in values):
            return list(values)  # String's coercion returns a str unchanged
        coerce = plan.leaf_type.coerce_output_value
        completed = [coerce(value) for value in values]
    except Exception:  # noqa: BLE001 - graphql-core reports it
        return None
    if any(value is None or value is Undefined for value in completed):
        return None
    return completed
