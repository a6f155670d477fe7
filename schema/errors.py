"""How errors leave the API: domain errors keep their code; anything unexpected is masked.

Unexpected errors answer "Unexpected error" with a request id; the details go to the log only.
"""

from __future__ import annotations

import asyncio
import logging

from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from strawberry.extensions import MaskErrors

from inbox.errors import DomainError

log = logging.getLogger("inbox.errors")

UNAVAILABLE_ERRORS = (OperationalError, PoolTimeoutError, OSError, ConnectionError, asyncio.TimeoutError)


def is_unavailable(error: BaseException) -> bool:
    """A database (or other backing service) that is down or hung, whatever the driver says."""
    if isinstance(error, UNAVAILABLE_ERRORS):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def coded_error(error: GraphQLError, code: str, message: str | None = None, **extra: object) -> GraphQLError:
    return GraphQLError(
        message=message if message is not None else error.message,
        nodes=error.nodes, source=error.source, positions=error.positions, path=error.path,
        original_error=None, extensions={**(error.extensions or {}), "code": code, **extra},
    )


class ErrorPolicy(MaskErrors):
    """Adds `extensions.code` to known errors and masks the rest (strawberry's plain MaskErrors
    would mask the codes too)."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._process_error(error) for error in errors]

    def _process_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None or (error.extensions or {}).get("code"):
            return error
        if isinstance(original, DomainError):
            return coded_error(error, original.code, str(original))
        if isinstance(original, GraphQLError):
            return error
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "")
        if is_unavailable(original):
            log.warning("service unavailable (request %s): %r", request_id, original)
            return coded_error(error, "SERVICE_UNAVAILABLE", "Service unavailable, try again shortly")
        log.error("unexpected error (request %s)", request_id, exc_info=original)
        return coded_error(error, "INTERNAL_SERVER_ERROR", "Unexpected error", requestId=request_id)
