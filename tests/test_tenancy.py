"""Two clubs never see each other's data (docs/architecture.md: tenancy, forged ids)."""

from __future__ import annotations

import httpx

from tests.factories import ClubFixture, graphql

IDS = "query { members(first: 100) { edges { node { id externalId } } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"


async def member_ids(http: httpx.AsyncClient, club: ClubFixture) -> list[str]:
    body = await graphql(http, IDS, token=club.token())
    return [edge["node"]["id"] for edge in body["data"]["members"]["edges"]]


async def test_two_clubs_never_see_each_others_members(
    http: httpx.AsyncClient, club: ClubFixture, other_club: ClubFixture
) -> None:
    mine, theirs = await member_ids(http, club), await member_ids(http, other_club)
    assert len(mine) == len(theirs) == 5
    assert not set(mine) & set(theirs)
    body = await graphql(http, NODES, {"ids": theirs + mine[:1]}, token=club.token())
    assert body["data"]["nodes"] == [None] * len(theirs) + [{"__typename": "Member", "id": mine[0]}]
    body = await graphql(http, "query { members(search: \"dupont\") { totalCount } }", token=club.token())
    assert body["data"]["members"]["totalCount"] == 2


async def test_forged_or_malformed_ids_read_as_null(
    http: httpx.AsyncClient, club: ClubFixture, other_club: ClubFixture
) -> None:
    import base64

    forged = [
        "garbage", "", "TWVtYmVyOmFiYw", base64.urlsafe_b64encode(b"Member:999999999").decode(),
        base64.urlsafe_b64encode(b"Nope:1").decode(),
        base64.urlsafe_b64encode(f"Club:{other_club.club_id}".encode()).decode(),
    ]
    body = await graphql(http, NODES, {"ids": forged}, token=club.token())
    assert body["data"] == {"nodes": [None] * len(forged)}
    for global_id in forged:
        assert (await graphql(http, NODE, {"id": global_id}, token=club.token()))["data"] == {"node": None}


async def test_club_and_staff_nodes_resolve_for_their_own_club(http: httpx.AsyncClient, club: ClubFixture) -> None:
    body = await graphql(http, "query { club { id name } viewer { id } }", token=club.token())
    ids = [body["data"]["club"]["id"], body["data"]["viewer"]["id"]]
    body = await graphql(http, NODES, {"ids": ids}, token=club.token())
    assert [n["__typename"] for n in body["data"]["nodes"]] == ["Club", "Staff"]
