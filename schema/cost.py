"""Query cost: reject operations too expensive to run, and charge the caller's rate limit by cost.

The rule (computed on the validated document, before any resolver runs):
- every selected field costs 1 point; `__typename` is free (clients add it everywhere, it runs no resolver);
- a connection (a field whose type has `edges`), or a list field taking `first`/`last`, multiplies the
  cost of its sub-selection by its page size: `first`/`last` (literal or variable), else the argument's
  schema default, else 20; clamped to 1..100 for costing only (the resolvers validate the value);
- a list field taking `ids`/`externalIds` multiplies by the number of ids;
- nested multipliers multiply; fragments (named and inline) are followed; skip/include are ignored;
- on an abstract type, the fragments of every concrete type are added up (an upper bound).
Introspection fields cost 1 point each, their lists unmultiplied (GraphiQL's introspection query
costs a few hundred), except re-entering a type's member lists (`fields`, `interfaces`,
`possibleTypes`, `inputFields`) from within one: each such nesting counts as a 100-item page. That
prices the exponential `fields { type { fields { type { fields ... } } } }` queries out (the depth
limiter ignores introspection) like graphql-js's MaxIntrospectionDepthRule would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionNode,
    SelectionSetNode,
    Undefined,
    ValueNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    get_variable_values,
    is_introspection_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.utilities.coerce_input_value import coerce_default_value
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from schema.memo import OperationMemo

MAX_QUERY_COST = 5000
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
PAGE_ARGUMENTS = ("first", "last")
ID_LIST_ARGUMENTS = ("ids", "externalIds")
INTROSPECTION_MEMBER_LISTS = frozenset({"fields", "interfaces", "possibleTypes", "inputFields"})


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> int:
    """The cost of the operation `operation_name` of `document` (0 when there is no such operation)."""
    operation = get_operation_ast(document, operation_name)
    root = schema.get_root_type(operation.operation) if operation else None
    if operation is None or root is None:
        return 0
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    # Invalid variables fail the operation before any resolver; the raw ones are good enough to cost it.
    values = (variables or {}) if isinstance(coerced, list) else coerced.coerced
    return _Coster(schema, fragments, values).selections(root, operation.selection_set, False)


remembered_cost: OperationMemo[int] = OperationMemo(operation_cost)


class _Coster:
    """Walks one operation; fragment costs are memoised so reused fragments cost no extra walking."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], variables: dict) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.memo: dict[tuple[str, bool], int] = {}
        self.walking: set[str] = set()

    def selections(self, parent: GraphQLNamedType | None, selection_set: SelectionSetNode, in_members: bool) -> int:
        return sum(self.selection(parent, node, in_members) for node in selection_set.selections)

    def selection(self, parent: GraphQLNamedType | None, node: SelectionNode, in_members: bool) -> int:
        if isinstance(node, FieldNode):
            return self.field(parent, node, in_members)
        if isinstance(node, InlineFragmentNode):
            condition = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
            return self.selections(condition, node.selection_set, in_members)
        assert isinstance(node, FragmentSpreadNode)
        return self.spread(node.name.value, in_members)

    def spread(self, name: str, in_members: bool) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in self.walking:  # unknown or cyclic: validation reports it
            return 0
        if (name, in_members) not in self.memo:
            self.walking.add(name)
            condition = self.schema.get_type(fragment.type_condition.name.value)
            self.memo[name, in_members] = self.selections(condition, fragment.selection_set, in_members)
            self.walking.discard(name)
        return self.memo[name, in_members]

    def field(self, parent: GraphQLNamedType | None, node: FieldNode, in_members: bool) -> int:
        name = node.name.value
        if name == "__typename":
            return 0
        if node.selection_set is None:
            return 1
        definition = _field_definition(self.schema, parent, name)
        if definition is None:
            return 1 + self.selections(None, node.selection_set, in_members)
        member_list = name in INTROSPECTION_MEMBER_LISTS and parent is not None and is_introspection_type(parent)
        multiplier = MAX_PAGE_SIZE if member_list and in_members else self.multiplier(definition, node)
        child = get_named_type(definition.type)
        return 1 + multiplier * self.selections(child, node.selection_set, in_members or member_list)

    def multiplier(self, definition: GraphQLField, node: FieldNode) -> int:
        arguments = {argument.name.value: argument.value for argument in node.arguments or ()}
        is_list = is_list_type(get_nullable_type(definition.type))
        id_argument = next((name for name in ID_LIST_ARGUMENTS if name in definition.args), None)
        if is_list and id_argument:
            return self.count(arguments.get(id_argument))
        if _is_connection(definition.type) or (is_list and any(name in definition.args for name in PAGE_ARGUMENTS)):
            return self.page_size(definition, arguments)
        return 1

    def value(self, node: ValueNode) -> Any:
        """A literal's value, or a variable's (Undefined when not provided)."""
        return value_from_ast_untyped(node, self.variables)

    def count(self, node: ValueNode | None) -> int:
        value = self.value(node) if node else None
        if isinstance(value, list):
            return len(value)
        return 0 if value is None or value is Undefined else 1  # a single id is coerced to a list of one

    def page_size(self, definition: GraphQLField, arguments: dict[str, ValueNode]) -> int:
        """The larger of `first`/`last` as given, else of their schema defaults, else 20; within 1..100."""
        given = [self.value(arguments[name]) for name in PAGE_ARGUMENTS if name in arguments]
        defaults = [coerce_default_value(definition.args[name]) for name in PAGE_ARGUMENTS if name in definition.args]
        sizes = [size for size in given if _is_int(size)] or [size for size in defaults if _is_int(size)]
        return min(max(max(sizes, default=DEFAULT_PAGE_SIZE), 1), MAX_PAGE_SIZE)


def _field_definition(schema: GraphQLSchema, parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    return schema.get_field(parent, name) if parent is not None else None  # type: ignore[arg-type]


def _is_connection(type_: GraphQLOutputType) -> bool:
    named = get_named_type(type_)
    return isinstance(named, GraphQLObjectType | GraphQLInterfaceType) and "edges" in named.fields


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class QueryCost(SchemaExtension):
    """Costs each validated operation before it executes: refuses it over `max_cost`
    (QUERY_TOO_COMPLEX), then charges the caller's bucket (RATE_LIMITED when it is full).

    Reads the context's `rate_limiter` and `rate_limit_key` (no charge when either is missing or
    None); writes `query_cost` and, once charged, `rate_limit` (the RateDecision). Every response
    reports `extensions.cost` (0 when the document never got to execute). Subscribing is charged too,
    once, the subscription's cost at subscribe time (its events are pushed, not requested). Async only (the
    charge may go to Redis). On a WebSocket the context is shared by the connection's operations
    (strawberry builds it once per connection), so `query_cost`/`rate_limit` there describe its latest operation.
    """

    def __init__(self, max_cost: int = MAX_QUERY_COST) -> None:
        self.max_cost = max_cost
        self.cost = 0

    async def on_execute(self) -> AsyncIterator[None]:
        error = await self._admit()
        if error is not None:
            self._refuse(error)
        yield

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.cost}

    async def _admit(self) -> GraphQLError | None:
        """The error refusing the operation, if any."""
        self.cost = self._operation_cost()
        if self.cost > self.max_cost:
            return GraphQLError(
                f"Query cost {self.cost} exceeds the limit of {self.max_cost}: request fewer items per page",
                extensions={"code": "QUERY_TOO_COMPLEX", "cost": self.cost, "limit": self.max_cost},
            )
        return await self._charge()

    def _operation_cost(self) -> int:
        execution = self.execution_context
        assert execution.graphql_document is not None
        cost = remembered_cost(
            execution.schema._schema, execution.graphql_document, execution.operation_name, execution.variables
        )
        if execution.context is not None:
            execution.context.query_cost = cost
        return cost

    async def _charge(self) -> GraphQLError | None:
        """Charges the caller's bucket: at least a point, so `{ __typename }` floods are limited too."""
        context = self.execution_context.context
        limiter = getattr(context, "rate_limiter", None)
        key = getattr(context, "rate_limit_key", None)
        if limiter is None or key is None:
            return None
        decision = await limiter.charge(key, max(self.cost, 1))
        context.rate_limit = decision
        if decision.allowed:
            return None
        return GraphQLError(
            f"Rate limit exceeded: this request costs {self.cost} points and {decision.remaining} of "
            f"{decision.limit} remain; retry in {decision.retry_after} s",
            extensions={"code": "RATE_LIMITED", "retryAfter": decision.retry_after},
        )

    def _refuse(self, error: GraphQLError) -> None:
        """A preset result makes strawberry skip execution; subscriptions do not look at it, but
        report an error raised from on_execute."""
        if self._is_subscription():
            raise error
        self.execution_context.result = ExecutionResult(data=None, errors=[error])

    def _is_subscription(self) -> bool:
        return self.execution_context.operation_type is OperationType.SUBSCRIPTION
