"""Field permissions applied by the schema: the inbox add-on, and staff-only (writable) access."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from inbox.errors import AddonRequired, Forbidden
from schema.info import Info


class HasInboxAddon(BasePermission):
    """The whole inbox is a paid add-on: without it only `viewer` and `club` answer."""

    message = "The club does not have the inbox add-on"
    error_extensions = {"code": AddonRequired.code}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.require_principal()
        return principal.has_inbox


class IsStaff(BasePermission):
    """Writes, viewer state and subscriptions need a staff token; partner API keys are read-only."""

    message = "Partner API keys are read-only"
    error_extensions = {"code": Forbidden.code}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.require_principal().is_staff
