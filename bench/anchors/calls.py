"""Requests to a running server over real HTTP (httpx, keep-alive), each one checked: a failing request
measures nothing, so the first error stops the run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

CONNECTIONS = 32


class RequestFailed(RuntimeError):
    pass


@dataclass
class Endpoint:
    http: httpx.AsyncClient
    name: str

    async def graphql(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None,
                      path: str = "/graphql") -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(path, json={"query": query, "variables": variables or {}}, headers=headers)
        body = response.json()
        if response.status_code != 200 or body.get("errors") or body.get("data") is None:
            raise RequestFailed(f"{self.name}: HTTP {response.status_code}: {str(body)[:500]}")
        return body["data"]

    async def get(self, path: str) -> None:
        response = await self.http.get(path)
        if response.status_code != 200:
            raise RequestFailed(f"{self.name}: GET {path}: HTTP {response.status_code}")


@asynccontextmanager
async def endpoint(name: str, base_url: str) -> AsyncIterator[Endpoint]:
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0) as http:
        yield Endpoint(http, name)


def user_errors(data: dict[str, Any]) -> list[Any]:
    """userErrors anywhere in a mutation's answer."""
    found: list[Any] = []
    for value in data.values():
        if isinstance(value, dict):
            found += value.get("userErrors") or []
    return found
