"""Every type, field, argument, input field and enum value of the schema says what it is: the
descriptions rules of graphql-schema-linter (types-have-descriptions, fields-have-descriptions,
arguments-have-descriptions, enum-values-have-descriptions, input-object-values-have-descriptions)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
)

from schema import build_schema


def undescribed(type_: GraphQLNamedType) -> Iterator[str]:
    """The coordinates (Type, Type.field, Type.field(arg:), Enum.VALUE) of the elements without a description."""
    if not (type_.description or "").strip():
        yield type_.name
    if isinstance(type_, GraphQLEnumType):
        yield from (f"{type_.name}.{name}" for name, value in type_.values.items()
                    if not (value.description or "").strip())
    if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
        for field_name, field in type_.fields.items():
            if not (field.description or "").strip():
                yield f"{type_.name}.{field_name}"
            for arg_name, arg in getattr(field, "args", {}).items():
                if not (arg.description or "").strip():
                    yield f"{type_.name}.{field_name}({arg_name}:)"


def test_every_schema_element_has_a_description() -> None:
    type_map = build_schema()._schema.type_map
    missing = [where for name, type_ in sorted(type_map.items()) if not name.startswith("__")
               for where in undescribed(type_)]
    assert missing == [], f"{len(missing)} elements without a description:\n" + "\n".join(missing)


def test_the_check_sees_a_missing_description() -> None:
    """The walk itself: an undescribed enum value and argument are reported."""
    from graphql import build_schema as parse_schema

    sdl = '"Q" type Query { "f" f("a" a: Int, b: Int): E } "E" enum E { "X" X Y }'
    type_map = parse_schema(sdl).type_map
    assert sorted(w for n in ("Query", "E") for w in undescribed(type_map[n])) == ["E.Y", "Query.f(b:)"]
