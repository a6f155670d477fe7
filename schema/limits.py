"""Size limits of input values: every string and list a client sends is bounded, checked before any resolver.

The limits are declared once, below, per argument (`Type.field(argument)`) or input field
(`InputType.field`); a string without an entry is at most `MAX_TEXT` characters, a list at most
`MAX_ITEMS` items. Text containing U+0000 or an unpaired surrogate is refused too (PostgreSQL cannot
store it). A value over its limit is
- a `BAD_USER_INPUT` top-level error when it is an argument (the operation does not run);
- an `INVALID_INPUT` user error naming the field (e.g. `["input", "body"]`) when it is in the `input` of
  a mutation: that mutation answers its payload with the error, without running.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_operation_ast,
    get_variable_values,
    visit,
)
from graphql.execution.values import VariableValues, get_argument_values
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from inbox.search import MAX_SEARCH
from inbox.sending import MAX_BODY
from inbox.smartlists import MAX_FILTER_VALUE_LENGTH, MAX_FILTER_VALUES, MAX_FILTERS
from inbox.vocabulary import Channel
from schema.enums import UserErrorCode
from schema.memo import OperationMemo

MAX_TEXT = 200  # ids, cursors, idempotency keys, external ids, any other string
MAX_ITEMS = 100  # ids of nodes(ids:), nodesByExternalId(externalIds:), any other list
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class Limit:
    """At most `length` characters per string (each string of a list) and `items` items per list.

    `length_by` refines `length` by a sibling input field: ("channel", {"SMS": 1600}).
    """

    length: int = MAX_TEXT
    items: int = MAX_ITEMS
    length_by: tuple[str, Mapping[str, int]] | None = None


ARGUMENT_LIMITS: dict[tuple[str, str, str], Limit] = {
    **{(parent, field, "search"): Limit(length=MAX_SEARCH) for parent, field in (
        ("Query", "threads"), ("Query", "members"), ("Query", "smartlists"), ("Query", "sessions"),
        ("Query", "memberTags"))},
    ("Query", "nodes", "ids"): Limit(items=100),
    ("Query", "nodesByExternalId", "externalIds"): Limit(items=100),
    ("Query", "smartlistPreview", "filters"): Limit(items=MAX_FILTERS),
}
INPUT_LIMITS: dict[tuple[str, str], Limit] = {
    ("SendMessageInput", "body"): Limit(length=MAX_BODY[Channel.EMAIL],
                                         length_by=("channel", {Channel.SMS: MAX_BODY[Channel.SMS]})),
    ("SendMessageInput", "subject"): Limit(length=300),
    ("CreateSmartlistInput", "name"): Limit(length=300),
    ("CreateSmartlistInput", "description"): Limit(length=2000),
    ("CreateSmartlistInput", "filters"): Limit(items=MAX_FILTERS),
    ("SmartlistFilterInput", "values"): Limit(length=MAX_FILTER_VALUE_LENGTH, items=MAX_FILTER_VALUES),
}
_DEFAULT = Limit()


@dataclass(frozen=True)
class Violation:
    path: list[str]  # GraphQL names and list indexes, from the argument on
    message: str


def violations(value: Any, type_: GraphQLInputType, path: list[str], limit: Limit = _DEFAULT) -> Iterator[Violation]:
    """What is wrong with a coerced argument value (input objects as dicts keyed by GraphQL names)."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if value is None:
        return
    if isinstance(type_, GraphQLList):
        items = value if isinstance(value, list) else [value]
        if len(items) > limit.items:
            yield Violation(path, f"{_name(path)} has {len(items)} items; at most {limit.items} are allowed")
            return
        for index, item in enumerate(items):
            yield from violations(item, type_.of_type, [*path, str(index)], limit)
    elif isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
        for name, field in type_.fields.items():
            if name in value:
                field_limit = _refined(INPUT_LIMITS.get((type_.name, name), _DEFAULT), value)
                yield from violations(value[name], field.type, [*path, name], field_limit)
    elif isinstance(value, str):
        yield from _text_violations(value, path, limit)


def _text_violations(value: str, path: list[str], limit: Limit) -> Iterator[Violation]:
    if len(value) > limit.length:
        yield Violation(path, f"{_name(path)} is {len(value)} characters long; at most {limit.length} are allowed")
    elif _UNSTORABLE.search(value):
        yield Violation(path, f"{_name(path)} contains a NUL character or an unpaired surrogate")


def _refined(limit: Limit, siblings: dict[str, Any]) -> Limit:
    if limit.length_by is None:
        return limit
    sibling, lengths = limit.length_by
    chosen = siblings.get(sibling)
    chosen_name = getattr(chosen, "name", chosen)
    if isinstance(chosen_name, str) and chosen_name in lengths:
        return Limit(length=lengths[chosen_name], items=limit.items)
    return limit


def _name(path: list[str]) -> str:
    named = [part for part in path if not part.isdigit()]
    return f'"{".".join(named)}"' if named else "The value"


# ---------------------------------------------------------------------------------------------- arguments


def argument_violations(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None
) -> list[tuple[str, Violation]]:
    """(field coordinate, violation) for every argument of the operation over its limits, except the
    arguments of mutation fields (their payloads report them: see `guard_mutation_inputs`)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return []
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):  # invalid variables: execution refuses the operation anyway
        return []
    found: list[tuple[str, Violation]] = []
    collector = _ArgumentCollector(schema, coerced, found)
    # Validation refuses unused fragments, so every fragment of the document belongs to the operation.
    fragments = [definition for definition in document.definitions if isinstance(definition, FragmentDefinitionNode)]
    for node in [operation, *fragments]:
        visit(node, TypeInfoVisitor(collector.type_info, collector))
    return found


remembered_violations: OperationMemo[tuple[tuple[str, Violation], ...]] = OperationMemo(
    lambda *operation: tuple(argument_violations(*operation)))


class _ArgumentCollector(Visitor):
    def __init__(self, schema: GraphQLSchema, variables: VariableValues, found: list[tuple[str, Violation]]) -> None:
        super().__init__()
        self.type_info = TypeInfo(schema)
        self.mutation_type = schema.mutation_type
        self.variables = variables
        self.found = found

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_type()
        definition = self.type_info.get_field_def()
        if not node.arguments or definition is None or parent is None or parent is self.mutation_type:
            return
        try:
            values = get_argument_values(definition, node, self.variables)
        except GraphQLError:  # invalid argument values: execution reports them
            return
        coordinate = f"{parent.name}.{node.name.value}"
        for name, value in values.items():
            limit = ARGUMENT_LIMITS.get((parent.name, node.name.value, name), _DEFAULT)
            self.found += [(coordinate, v) for v in violations(value, definition.args[name].type, [name], limit)]


class InputLimits(SchemaExtension):
    """Refuses an operation with an argument over its size limit (`BAD_USER_INPUT`), before it executes."""

    async def on_execute(self) -> AsyncIterator[None]:
        error = self._error()
        if error is not None:
            if self.execution_context.operation_type is OperationType.SUBSCRIPTION:
                raise error  # subscriptions ignore a preset result
            self.execution_context.result = ExecutionResult(data=None, errors=[error])
        yield

    def _error(self) -> GraphQLError | None:
        execution = self.execution_context
        assert execution.graphql_document is not None
        found = remembered_violations(execution.schema._schema, execution.graphql_document,
                                      execution.operation_name, execution.variables)
        if not found:
            return None
        coordinate, violation = found[0]
        return GraphQLError(f"{violation.message} (argument of {coordinate})",
                            extensions={"code": "BAD_USER_INPUT", "field": violation.path})


# ---------------------------------------------------------------------------------------------- mutations


def guard_mutation_inputs(schema: strawberry.Schema) -> None:
    """Wrap each mutation's resolver: an argument over its limit answers the payload with `INVALID_INPUT`
    user errors, and the mutation does not run. Permissions are checked first (a partner key is still
    FORBIDDEN)."""
    from schema.mutation import UserError

    mutation_type = schema._schema.mutation_type
    if mutation_type is None:
        return
    definition = mutation_type.extensions["strawberry-definition"]
    permissions = {field.graphql_name or _camel(field.python_name): field.permission_classes
                   for field in definition.fields}
    for name, field in mutation_type.fields.items():
        field.resolve = _guarded(field, permissions.get(name, []), UserError)


def _guarded(field: GraphQLField, permission_classes: list[type], user_error: type) -> Callable[..., Any]:
    resolve = field.resolve
    assert resolve is not None
    payload_type = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    assert isinstance(payload_type, GraphQLObjectType)
    payload = payload_type.extensions["strawberry-definition"]

    def guarded(source: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        found = [violation for name, value in arguments.items()
                 for violation in violations(value, field.args[name].type, [name])]
        if not found or not all(permission().has_permission(source, info) for permission in permission_classes):
            return resolve(source, info, **arguments)
        errors = [user_error(code=UserErrorCode.INVALID_INPUT, field=v.path, message=v.message) for v in found]
        return payload.origin(**{
            f.python_name: errors if f.python_name == "user_errors" else (False if f.type is bool else None)
            for f in payload.fields
        })

    return guarded


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
