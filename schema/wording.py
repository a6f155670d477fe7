"""Error messages in GraphQL's words: graphql-core calls a missing value Python's `None`, clients send `null`."""

from __future__ import annotations

from graphql import GraphQLError

PYTHON_NULL = " not to be None."
GRAPHQL_NULL = " not to be null."


def graphql_wording(error: GraphQLError) -> GraphQLError:
    if PYTHON_NULL not in error.message:
        return error
    return GraphQLError(
        message=error.message.replace(PYTHON_NULL, GRAPHQL_NULL), nodes=error.nodes, source=error.source,
        positions=error.positions, path=error.path, original_error=error.original_error, extensions=error.extensions,
    )
