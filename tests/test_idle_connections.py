"""What an idle WebSocket holds and costs (issue: performance): a connection to /graphql goes straight to
the GraphQL view (app/factory.py), so its suspended task keeps no frame of the HTTP middleware and router;
WebSockets to any other path are still refused by the router; the server pings an idle connection every
45 s, not uvicorn's 20 s (app/cli.py); the open subscriptions gauge, counted by the hub membership an
idle subscription holds (a class, not a generator: subscriptions/hub.py), goes up and down with them."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from app.cli import WEBSOCKET_PING_SECONDS
from app.factory import create_app
from app.websocket_protocol import LeanWebSocketProtocol
from inbox.settings import Settings
from tests.factories import ClubFixture
from tests.ws_client import PROTOCOL, GraphQLWebSocket, live_server

HTTP_ONLY_LAYERS = {"BrowserOrigins.__call__", "BodySizeLimit.__call__", "ExceptionMiddleware.__call__",
                    "Router.__call__", "Router.app", "Route.handle", "WebSocketRoute.handle"}


@pytest.fixture
async def address(settings: Settings) -> AsyncIterator[str]:
    async with live_server(create_app(settings, run_dispatcher=False)) as served:
        yield served


def _awaited_frames(task: asyncio.Task[Any]) -> list[str]:
    """The qualified names of the functions a task is suspended in, outermost first."""
    names = []
    awaitable: Any = task.get_coro()
    while awaitable is not None:
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "ag_frame", None)
        if frame is not None:
            names.append(frame.f_code.co_qualname)
        awaitable = (getattr(awaitable, "cr_await", None) or getattr(awaitable, "ag_await", None)
                     or getattr(awaitable, "gi_yieldfrom", None))
    return names


async def test_an_idle_subscription_keeps_no_frame_of_the_http_middleware(address: str, club: ClubFixture) -> None:
    async with GraphQLWebSocket.open(f"ws://{address}/graphql", club.token()) as ws:
        await ws.subscribe("subscription { unreadCountsChanged { total } }")
        await ws.receive()
        stacks = [_awaited_frames(task) for task in asyncio.all_tasks()]
        connections = [stack for stack in stacks if "InboxGraphQL.__call__" in stack]
        assert connections, "the connection's task was not found"
        for stack in connections:
            assert not HTTP_ONLY_LAYERS & set(stack), stack


async def test_a_websocket_to_another_path_is_still_refused(address: str) -> None:
    for path in ("/graphql/", "/healthz", "/metrics", "/nowhere"):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"ws://{address}{path}", subprotocols=[PROTOCOL]):
                pass
        assert refused.value.response.status_code == 403, path


async def test_an_idle_connection_is_pinged_every_45_seconds(address: str, club: ClubFixture) -> None:
    async with GraphQLWebSocket.open(f"ws://{address}/graphql", club.token()):
        [protocol] = [found for found in gc.get_objects()
                      if isinstance(found, LeanWebSocketProtocol) and not found.transport.is_closing()]
        assert protocol.ping_timer is not None
        next_ping = protocol.ping_timer.when() - asyncio.get_running_loop().time()
    assert WEBSOCKET_PING_SECONDS == 45.0 and 40.0 < next_ping <= 45.0


async def _open_subscriptions(http: httpx.AsyncClient, expected: float) -> float:
    """The gauge once it shows `expected` (the server joins and ends subscriptions as it gets to them), or
    as it is after a second."""
    for _ in range(50):
        [line] = [line for line in (await http.get("/metrics")).text.splitlines()
                  if line.startswith("inbox_open_subscriptions ")]
        if (value := float(line.split()[1])) == expected:
            break
        await asyncio.sleep(0.02)
    return value


async def test_the_open_subscriptions_gauge_counts_each_subscription_while_it_lasts(
    address: str, club: ClubFixture
) -> None:
    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        assert await _open_subscriptions(http, 0) == 0
        async with GraphQLWebSocket.open(f"ws://{address}/graphql", club.token()) as ws:
            await ws.subscribe("subscription { unreadCountsChanged { total } }")
            await ws.subscribe("subscription { threadUpdated { reason } }")
            assert await _open_subscriptions(http, 2) == 2
        assert await _open_subscriptions(http, 0) == 0
