"""The GraphQL schema: strawberry types over the resolvers; built once per app."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from schema.cost import QueryCost
from schema.errors import ErrorPolicy, InboxSchema
from schema.limits import InputLimits, guard_mutation_inputs
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription
from schema.timing import OperationTimer
from schema.types import Club, Delivery, Member, Message, Session, Smartlist, Staff, Thread, ThreadUpdate

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2000


def build_schema(*, production: bool = False) -> strawberry.Schema:
    extensions: list[object] = [
        OperationTimer,
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        QueryCost,
        InputLimits,
        lambda: ErrorPolicy(production=production),
    ]
    if production:
        from strawberry.extensions import DisableIntrospection

        extensions.append(DisableIntrospection)
    schema = InboxSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Club, Delivery, Member, Message, Session, Smartlist, Staff, Thread, ThreadUpdate],
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
    )
    guard_mutation_inputs(schema)
    return schema


def print_schema_sdl() -> str:
    return build_schema().as_str() + "\n"
