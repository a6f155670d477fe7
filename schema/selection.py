"""Look-ahead: what the client selected under the field being resolved, so a list's one statement can
load exactly that (a count, for instance) instead of a second round trip later."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionNode,
    is_object_type,
)

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
    return _reached(info, names) is not None


def _reached(info: Info, names: tuple[str, ...]) -> list[tuple[SelectionNode, ...]] | None:
    """The selections of the fields at the end of `names` (through fragments), or None when the
    resolving field's selection does not reach them."""
    raw = info._raw_info
    level = [node.selection_set.selections for node in raw.field_nodes if node.selection_set is not None]
    for name in names:
        found = [field for selections in level for field in _fields(selections, name, raw.fragments)]
        if not found:
            return None
        level = [field.selection_set.selections for field in found if field.selection_set is not None]
    return level


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


_MAX_REMEMBERED = 2048
# (the resolving field's nodes, path, type) -> (the nodes, kept so their ids stay theirs; the answer)
_selected: dict[tuple[tuple[int, ...], tuple[str, ...], str], tuple[object, frozenset[str]]] = {}


def selected_fields(info: Info, *path: str, on: str) -> frozenset[str]:
    """The names of the fields selected at the end of `path` for objects of type `on` (through
    fragments; one on another object type does not count); none when the path is not selected.
    Remembered per document: a repeated operation's field nodes are the same objects."""
    raw = info._raw_info
    key = (tuple(id(node) for node in raw.field_nodes), path, on)
    known = _selected.get(key)
    if known is not None and known[0] == tuple(raw.field_nodes):
        return known[1]
    names: set[str] = set()
    for selections in _reached(info, path) or []:
        _names_on(selections, on, raw.fragments, raw.schema, names)
    answer = frozenset(names)
    if len(_selected) >= _MAX_REMEMBERED:
        _selected.clear()
    _selected[key] = (tuple(raw.field_nodes), answer)
    return answer


def _names_on(selections: Iterable[SelectionNode], on: str, fragments: Mapping[str, FragmentDefinitionNode],
              schema: GraphQLSchema, names: set[str]) -> None:
    for selection in selections:
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
            continue
        if isinstance(selection, InlineFragmentNode):
            condition, selection_set = selection.type_condition, selection.selection_set
        else:
            fragment = fragments.get(selection.name.value) if isinstance(selection, FragmentSpreadNode) else None
            if fragment is None:
                continue
            condition, selection_set = fragment.type_condition, fragment.selection_set
        named = None if condition is None else condition.name.value
        if named is not None and named != on and is_object_type(schema.get_type(named)):
            continue  # another object type's fields
        _names_on(selection_set.selections, on, fragments, schema, names)
