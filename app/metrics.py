"""Prometheus metrics (GET /metrics): request latency by operation, open subscriptions, events
published, and deliveries by status. One registry per app, so several apps can live in one process."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from models import Delivery
from models.tables import DELIVERY_STATUSES


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram("inbox_graphql_request_seconds", "GraphQL operation latency",
                                         ["operation"], registry=self.registry)
        self.open_subscriptions = Gauge("inbox_open_subscriptions", "Subscriptions being served",
                                        registry=self.registry)
        self.events_published = Gauge("inbox_events_published", "Events published on the bus",
                                      registry=self.registry)
        self.publish_failures = Gauge("inbox_event_publish_failures", "Events the bus failed to publish",
                                      registry=self.registry)
        self.deliveries = Gauge("inbox_deliveries", "Deliveries by status", ["status"], registry=self.registry)
        self.errors = Counter("inbox_graphql_errors", "GraphQL errors by code", ["code"], registry=self.registry)

    async def render(self, request: Request) -> Response:
        services = request.app.state.services
        self.events_published.set(services.bus.published)
        self.publish_failures.set(services.bus.publish_failures)
        async with services.sessions() as session:
            counts = dict((await session.execute(
                select(Delivery.status, func.count(Delivery.id)).group_by(Delivery.status))).all())
        for status in DELIVERY_STATUSES:
            self.deliveries.labels(status).set(counts.get(status, 0))
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
