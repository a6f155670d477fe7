"""Operation timing for the metrics: the app puts a `metrics` object on the services (app/metrics.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from time import perf_counter
from typing import Any

from strawberry.extensions import SchemaExtension


class OperationTimer(SchemaExtension):
    """Times each operation, labelled by its type and name (names are cut short to bound cardinality)."""

    async def on_operation(self) -> AsyncIterator[None]:
        started = perf_counter()
        yield
        context: Any = self.execution_context.context
        metrics = getattr(getattr(context, "services", None), "metrics", None)
        if metrics is None:
            return
        kind = getattr(self._operation_type(), "value", "unknown")
        name = (self.execution_context.operation_name or "anonymous")[:40]
        metrics.request_seconds.labels(f"{kind} {name}").observe(perf_counter() - started)
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or []:
            metrics.errors.labels(str((error.extensions or {}).get("code", "GRAPHQL_VALIDATION"))).inc()

    def _operation_type(self) -> Any:
        """The operation's type; None when the document did not parse (strawberry raises then)."""
        try:
            return self.execution_context.operation_type
        except Exception:
            return None
