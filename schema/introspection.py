"""Introspection, which production turns off: clients get the schema as SDL instead
(`schema.graphql`, `portico export-schema`), not from the server they talk to."""

from __future__ import annotations

from graphql import (
    SKIP,
    FieldNode,
    GraphQLError,
    ValidationRule,
    get_named_type,
    is_introspection_type,
)


class IntrospectionOff(ValidationRule):
    """Refuses `__schema` and `__type`, whoever asks and however deep in fragments; `__typename`
    is not introspection (it reads no other part of the schema) and keeps working."""

    def enter_field(self, node: FieldNode, *_: object) -> object:
        returned = get_named_type(self.context.get_type())
        if returned is None or not is_introspection_type(returned):
            return None
        self.report_error(
            GraphQLError(f"Introspection is off on this server: '{node.name.value}'.", node)
        )
        return SKIP  # one error for the field the client wrote, none for what it selects
