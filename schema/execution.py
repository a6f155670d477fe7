"""A faster path through graphql-core's executor for the fields that need none of its machinery.

A threads page resolves about a thousand fields. graphql-core spends most of its per-field time on
things a plain field never uses: strawberry's resolver chain (argument conversion, extension
wrappers, a new `Info` per call), argument coercion, a field lookup. This execution context reads
each field as its plan says (`schema.plans`, decided once per schema), and completes a selection
whose fields are all plain with its compiled closures (`schema.compiled`).

Completion, errors, nulls and awaitables go through graphql-core's own methods (`complete_value`,
`complete_awaitable_value`, `handle_field_error`), so answers are identical; anything unusual (an
argument, a field extension, middleware, a null in a leaf fast path) takes graphql-core's path
unchanged. Tests run documents both ways; `INBOX_FAST_EXECUTION=0` turns the shortcut off.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable
from typing import Any

from graphql import GraphQLSchema, Undefined
from graphql.execution.executor import to_nodes
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import Info as StrawberryInfo

from schema.compiled import MAX_COMPILED, Compiler, Complete, has_directives
from schema.plans import DirectField, FieldPlan, LeafAttribute, LeafList, complete_leaf_list, field_plans

# Compiled completions that answered ("completed") or handed the value back to graphql-core
# ("fell_back"), for tests.
COMPILED: Counter[str] = Counter()


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with plain fields read directly and plain selections compiled."""

    field_plans: dict[tuple[str, str], FieldPlan] = {}
    # (object type, the selection's field nodes) -> its compiled completion, or None when it has none;
    # the entry holds the nodes, so their ids stay theirs while it lives. Per schema (see below).
    compiled: dict[tuple[str, tuple[int, ...]], tuple[object, Complete | None]] = {}
    plain_operations: dict[int, tuple[object, bool]] = {}
    # Whether compiled fields may get a `DeferredInfo` (the schema's info class is strawberry's own).
    deferred_info = False

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


def fast_execution_context(schema: GraphQLSchema, info_class: type) -> type[FastExecutionContext]:
    """An execution context class for this schema (its plans are computed once)."""
    return type("SchemaFastExecutionContext", (FastExecutionContext,),
                {"field_plans": field_plans(schema, info_class), "compiled": {}, "plain_operations": {},
                 "deferred_info": info_class is StrawberryInfo})
