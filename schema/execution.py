"""A faster path through graphql-core's executor for the most common field of all: a plain attribute
of a leaf type (a name, a count, a date, an enum).

A threads page resolves about a thousand fields; two thirds of them are such attributes, and
graphql-core spends most of its per-field time building a resolve info, reading arguments and
dispatching the completion, none of which they need. This execution context answers them with one
`getattr` and the type's output coercion. Anything else — an error, a null, an argument, a resolver,
middleware — goes through graphql-core unchanged, so answers are identical (tests run both ways).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
    is_object_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter


@dataclass(frozen=True, slots=True)
class LeafAttribute:
    python_name: str
    leaf_type: GraphQLLeafType
    non_null: bool


def leaf_attributes(schema: GraphQLSchema) -> dict[tuple[str, str], LeafAttribute]:
    """(type name, field name) -> the attribute it reads, for every plain leaf field of the schema."""
    plans: dict[tuple[str, str], LeafAttribute] = {}
    for type_name, graphql_type in schema.type_map.items():
        if type_name.startswith("__") or not is_object_type(graphql_type):
            continue
        assert isinstance(graphql_type, GraphQLObjectType)
        for field_name, field in graphql_type.fields.items():
            strawberry_field = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if strawberry_field is None or field.args or not getattr(field.resolve, "_is_default", False):
                continue
            non_null = isinstance(field.type, GraphQLNonNull)
            leaf = field.type.of_type if non_null else field.type
            if is_leaf_type(leaf) and strawberry_field.python_name:
                plans[(type_name, field_name)] = LeafAttribute(strawberry_field.python_name, leaf, non_null)
    return plans


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with plain leaf attributes answered directly."""

    leaf_plans: dict[tuple[str, str], LeafAttribute] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        # Middleware wraps every resolver, plain attributes included: then no field takes the shortcut.
        self.plans = {} if middleware is not None and middleware.middlewares else self.leaf_plans

    def execute_field(self, parent_type: Any, source: Any, field_details_list: Any, path: Any,
                      position_context: Any) -> Any:
        node = field_details_list[0].node
        plan = self.plans.get((parent_type.name, node.name.value))
        if plan is not None and not node.arguments:
            try:
                value = getattr(source, plan.python_name)
                if value is not None:
                    coerced = plan.leaf_type.coerce_output_value(value)
                    if coerced is not None and coerced is not Undefined:
                        return coerced
                elif not plan.non_null:
                    return None
            except Exception:  # noqa: BLE001 - graphql-core below reports it, located and masked as usual
                pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


def fast_execution_context(schema: GraphQLSchema) -> type[FastExecutionContext]:
    """An execution context class for this schema (its plans are computed once)."""
    return type("SchemaFastExecutionContext", (FastExecutionContext,), {"leaf_plans": leaf_attributes(schema)})
