"""How graphql-core executes Portico's operations."""

from __future__ import annotations

from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from graphql.execution import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema import edge
from schema.errors import variable_error


class PorticoExecution(StrawberryGraphQLCoreExecutionContext):
    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> list[GraphQLError] | Executor:
        problems = edge.input_problems(schema, document, raw_variable_values)
        if problems:
            return problems
        # Coercing variables would otherwise suggest enum values and input fields by name.
        built = super().build(
            schema, document, root_value, context_value, raw_variable_values, *args,
            **{**kwargs, "hide_suggestions": True},
        )  # fmt: skip
        if isinstance(built, list):  # the operation's variables do not fit the schema
            return [variable_error(error) for error in built]
        return built

    def build_per_event_executor(self, payload: object) -> StrawberryGraphQLCoreExecutionContext:
        """graphql-core 3.3 lets every event of a subscription share the subscription's
        sub-field memo, which gains two entries per event and keeps them until the client
        unsubscribes: a live dashboard would grow without bound. Each event gets a memo of its
        own instead."""
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor
