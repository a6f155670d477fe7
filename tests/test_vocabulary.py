"""One vocabulary: the API's enums spell exactly the domain's words (inbox/vocabulary.py)."""

from __future__ import annotations

from enum import Enum

import pytest

from inbox import vocabulary
from inbox.smartlists import FIELDS, OPERATORS
from schema import enums


@pytest.mark.parametrize(("api", "domain"), [
    (enums.ThreadCategory, vocabulary.Category), (enums.Channel, vocabulary.Channel),
    (enums.MessageDirection, vocabulary.Direction), (enums.DeliveryStatus, vocabulary.DeliveryStatus),
    (enums.ThreadUpdateReason, vocabulary.UpdateReason), (enums.SmartlistFilterField, vocabulary.FilterField),
    (enums.FilterOperator, vocabulary.FilterOperator),
])
def test_each_api_enum_has_the_domain_values(api: type[Enum], domain: type[Enum]) -> None:
    assert [member.value for member in api] == [member.value for member in domain]


def test_the_filter_rules_use_the_same_fields_and_operators() -> None:
    assert list(FIELDS) == list(vocabulary.FilterField) and list(OPERATORS) == list(vocabulary.FilterOperator)


def test_every_category_names_its_target() -> None:
    assert set(vocabulary.TARGETS) == set(vocabulary.Category)
    assert {vocabulary.CATEGORY_OF_TYPE[t.type_name] for t in vocabulary.TARGETS.values()} == set(vocabulary.Category)
