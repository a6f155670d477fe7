"""A process's live reads (the hub's rounds: change log, views, messages, counts) run outside a
transaction on PostgreSQL, as pages do: each statement is consistent by itself under READ COMMITTED,
so a transaction around them only added BEGIN and ROLLBACK round trips to every push."""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest

from inbox.changes import publish_changes
from tests.factories import ClubFixture
from tests.statements import CONTROL, wire
from tests.test_subscription_hub import Live, hub_live, member_reply, subscribers

__all__ = ["hub_live"]


async def test_a_push_reads_outside_a_transaction(hub_live: Live, club: ClubFixture, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's transactions are local: no round trip to save")
    thread = await hub_live.staff(club).start("Member", "m1")
    async with AsyncExitStack() as stack:
        opened = await subscribers(stack, hub_live, club, 2, thread["id"])
        change = await member_reply(hub_live, club, "m1", "outside a transaction")
        with wire(hub_live.app) as sent:
            await publish_changes(hub_live.app.state.services.bus, [change])
            for ws, (updates, messages, counts) in opened:
                assert (await ws.next(updates))["data"]["threadUpdated"]["message"] == {"body": "outside a transaction"}
                assert (await ws.next(messages))["data"]["messageAdded"]["body"] == "outside a transaction"
                assert "unreadCountsChanged" in (await ws.next(counts))["data"]
    assert not [query for query in sent if query.upper().startswith(CONTROL)], sent
