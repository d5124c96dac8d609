"""Client input, checked once where it enters, before any resolver sees it.

- Strings and ids carry no NUL character (PostgreSQL cannot store one) and are no longer than
  their place allows: its `@maxLength` where declared, `DEFAULT_MAX_LENGTH` elsewhere. Each
  field's own rule may be stricter and says so as a payload error (TOO_LONG); this bound keeps
  out what no field could take.
- Variables that fail coercion (null for a non-null type, a list for an ID, a date that is no
  date, a decimal out of range) are BAD_USER_INPUT, as the client's mistake they are.
- A document with several operations runs only the one named by `operationName`.

Inline values are checked in the document's plan, which is worked out once per document;
variables are checked against the plan on every request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    Node,
    ObjectFieldNode,
    OperationDefinitionNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    get_named_type,
    value_from_ast_untyped,
    visit,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.schema_directive import Location

from schema.document_cache import per_document

DEFAULT_MAX_LENGTH = 1_000
EMAIL_LENGTH = 254
PORTAL_NAME_LENGTH = 63
SEARCH_LENGTH = 200
# Free text whose own rule (notes, comments, email wording) is longer than the default.
LONG_TEXT_LENGTH = 20_000
BAD_USER_INPUT = "BAD_USER_INPUT"
_STRINGS = frozenset({"String", "ID"})
PLANS_KEPT = 512


@strawberry.schema_directive(
    locations=[Location.ARGUMENT_DEFINITION, Location.INPUT_FIELD_DEFINITION],
    description="The most characters the server takes here at all (strings and ids without "
    f"it: {DEFAULT_MAX_LENGTH:,}): a longer value, or one with a NUL character, is refused "
    "with BAD_USER_INPUT before anything runs. A field's own, stricter rule is a TOO_LONG "
    "payload error.",
)
class MaxLength:
    value: int


def limited(max_length: int, **options: Any) -> Any:
    """An input field that takes at most `max_length` characters."""
    return strawberry.field(directives=[MaxLength(value=max_length)], **options)


def bad_user_input(message: str, nodes: Node | list[Node] | None = None) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": BAD_USER_INPUT})


def input_problems(
    schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None
) -> list[GraphQLError]:
    plan = _plan_of(schema, document)
    values = {**plan.defaults, **(variables or {})}
    problems = list(plan.literal_problems)
    for name, places in plan.variables.items():
        if name in values:
            for place in places:
                problems.extend(_value_problems(values[name], place, f"${name}"))
    return problems


class OneOperation(SchemaExtension):
    """The GraphQL spec's GetOperation: with several operations and no name, none runs
    (Strawberry would otherwise pick the first)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # Strawberry keeps the name the client gave only here; `operation_name` falls back.
        named = context._provided_operation_name is not None
        if document is not None and not named and _operation_count(document) > 1:
            error = bad_user_input("Several operations: say which one with operationName.")
            context.result = GraphQLExecutionResult(data=None, errors=[error])
        yield


def _operation_count(document: DocumentNode) -> int:
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


# -- the plan of a document ------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    """Where a value goes: its input type, and the length its strings may have there."""

    type: GraphQLInputType
    max_length: int


@dataclass
class _Plan:
    literal_problems: list[GraphQLError] = field(default_factory=list)
    variables: dict[str, list[_Place]] = field(default_factory=lambda: defaultdict(list))
    # Each variable's default, which stands in for a value the request leaves out.
    defaults: dict[str, Any] = field(default_factory=dict)


@per_document(maxsize=PLANS_KEPT)
def _plan_of(schema: GraphQLSchema, document: DocumentNode) -> _Plan:
    plan = _Plan()
    type_info = TypeInfo(schema)
    visit(document, TypeInfoVisitor(type_info, _Planner(type_info, plan)))
    return plan


class _Planner(Visitor):
    def __init__(self, type_info: TypeInfo, plan: _Plan) -> None:
        super().__init__()
        self.type_info = type_info
        self.plan = plan
        self.limits: list[int] = []  # of the argument and input fields around the value

    def enter_argument(self, *_: Any) -> None:
        self.limits.append(_max_length(self.type_info.get_argument()))

    def leave_argument(self, *_: Any) -> None:
        self.limits.pop()

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        parent = get_named_type(self.type_info.get_parent_input_type())
        fields = parent.fields if isinstance(parent, GraphQLInputObjectType) else {}
        self.limits.append(_max_length(fields.get(node.name.value)))

    def leave_object_field(self, *_: Any) -> None:
        self.limits.pop()

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        input_type = self.type_info.get_input_type()
        if self.limits and input_type is not None and _is_string(input_type):
            problem = _string_problem(node.value, self.limits[-1], "A value")
            if problem:
                self.plan.literal_problems.append(bad_user_input(problem, node))

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        input_type = self.type_info.get_input_type()
        if self.limits and input_type is not None:
            place = _Place(input_type, self.limits[-1])
            self.plan.variables[node.name.value].append(place)

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> None:
        if node.default_value is not None:
            self.plan.defaults[node.variable.name.value] = value_from_ast_untyped(
                node.default_value
            )


def _max_length(definition: GraphQLArgument | GraphQLInputField | None) -> int:
    strawberry_definition = (definition.extensions or {}).get("strawberry-definition")
    for directive in getattr(strawberry_definition, "directives", None) or ():
        if isinstance(directive, MaxLength):
            return directive.value
    return DEFAULT_MAX_LENGTH


def _is_string(input_type: GraphQLInputType) -> bool:
    named = get_named_type(input_type)
    return isinstance(named, GraphQLScalarType) and named.name in _STRINGS


def _value_problems(value: Any, place: _Place, where: str) -> Iterator[GraphQLError]:
    """Problems of a variable's raw value at its place; a value of the wrong shape is left to
    coercion, which refuses it with a better message."""
    input_type = place.type
    if isinstance(input_type, GraphQLNonNull):
        input_type = input_type.of_type
    if isinstance(input_type, GraphQLList):
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            inner = _Place(input_type.of_type, place.max_length)
            yield from _value_problems(item, inner, f"{where}[{index}]")
    elif isinstance(input_type, GraphQLInputObjectType):
        if isinstance(value, dict):
            for name, input_field in input_type.fields.items():
                if name in value:
                    inner = _Place(input_field.type, _max_length(input_field))
                    yield from _value_problems(value[name], inner, f"{where}.{name}")
    elif isinstance(value, str) and _is_string(input_type):
        problem = _string_problem(value, place.max_length, f"Variable {where}")
        if problem:
            yield bad_user_input(problem)


def _string_problem(value: str, max_length: int, what: str) -> str | None:
    if "\x00" in value:
        return f"{what} contains a NUL character."
    if len(value) > max_length:
        return f"{what} is longer than {max_length:,} characters."
    return None
