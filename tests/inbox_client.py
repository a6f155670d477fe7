"""A staff user's view of the inbox in tests: GraphQL calls over HTTP, and members' replies through the
same domain function the webhooks use."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.actions import record_member_reply
from models.engine import club_session
from tests.factories import ClubFixture, graphql

THREAD_FIELDS = """
  id category title activityAt unreadCount isFavorite isMuted isArchived createdAt sortKey readCursor latestCursor
  target { __typename ... on Member { externalId } ... on Smartlist { externalId } ... on Session { externalId } }
  lastMessage { id body direction }
"""
PAYLOAD = (f"thread {{ {THREAD_FIELDS} }} unreadCounts {{ members smartlists sessions total }} "
           "userErrors { code field message }")


def global_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


@dataclass
class StaffClient:
    http: httpx.AsyncClient
    club: ClubFixture
    sessions: async_sessionmaker[AsyncSession]
    staff: str = "s1"

    def as_staff(self, staff: str) -> StaffClient:
        return StaffClient(self.http, self.club, self.sessions, staff)

    async def query(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        return await graphql(self.http, query, variables, token=self.club.token(self.staff), **kwargs)

    async def ok(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.query(query, variables)
        assert "errors" not in body, body
        return body["data"]

    def target_id(self, kind: str, external_id: str) -> str:
        pk = {"Member": self.club.member_ids, "Smartlist": self.club.smartlist_ids,
              "Session": self.club.session_ids}[kind][external_id]
        return global_id(kind, pk)

    async def start(self, kind: str, external_id: str) -> dict[str, Any]:
        data = await self.ok(
            f"mutation($id: ID!) {{ startThread(input: {{targetId: $id}}) {{ created thread {{ {THREAD_FIELDS} }} "
            "userErrors { code field message } } }", {"id": self.target_id(kind, external_id)})
        return data["startThread"]["thread"]

    async def send(self, thread_id: str, body: str = "Hello", channel: str = "EMAIL", **extra: Any) -> dict[str, Any]:
        data = await self.ok(
            "mutation($input: SendMessageInput!) { sendMessage(input: $input) { "
            "message { id body subject cursor idempotencyKey deliverySummary { total queued skipped } } "
            f"{PAYLOAD} }} }}",
            {"input": {"threadId": thread_id, "channel": channel, "body": body, **extra}})
        return data["sendMessage"]

    async def reply(self, member: str, body: str = "Thanks!", channel: str = "EMAIL") -> None:
        async with club_session(self.sessions, self.club.club_id) as session:
            await record_member_reply(session, self.club.club_id, self.club.member_ids[member], channel=channel,
                                      body=body)

    async def action(self, mutation: str, thread_id: str, value: bool | None = None,
                     up_to: str | None = None) -> dict[str, Any]:
        if value is None:
            input_type, variables = "ThreadInput", {"threadId": thread_id, "upTo": up_to}
        else:
            input_type, variables = "SetThreadFlagInput", {"threadId": thread_id, "value": value}
        data = await self.ok(f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {PAYLOAD} }} }}",
                             {"input": variables})
        return data[mutation]

    async def threads(self, category: str = "MEMBER", status: str = "ALL", search: str | None = None,
                      first: int = 100, after: str | None = None) -> dict[str, Any]:
        data = await self.ok(
            "query($c: ThreadCategory!, $s: ThreadStatusFilter!, $q: String, $first: Int, $after: String) {"
            " threads(category: $c, status: $s, search: $q, first: $first, after: $after) {"
            f" totalCount updatesCursor edges {{ cursor node {{ {THREAD_FIELDS} }} }}"
            " pageInfo { hasNextPage hasPreviousPage endCursor } } }",
            {"c": category, "s": status, "q": search, "first": first, "after": after})
        return data["threads"]

    async def titles(self, category: str = "MEMBER", status: str = "ALL", search: str | None = None) -> list[str]:
        connection = await self.threads(category, status, search)
        return [edge["node"]["target"]["externalId"] for edge in connection["edges"]]

    async def thread(self, thread_id: str) -> dict[str, Any]:
        data = await self.ok(f"query($id: ID!) {{ node(id: $id) {{ ... on Thread {{ {THREAD_FIELDS} }} }} }}",
                             {"id": thread_id})
        return data["node"]

    async def unread_counts(self) -> dict[str, int]:
        return (await self.ok("{ unreadCounts { members smartlists sessions total } }"))["unreadCounts"]
