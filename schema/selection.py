"""Look-ahead: what the client selected under the field being resolved, so a list's one statement can
load exactly that (a count, for instance) instead of a second round trip later."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode, SelectionNode
from strawberry.types import Info


def selects(info: Info, name: str) -> bool:
    """Whether the resolving field's selection has `name` directly (through fragments too)."""
    raw = info._raw_info
    return any(
        _has(node.selection_set.selections, name, raw.fragments)
        for node in raw.field_nodes if node.selection_set is not None
    )


def _has(selections: Iterable[SelectionNode], name: str, fragments: Mapping[str, FragmentDefinitionNode]) -> bool:
    for selection in selections:
        if isinstance(selection, FieldNode):
            if selection.name.value == name:
                return True
        elif isinstance(selection, InlineFragmentNode):
            if _has(selection.selection_set.selections, name, fragments):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and _has(fragment.selection_set.selections, name, fragments):
                return True
    return False
