"""What a query selects below a field, read from the document itself: resolvers that fetch a
page load what the page's fields will read in the same few statements (e.g. documents' line
items) instead of one await per row."""

from __future__ import annotations

import functools
from collections.abc import Iterator

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, SelectionSetNode

from schema.context import Info


def selects(info: Info, name: str) -> bool:
    """Whether a field called `name` is selected anywhere below the current field."""
    raw = info._raw_info
    return any(name in _names_below(_Field(node, raw.fragments)) for node in raw.field_nodes)


def names_selected(info: Info) -> frozenset[str]:
    """The names of the fields selected right below the current field, also through
    fragments."""
    raw = info._raw_info
    return frozenset().union(*(_names_at(_Field(node, raw.fragments)) for node in raw.field_nodes))


def names_selected_in(info: Info, name: str) -> frozenset[str]:
    """The names of the fields selected right below every field called `name` below the
    current field, also through fragments."""
    raw = info._raw_info
    return frozenset().union(
        *(_names_in(_Field(node, raw.fragments), name) for node in raw.field_nodes)
    )


class _Field:
    """A field node with its document's fragments, equal to another by the node alone: the
    parser cache hands out the same nodes again for the same query, and a document's
    fragments do not change."""

    __slots__ = ("fragments", "node")

    def __init__(self, node: FieldNode, fragments: _Fragments) -> None:
        self.node, self.fragments = node, fragments

    def __hash__(self) -> int:
        return id(self.node)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Field) and other.node is self.node


@functools.lru_cache(maxsize=2048)
def _names_below(field: _Field) -> frozenset[str]:
    return frozenset(node.name.value for node in _fields_below(field, deep=True))


@functools.lru_cache(maxsize=2048)
def _names_at(field: _Field) -> frozenset[str]:
    return frozenset(node.name.value for node in _fields_below(field, deep=False))


@functools.lru_cache(maxsize=2048)
def _names_in(field: _Field, name: str) -> frozenset[str]:
    found = [node for node in _fields_below(field, deep=True) if node.name.value == name]
    return frozenset().union(*(_names_at(_Field(node, field.fragments)) for node in found))


def _fields_below(field: _Field, *, deep: bool) -> Iterator[FieldNode]:
    return _fields(field.node.selection_set, field.fragments, set(), deep=deep)


def _fields(
    selection_set: SelectionSetNode | None, fragments: _Fragments, seen: set[str], *, deep: bool
) -> Iterator[FieldNode]:
    """The fields selected, also through fragments (each fragment once); with `deep`, those
    selected below them too."""
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
            if deep:
                yield from _fields(selection.selection_set, fragments, seen, deep=True)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and selection.name.value not in seen:
                seen.add(selection.name.value)
                yield from _fields(fragment.selection_set, fragments, seen, deep=deep)
        else:  # an inline fragment
            yield from _fields(selection.selection_set, fragments, seen, deep=deep)


_Fragments = dict[str, FragmentDefinitionNode]
