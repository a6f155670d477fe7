"""How errors leave the API: domain errors keep their code; anything unexpected is masked.

Unexpected errors answer "Unexpected error" with a request id; the details go to the log only.
"""

from __future__ import annotations

import asyncio
import logging
import re

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from strawberry.extensions import MaskErrors

from inbox.errors import DomainError
from schema.wording import graphql_wording

log = logging.getLogger("inbox.errors")

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")

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


def is_expected(error: GraphQLError) -> bool:
    """A caller's mistake (bad document, bad input, refused access), as opposed to a fault of ours."""
    original = error.original_error
    return original is None or isinstance(original, DomainError | GraphQLError)


class InboxSchema(strawberry.Schema):
    """Logs an expected error in one line; unexpected ones are logged, with their traceback, by ErrorPolicy."""

    def process_errors(self, errors: list[GraphQLError], execution_context: object = None) -> None:
        for error in errors:
            if is_expected(error):
                log.info("request error: %s", error.message[:300])


class ErrorPolicy(MaskErrors):
    """Adds `extensions.code` to every error and masks the unexpected ones (plain MaskErrors would mask
    the codes too). In production, "Did you mean ...?" suggestions are cut from every message: graphql-core
    makes them in several rules (fields, arguments, enum values, types, input fields). Every message then
    says `null` where graphql-core says `None` (schema/wording.py), here rather than in an extension of
    its own, which every subscription would hold open for its whole life."""

    def __init__(self, *, production: bool = False) -> None:
        super().__init__()
        self.production = production

    def _process_result(self, result: object) -> None:
        """As MaskErrors does, without its runtime Protocol check (costly on every subscription frame)."""
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = [self._process_error(error) for error in errors]
        if self.production:
            processed = [self._without_suggestions(error) for error in processed]
        return [graphql_wording(error) for error in processed]

    @staticmethod
    def _without_suggestions(error: GraphQLError) -> GraphQLError:
        if "Did you mean" not in error.message:
            return error
        return coded_error(error, (error.extensions or {}).get("code", ""), _SUGGESTION.sub("", error.message))

    def _process_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if (error.extensions or {}).get("code"):
            return error
        if isinstance(error, GraphQLSyntaxError) or isinstance(original, GraphQLSyntaxError):
            return coded_error(error, "GRAPHQL_PARSE_FAILED")
        if isinstance(original, DomainError):
            return coded_error(error, original.code, str(original))
        if error.path is None and (original is None or isinstance(original, GraphQLError)):
            # Before execution: a variable that does not coerce is bad input; the rest failed validation.
            code = "BAD_USER_INPUT" if error.message.startswith("Variable '$") else "GRAPHQL_VALIDATION_FAILED"
            return coded_error(error, code)
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "")
        if original is None or isinstance(original, GraphQLError):  # e.g. a null for a non-null field: our fault
            log.error("unexpected error (request %s): %s", request_id, error.message)
            return coded_error(error, "INTERNAL_SERVER_ERROR", "Unexpected error", requestId=request_id)
        if is_unavailable(original):
            log.warning("service unavailable (request %s): %r", request_id, original)
            return coded_error(error, "SERVICE_UNAVAILABLE", "Service unavailable, try again shortly")
        log.error("unexpected error (request %s)", request_id, exc_info=original)
        return coded_error(error, "INTERNAL_SERVER_ERROR", "Unexpected error", requestId=request_id)
