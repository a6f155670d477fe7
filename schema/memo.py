"""Answers about an operation computed once per (document, operation, variables): its cost and its
input limits. A frontend repeats the same few operations with the same variables, and each answer is
a walk over the whole document (about a tenth of a `viewer` request's time, bench/).

Documents come from the document cache (`schema/documents.py`), so a repeated operation brings the
same document object: it is the key, held by the entry so its id cannot be reused while cached.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import orjson
from graphql import DocumentNode, GraphQLSchema

Answer = TypeVar("Answer")
ENTRIES = 1024
# Variables longer than this as JSON (a bulk input) are not worth keeping: such operations are rare.
MAX_VARIABLES_BYTES = 2048


class OperationMemo(Generic[Answer]):
    """`compute(schema, document, operation_name, variables)`, remembered for repeated operations.
    The answer must be treated as immutable."""

    def __init__(self, compute: Callable[[GraphQLSchema, DocumentNode, str | None, dict[str, Any] | None], Answer],
                 entries: int = ENTRIES) -> None:
        self._compute = compute
        self._entries = entries
        self._answers: OrderedDict[tuple[int, int, str | None, bytes], tuple[object, object, Answer]] = OrderedDict()

    def __call__(self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                 variables: dict[str, Any] | None) -> Answer:
        try:
            frozen = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            frozen = b""
        if not frozen or len(frozen) > MAX_VARIABLES_BYTES:
            return self._compute(schema, document, operation_name, variables)
        key = (id(schema), id(document), operation_name, frozen)
        entry = self._answers.get(key)
        if entry is not None and entry[0] is schema and entry[1] is document:
            self._answers.move_to_end(key)
            return entry[2]
        answer = self._compute(schema, document, operation_name, variables)
        self._answers[key] = (schema, document, answer)
        while len(self._answers) > self._entries:
            self._answers.popitem(last=False)
        return answer
