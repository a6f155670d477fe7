"""The Starlette app factory: routes, and the lifespan that owns the engine (and, later, the bus)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from app.cors import BrowserOrigins
from app.graphiql import asset_routes
from app.graphql_view import InboxGraphQL
from app.limits import BodySizeLimit
from app.metrics import Metrics
from app.runtime import running
from app.webhooks import routes as webhook_routes
from inbox.changes import prune_change_log_forever
from inbox.database import engine_from_settings
from inbox.ratelimit import rate_limiter_from_url
from inbox.settings import Settings, get_settings
from models.engine import read_session_factory, session_factory
from resolvers.context import Services
from schema import build_schema

log = logging.getLogger("inbox.app")
GRAPHQL_PATH = "/graphql"
WEB_INBOX = Path(__file__).parent / "static" / "web"  # built from web/ (see docs/web.md)


class LazyGraphQL:
    """Routes to the GraphQL view that the lifespan builds (engine and sessions are loop-bound)."""

    def __init__(self) -> None:
        self.view: InboxGraphQL | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.view is None:
            raise RuntimeError("the app's lifespan has not started")
        await self.view(scope, receive, send)


class GraphQLWebSockets:
    """Sends WebSockets to /graphql straight to the GraphQL view, past the HTTP middleware and the
    router: an idle subscription then keeps no suspended frames of theirs (3 KB of the 37 KB of Python
    objects an idle connection holds, tracemalloc at 500 connections)."""

    def __init__(self, app: ASGIApp, graphql: LazyGraphQL) -> None:
        self.app = app
        self.graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == GRAPHQL_PATH:
            await self.graphql(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, *, run_dispatcher: bool = True) -> Starlette:
    """Build the ASGI app; `run_dispatcher` runs the delivery dispatcher in the lifespan."""
    settings = settings or get_settings()
    graphql = LazyGraphQL()
    metrics = Metrics()
    services_holder: dict[str, Services] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = engine_from_settings(settings)
        rate_limiter = rate_limiter_from_url(settings.redis_url, capacity=settings.rate_limit_per_minute,
                                             window_seconds=60.0)
        sessions = session_factory(engine)
        async with running(settings, sessions, with_dispatcher=run_dispatcher) as runtime:
            pruning = asyncio.create_task(prune_change_log_forever(sessions), name="inbox-change-log-pruning")
            services = Services(settings=settings, sessions=sessions, read_sessions=read_session_factory(engine),
                                rate_limiter=rate_limiter, bus=runtime.bus,
                                metrics=metrics, delivery_changes=runtime.delivery_changes)
            services_holder["services"] = services
            app.state.services = services
            graphql.view = InboxGraphQL(build_schema(production=settings.is_production,
                                                    fast_execution=settings.fast_execution), services)
            gc.freeze()  # start-up objects leave the collector's work: full collections drop from ~115 ms (bench/)
            if run_dispatcher:
                runtime.dispatch_in_background()
            try:
                yield
            finally:
                graphql.view = None
                pruning.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pruning
        await rate_limiter.aclose()
        await engine.dispose()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        services = services_holder["services"]
        checks = {"database": await _database_ready(services), "bus": await services.bus.ready()}
        ready = all(checks.values())
        return JSONResponse({"status": "ready" if ready else "unavailable",
                             "checks": {k: "up" if v else "down" for k, v in checks.items()}},
                            status_code=200 if ready else 503)

    return Starlette(
        routes=[
            Route(GRAPHQL_PATH, graphql, methods=["GET", "POST"]),
            *([] if settings.is_production else asset_routes()),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics.render),
            *webhook_routes,
            Mount("/", StaticFiles(directory=WEB_INBOX, html=True), name="web"),
        ],
        middleware=[Middleware(GraphQLWebSockets, graphql=graphql),
                    Middleware(BrowserOrigins, allowed_origins=settings.allowed_origins), Middleware(BodySizeLimit)],
        lifespan=lifespan,
    )


async def _database_ready(services: Services) -> bool:
    try:
        async with services.sessions() as session:
            await session.execute(text("SELECT 1"))
        return True
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("database not ready: %r", exc)
        return False
