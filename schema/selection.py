"""Look-ahead: what the client selected under the field being resolved, so a list's one statement can
load exactly that (a count, for instance) instead of a second round trip later."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode, SelectionNode

from schema.info import Info


def selects(info: Info, name: str) -> bool:
    """Whether the resolving field's selection has `name` directly (through fragments too)."""
    raw = info._raw_info
    return any(
        _has(node.selection_set.selections, name, raw.fragments)
        for node in raw.field_nodes if node.selection_set is not None
    )


def selects_path(info: Info, *names: str) -> bool:
    """Whether the resolving field's selection reaches `names` in turn (e.g. "edges", "node", "author")."""
    raw = info._raw_info
    level = [node.selection_set.selections for node in raw.field_nodes if node.selection_set is not None]
    for name in names:
        found = [field for selections in level for field in _fields(selections, name, raw.fragments)]
        if not found:
            return False
        level = [field.selection_set.selections for field in found if field.selection_set is not None]
    return True


def _fields(selections: Iterable[SelectionNode], name: str,
            fragments: Mapping[str, FragmentDefinitionNode]) -> Iterable[FieldNode]:
    for selection in selections:
        if isinstance(selection, FieldNode):
            if selection.name.value == name:
                yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set.selections, name, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set.selections, name, fragments)


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
