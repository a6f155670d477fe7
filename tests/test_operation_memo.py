"""A repeated operation is costed and checked against the input limits once (issue: performance:
"cost costs almost nothing on a repeated operation"), and never with another operation's answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import graphql

from schema import build_schema
from schema.cost import operation_cost
from schema.limits import remembered_violations
from schema.memo import MAX_VARIABLES_BYTES, OperationMemo

CONTRACT = graphql.build_schema((Path(__file__).parent.parent / "schema.graphql").read_text())
PAGE = "query($n: Int) { threads(category: MEMBER, first: $n) { edges { node { id title } } } }"


def counting_cost() -> tuple[OperationMemo[int], list[Any]]:
    computed: list[Any] = []

    def cost(*operation: Any) -> int:
        computed.append(operation[3])
        return operation_cost(*operation)

    return OperationMemo(cost), computed


def test_the_same_operation_with_the_same_variables_is_costed_once() -> None:
    memo, computed = counting_cost()
    document = graphql.parse(PAGE)
    first = memo(CONTRACT, document, None, {"n": 10})
    assert memo(CONTRACT, document, None, {"n": 10}) == first and len(computed) == 1
    assert memo(CONTRACT, document, None, {"n": 20}) > first and len(computed) == 2


def test_another_document_schema_or_operation_name_is_costed_anew() -> None:
    memo, computed = counting_cost()
    document = graphql.parse(PAGE)
    memo(CONTRACT, document, None, {"n": 10})
    memo(CONTRACT, graphql.parse(PAGE), None, {"n": 10})
    memo(graphql.build_schema(graphql.print_schema(CONTRACT)), document, None, {"n": 10})
    memo(CONTRACT, document, "Other", {"n": 10})
    assert len(computed) == 4


def test_large_variables_are_not_kept() -> None:
    memo, computed = counting_cost()
    document = graphql.parse(PAGE)
    variables = {"n": 10, "padding": "x" * MAX_VARIABLES_BYTES}
    memo(CONTRACT, document, None, variables)
    memo(CONTRACT, document, None, variables)
    assert len(computed) == 2


def test_input_limits_of_a_repeated_operation_still_refuse_oversized_variables() -> None:
    schema = build_schema()._schema
    document = graphql.parse("query($s: String) { members(search: $s) { edges { node { id } } } }")
    assert remembered_violations(schema, document, None, {"s": "ok"}) == ()
    assert remembered_violations(schema, document, None, {"s": "x" * 1000}) != ()
    assert remembered_violations(schema, document, None, {"s": "ok"}) == ()
