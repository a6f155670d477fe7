"""The GraphQL schema: strawberry types over the resolvers; built once per app."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from schema.cost import QueryCost
from schema.documents import LIMIT_RULES, DocumentCache, DocumentStore
from schema.errors import ErrorPolicy, InboxSchema
from schema.execution import fast_execution_context
from schema.limits import InputLimits, guard_mutation_inputs
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import SCALAR_OVERRIDES
from schema.subscription import Subscription
from schema.timing import OperationTimer
from schema.types import Club, Delivery, Member, Message, Session, Smartlist, Staff, Thread, ThreadUpdate
from subscriptions.grouping import grouped_events


def build_schema(*, production: bool = False, fast_execution: bool = True) -> strawberry.Schema:
    """The schema; `fast_execution=False` runs graphql-core's executor alone (tests compare the two)."""
    # In production introspection is refused by one more rule (DisableIntrospection's, without its extension).
    documents = DocumentStore(rules=(*LIMIT_RULES, NoSchemaIntrospectionCustomRule) if production else LIMIT_RULES)
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        OperationTimer,
        lambda: DocumentCache(documents),
        QueryCost,
        InputLimits,
        lambda: ErrorPolicy(production=production),
    ]
    schema = InboxSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Club, Delivery, Member, Message, Session, Smartlist, Staff, Thread, ThreadUpdate],
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
        scalar_overrides=SCALAR_OVERRIDES,
    )
    if fast_execution:
        schema.execution_context_class = fast_execution_context(schema._schema, schema.config.info_class)
    schema.execution_context_class = grouped_events(schema.execution_context_class)
    guard_mutation_inputs(schema)
    return schema


def print_schema_sdl() -> str:
    return build_schema().as_str() + "\n"
