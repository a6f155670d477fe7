"""Error messages in GraphQL's words: graphql-core calls a missing value Python's `None`, clients send `null`."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

PYTHON_NULL = " not to be None."
GRAPHQL_NULL = " not to be null."


def graphql_wording(error: GraphQLError) -> GraphQLError:
    if PYTHON_NULL not in error.message:
        return error
    return GraphQLError(
        message=error.message.replace(PYTHON_NULL, GRAPHQL_NULL), nodes=error.nodes, source=error.source,
        positions=error.positions, path=error.path, original_error=error.original_error, extensions=error.extensions,
    )


class NullWording(SchemaExtension):
    """Rewrites "not to be None" as "not to be null" in the errors of every result (streamed ones too)."""

    def on_operation(self) -> Iterator[None]:
        yield
        reword(self.execution_context.result)

    def on_stream_result(self, result: object) -> Iterator[None]:
        reword(result)
        yield


def reword(result: object) -> None:
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = [graphql_wording(error) for error in errors]  # type: ignore[attr-defined]
