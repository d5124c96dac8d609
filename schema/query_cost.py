"""What an operation costs, worked out from the document and its variables before it runs.

The model of the best-known public GraphQL APIs (GitHub's, Shopify's):

- a field that returns an object (or a list of objects, an interface, a union) costs 1 plus what
  is selected inside it; a scalar or enum field costs nothing;
- inside a connection (a field with a `first` argument) its lists, `edges` and `nodes`, are read
  once per row: their cost is multiplied by `first` (DEFAULT_PAGE_SIZE when not given, at most
  MAX_PAGE_SIZE, the largest page anyone gets); `pageInfo` and `totalCount` are read once;
- a list asked for by `ids` (`nodes(ids:)`) is multiplied by the number of ids;
- multipliers nest: `first: 10` inside `first: 50` reads up to 500 rows;
- fragments and inline fragments count where they are spread; every type condition of an
  abstract field counts, as if the rows were all of each type.

The analysis of a document is kept per document (schema.document_cache); each request only
puts its variables into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    GraphQLType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    VariableNode,
    get_named_type,
    is_leaf_type,
)

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from schema.document_cache import per_document

COSTS_KEPT = 512


@dataclass(frozen=True)
class _Count:
    """How many times a list is read: an argument's value, or its length for `ids`."""

    literal: int | None
    variable: str | None
    default: int
    length: bool  # the number of items of a list argument, not an integer's value

    def value(self, variables: dict[str, Any]) -> int:
        if self.variable is None:
            raw: Any = self.literal
        else:
            raw = variables.get(self.variable)
            if self.length:
                raw = len(raw) if isinstance(raw, list) else None
        # A value of the wrong type is refused by coercion later; it costs what no value does.
        if not isinstance(raw, int) or isinstance(raw, bool):
            return self.default
        return max(0, min(raw, MAX_PAGE_SIZE))


@dataclass(eq=False)
class _Cost:
    """A sum of fixed points and of parts read `count` times (None: once)."""

    points: int
    parts: list[tuple[_Count | None, _Cost]]

    def value(self, variables: dict[str, Any], seen: dict[int, int]) -> int:
        # Shared by every spread of one fragment, so each is worked out once per request.
        known = seen.get(id(self))
        if known is not None:
            return known
        total = self.points
        for count, part in self.parts:
            times = 1 if count is None else count.value(variables)
            total += times * part.value(variables, seen)
        seen[id(self)] = total
        return total


@dataclass
class _Operations:
    # None for a subscription.
    by_name: dict[str | None, _Cost | None]


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> int | None:
    """The cost of the query or mutation that will run; None for a subscription (it runs
    once per event, not once) and when no operation can run (execution says why)."""
    operations = _costs_of(schema, document).by_name
    if operation_name is None and len(operations) == 1:
        cost = next(iter(operations.values()))
    else:
        cost = operations.get(operation_name)
    if cost is None:
        return None
    return cost.value(variables or {}, {})


@per_document(maxsize=COSTS_KEPT)
def _costs_of(schema: GraphQLSchema, document: DocumentNode) -> _Operations:
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    analysis = _Analysis(schema, fragments)
    by_name: dict[str | None, _Cost | None] = {}
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        root = schema.get_root_type(definition.operation)
        analysis.defaults = {
            variable.variable.name.value: variable.default_value
            for variable in definition.variable_definitions or ()
        }
        name = definition.name.value if definition.name else None
        subscription = definition.operation == OperationType.SUBSCRIPTION
        if root is None or subscription:
            by_name[name] = None
        else:
            by_name[name] = analysis.selection(root, definition.selection_set, None)
    return _Operations(by_name)


class _Analysis:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.defaults: dict[str, Any] = {}
        # A fragment's cost is the same wherever it is spread (given the connection it is in),
        # so a document that spreads fragments into fragments stays linear to analyse.
        self.spread: dict[tuple[str, _Count | None], _Cost] = {}

    def selection(
        self, parent: GraphQLType, selection_set: SelectionSetNode, rows: _Count | None
    ) -> _Cost:
        """What a selection costs on `parent`; `rows`: the page size when `parent` is a
        connection, which its lists are multiplied by."""
        cost = _Cost(0, [])
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._field(cost, parent, selection, rows)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                if inner is not None:
                    cost.parts.append((None, self.selection(inner, selection.selection_set, rows)))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragment(selection.name.value, rows)
                if fragment is not None:
                    cost.parts.append((None, fragment))
        return cost

    def _fragment(self, name: str, rows: _Count | None) -> _Cost | None:
        key = (name, rows)
        if key not in self.spread:
            definition = self.fragments.get(name)
            inner = definition and self.schema.get_type(definition.type_condition.name.value)
            if definition is None or inner is None:
                return None
            self.spread[key] = _Cost(0, [])  # validation refuses cycles; this only guards
            self.spread[key] = self.selection(inner, definition.selection_set, rows)
        return self.spread[key]

    def _field(
        self, cost: _Cost, parent: GraphQLType, node: FieldNode, rows: _Count | None
    ) -> None:
        definition = _field_definition(self.schema, parent, node.name.value)
        if definition is None or is_leaf_type(get_named_type(definition.type)):
            return
        page = self._count(node, definition, "first", length=False)
        inner = _Cost(1, [])
        if node.selection_set is not None:
            named = get_named_type(definition.type)
            inner.parts.append((None, self.selection(named, node.selection_set, page)))
        times = rows if rows is not None and _is_list(definition.type) else None
        if times is None and _is_list(definition.type):
            times = self._count(node, definition, "ids", length=True)
        cost.parts.append((times, inner))

    def _count(
        self, node: FieldNode, definition: GraphQLField, argument: str, *, length: bool
    ) -> _Count | None:
        if argument not in definition.args:
            return None
        default = MAX_PAGE_SIZE if length else DEFAULT_PAGE_SIZE
        given = next((a.value for a in node.arguments or () if a.name.value == argument), None)
        if isinstance(given, VariableNode):
            name = given.name.value
            fallback = self.defaults.get(name)
            if fallback is not None:
                default = _Count(_literal(fallback, length), None, default, length).value({})
            return _Count(None, name, default, length)
        return _Count(_literal(given, length), None, default, length)


def _literal(value: Any, length: bool) -> int | None:
    if length and isinstance(value, ListValueNode):
        return len(value.values)
    if not length and isinstance(value, IntValueNode):
        return int(value.value)
    return None


def _field_definition(schema: GraphQLSchema, parent: GraphQLType, name: str) -> GraphQLField | None:
    if name == "__schema" and parent is schema.query_type:
        return SchemaMetaFieldDef
    if name == "__type" and parent is schema.query_type:
        return TypeMetaFieldDef
    # Objects and interfaces have fields; a union has only __typename, which costs nothing.
    fields = getattr(parent, "fields", None) or {}
    return fields.get(name)


def _is_list(field_type: GraphQLType) -> bool:
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)
