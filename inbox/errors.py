"""Domain errors. Interfaces (GraphQL, HTTP, CLI) map them to their own forms."""

from __future__ import annotations


class DomainError(Exception):
    """A failure the caller caused or must know about; its message is safe to show."""

    code = "INTERNAL_SERVER_ERROR"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class AddonRequired(DomainError):
    code = "ADDON_REQUIRED"


class BadUserInput(DomainError):
    """A bad argument value (page size, cursor, date): a top-level error."""

    code = "BAD_USER_INPUT"


class ServiceUnavailable(DomainError):
    code = "SERVICE_UNAVAILABLE"


class UserError(DomainError):
    """A business-rule or validation failure of a mutation: reported in its payload's userErrors."""

    def __init__(self, code: str, message: str, field: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class UserErrors(DomainError):
    """Several user errors at once (a form with several mistakes)."""

    def __init__(self, errors: list[UserError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
