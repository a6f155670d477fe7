"""The member picker and member details through GraphQL (docs/rules.md: search, the details panel)."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import ClubFixture, graphql

MEMBERS = """
query($search: String, $first: Int, $after: String) {
  members(search: $search, first: $first, after: $after) {
    totalCount
    edges { cursor node { id externalId fullName } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def search(http: httpx.AsyncClient, club: ClubFixture, text: str | None) -> list[str]:
    body = await graphql(http, MEMBERS, {"search": text, "first": 100}, token=club.token())
    assert "errors" not in body, body
    return [edge["node"]["externalId"] for edge in body["data"]["members"]["edges"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("helo", ["m1"]),
        ("HÉLOÏSE", ["m1"]),
        ("dupont hél", ["m1"]),
        ("hél dupont", ["m1"]),
        ("Héloïse Dupont", ["m1"]),
        ("Dupont Héloïse", ["m1"]),
        ("dupont", ["m1", "m5"]),
        ("muller", ["m2"]),
        ("jean-françois", ["m2"]),
        ("jf.muller@example", ["m2"]),
        ("lukasz", ["m4"]),
        ("o'brien", ["m3"]),
        ("zoe", ["m3"]),
        ("nobody-is-called-this", []),
    ],
)
async def test_search_is_case_and_accent_insensitive_with_names_in_either_order(
    http: httpx.AsyncClient, club: ClubFixture, text: str, expected: list[str]
) -> None:
    assert await search(http, club, text) == expected


@pytest.mark.parametrize("text", ["06 12 34", "0612345678", "+33612345678", "+33 6 12 34 56 78", "06.12.34.56",
                                  "(0)6-12-34", "345678"])
async def test_search_by_phone_ignores_formatting_in_national_or_international_form(
    http: httpx.AsyncClient, club: ClubFixture, text: str
) -> None:
    assert await search(http, club, text) == ["m1"]


async def test_search_by_phone_uses_the_numbers_own_country_for_national_form(
    http: httpx.AsyncClient, club: ClubFixture
) -> None:
    # m3's number is British (+44 7700 900123) in a French club: its national form is 07700 900123.
    assert await search(http, club, "07700 900123") == ["m3"]
    assert await search(http, club, "447700900123") == ["m3"]


async def test_search_words_must_all_match(http: httpx.AsyncClient, club: ClubFixture) -> None:
    assert await search(http, club, "dupont 06 12") == ["m1"]
    assert await search(http, club, "dupont zoë") == []


async def test_empty_search_is_no_filter_and_orders_by_last_name_first_name_id(
    http: httpx.AsyncClient, club: ClubFixture
) -> None:
    # Dupont, Martin, Müller (folded: muller), Nowak, O'Brien
    expected = ["m1", "m5", "m2", "m4", "m3"]
    assert await search(http, club, None) == expected
    assert await search(http, club, "   ") == expected


async def test_keyset_pages_cover_every_member_once_and_total_count_ignores_the_cursor(
    http: httpx.AsyncClient, club: ClubFixture
) -> None:
    seen: list[str] = []
    after = None
    while True:
        body = await graphql(http, MEMBERS, {"first": 2, "after": after}, token=club.token())
        connection = body["data"]["members"]
        assert connection["totalCount"] == 5
        seen += [edge["node"]["externalId"] for edge in connection["edges"]]
        assert connection["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == ["m1", "m5", "m2", "m4", "m3"]


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_page_size_outside_1_to_100_is_bad_user_input(
    http: httpx.AsyncClient, club: ClubFixture, first: int
) -> None:
    body = await graphql(http, MEMBERS, {"first": first}, token=club.token())
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_cursor_of_another_list_or_a_malformed_one_is_bad_user_input(
    http: httpx.AsyncClient, club: ClubFixture
) -> None:
    body = await graphql(http, MEMBERS, {"first": 1, "search": "dupont"}, token=club.token())
    cursor = body["data"]["members"]["pageInfo"]["endCursor"]
    for variables in ({"first": 1, "after": cursor}, {"first": 1, "after": "not-a-cursor"}):
        body = await graphql(http, MEMBERS, variables, token=club.token())
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


MEMBER_DETAILS = """
query($id: ID!) {
  node(id: $id) {
    __typename
    ... on Member {
      id memberNumber firstName lastName fullName email phone acceptsEmail acceptsSms
      registeredAt birthDate barcode barcodeSvg photoUrl
      address { street postalCode city country }
      emergencyContact { name phone relationship }
      tags accountBalance { amount currency } unpaidInvoicesCount documentsCount notesCount
      profileUrl externalId
    }
  }
}
"""


async def test_member_details_carry_every_field_of_the_details_panel(
    http: httpx.AsyncClient, club: ClubFixture
) -> None:
    body = await graphql(http, MEMBERS, {"search": "héloïse"}, token=club.token())
    member_id = body["data"]["members"]["edges"][0]["node"]["id"]
    body = await graphql(http, MEMBER_DETAILS, {"id": member_id}, token=club.token())
    member = body["data"]["node"]
    svg = member.pop("barcodeSvg")
    assert "<svg" in svg
    assert member == {
        "__typename": "Member", "id": member_id, "memberNumber": "A-1001", "firstName": "Héloïse",
        "lastName": "Dupont", "fullName": "Héloïse Dupont", "email": "heloise@example.com",
        "phone": "+33612345678", "acceptsEmail": True, "acceptsSms": True, "registeredAt": "2024-03-01",
        "birthDate": "1990-04-12", "barcode": "2000000010013", "photoUrl": None,
        "address": {"street": "1 rue de la Paix", "postalCode": "75002", "city": "Paris", "country": "FR"},
        "emergencyContact": {"name": "Paul Dupont", "phone": "+33600000002", "relationship": "brother"},
        "tags": ["premium"], "accountBalance": {"amount": "-12.50", "currency": "EUR"},
        "unpaidInvoicesCount": 1, "documentsCount": 2, "notesCount": 0,
        "profileUrl": f"https://backoffice.example/{club.slug}/members/m1", "externalId": "m1",
    }


async def test_optional_member_details_read_as_null_or_defaults(http: httpx.AsyncClient, club: ClubFixture) -> None:
    body = await graphql(http, MEMBERS, {"search": "zoe"}, token=club.token())
    member_id = body["data"]["members"]["edges"][0]["node"]["id"]
    member = (await graphql(http, MEMBER_DETAILS, {"id": member_id}, token=club.token()))["data"]["node"]
    assert member["email"] is None and member["address"] is None and member["emergencyContact"] is None
    assert member["barcodeSvg"] is None and member["birthDate"] is None
    assert member["acceptsSms"] is False and member["tags"] == []
    assert member["accountBalance"] == {"amount": "0.00", "currency": "EUR"}
