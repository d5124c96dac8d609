"""How graphql-core executes Portico's operations: input checked at the edge first, and
registered queries on the planned path (`schema.planned`)."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Undefined,
)
from graphql.execution import Executor
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.language import BREAK, Visitor, visit
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema import edge
from schema.document_cache import per_document
from schema.edge import PLANS_KEPT
from schema.errors import variable_error
from schema.money import use_viewer_locale
from schema.planned import PlannedFields, Replan, completion_of, discard, gather_cancelling


class PorticoExecution(PlannedFields, StrawberryGraphQLCoreExecutionContext):
    planned = False
    _shared: SharedPlans | None = None

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
        # Here rather than in a schema extension's hook, which every operation would pay for.
        use_viewer_locale(context_value)
        # Coercing variables would otherwise suggest enum values and input fields by name.
        built = super().build(
            schema, document, root_value, context_value, raw_variable_values, *args,
            **{**kwargs, "hide_suggestions": True},
        )  # fmt: skip
        if isinstance(built, list):  # the operation's variables do not fit the schema
            return [variable_error(error) for error in built]
        if built.operation.operation == OperationType.QUERY and getattr(
            context_value, "registered_document", False
        ):
            built.planned = True
            built._shared = shared_plans(document, built.operation)
            if built._shared is not None and built._shared.is_full():
                built._shared = None
            if built._shared is None:
                built._planned_steps, built._item_plans = {}, {}
            else:
                built._planned_steps = built._shared.planned_steps
                built._item_plans = built._shared.item_plans
                built._relevant_sub_fields = built._shared.sub_fields
            built._generic = lambda: super(PorticoExecution, cls).build(  # type: ignore[misc]
                schema, document, root_value, context_value, raw_variable_values, *args,
                **{**kwargs, "hide_suggestions": True},
            )  # fmt: skip
        return built

    def execute_root_grouped_field_set(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
        serially: bool,
        position_context: Any,
    ) -> Any:
        if self.planned and self._shared is not None:
            # The first execution's fields, whose identities the shared plans are keyed by.
            if self._shared.root is None:
                self._shared.root = grouped_field_set
            grouped_field_set = self._shared.root
        return super().execute_root_grouped_field_set(
            root_type, root_value, grouped_field_set, serially, position_context
        )

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        if path is None:
            return self._execute_root_fields(
                parent_type, source_value, grouped_field_set, position_context
            )
        if self.planned:
            return self.execute_planned_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def _execute_root_fields(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        """Every root field of a query runs to its end, also when another one fails: graphql-core
        would cancel the others, and which of their errors made it into the answer would depend
        on timing. So an answer has the same errors however its fields interleave (and on both
        execution paths); `in_document_order` sorts them."""
        results: dict[str, Any] = {}
        pending: list[str] = []
        failed: Exception | None = None
        for key, field_details_list in grouped_field_set.items():
            try:
                result = self.execute_field(
                    root_type,
                    root_value,
                    field_details_list,
                    Path(None, key, root_type.name),
                    position_context,
                )
            except Exception as error:  # recorded by graphql-core; data becomes null
                failed = failed or error
                continue
            except BaseException:
                discard([results[key] for key in pending])
                raise
            if result is Undefined:
                continue
            results[key] = result
            if self.is_awaitable(result):
                pending.append(key)
        if not pending:
            if failed is not None:
                raise failed
            return results
        return _settled(results, pending, failed)

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        # What a resolver returned (a page's nodes, a document's lines) completes on the
        # planned path too.
        completion = completion_of(return_type) if self.planned else None
        if completion is None:
            return super().complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
        return self.complete_planned(completion, result, field_details_list, path)

    def execute_operation(self, serially: bool | None = None) -> Any:
        if not self.planned:
            return super().execute_operation(serially)
        try:
            result = super().execute_operation(serially)
        except Replan:
            return self._generic().execute_operation(serially)
        if self.is_awaitable(result):
            return self._replanned_if_needed(result, serially)
        return result

    async def _replanned_if_needed(self, result: Awaitable[Any], serially: bool | None) -> Any:
        try:
            return await result
        except Replan:
            generic = self._generic().execute_operation(serially)
            return await generic if self.is_awaitable(generic) else generic

    def build_per_event_executor(self, payload: object) -> StrawberryGraphQLCoreExecutionContext:
        """graphql-core 3.3 lets every event of a subscription share the subscription's
        sub-field memo, which gains two entries per event and keeps them until the client
        unsubscribes: a live dashboard would grow without bound. Each event gets a memo of its
        own instead."""
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor


MAX_SHARED_SELECTIONS = 20_000


@dataclass
class SharedPlans:
    """What every planned execution of one operation of a document shares: the fields it
    collects below each field, and the plans of each selection and of a list's items. graphql-
    core works them out anew for each execution, keyed by the identity of what the root's
    collection gives, so the first execution's root fields serve all of them."""

    root: GroupedFieldSet | None = None
    sub_fields: dict[Any, Any] = field(default_factory=dict)
    planned_steps: dict[int, Any] = field(default_factory=dict)
    item_plans: dict[Any, Any] = field(default_factory=dict)

    def is_full(self) -> bool:
        """An operation has a selection per field of its document; far more would mean that
        something is collected anew per execution, and sharing would only keep it alive."""
        return len(self.planned_steps) + len(self.sub_fields) > MAX_SHARED_SELECTIONS


@per_document(maxsize=PLANS_KEPT)
def shared_plans(document: DocumentNode, operation: OperationDefinitionNode) -> SharedPlans | None:
    """None where what is collected depends on the variables: a document with a directive
    (@skip, @include) anywhere."""
    return None if _has_directives(document) else SharedPlans()


def _has_directives(document: DocumentNode) -> bool:
    class Finder(Visitor):
        found = False

        def enter_directive(self, *_: Any) -> str:
            self.found = True
            return BREAK

    finder = Finder()
    visit(document, finder)
    return finder.found


async def _settled(results: dict[str, Any], pending: list[str], failed: Exception | None) -> Any:
    # A Replan still cancels the others at once: graphql-core reruns the whole operation.
    outcomes = await gather_cancelling(*(_caught(results[key]) for key in pending))
    for key, outcome in zip(pending, outcomes, strict=True):
        if isinstance(outcome, _Failed):
            failed = failed or outcome.error
        else:
            results[key] = outcome
    if failed is not None:
        raise failed
    return results


@dataclass(frozen=True, slots=True)
class _Failed:
    error: Exception


async def _caught(awaitable: Awaitable[Any]) -> Any:
    try:
        return await awaitable
    except Exception as error:
        return _Failed(error)


def in_document_order(errors: list[GraphQLError]) -> list[GraphQLError]:
    """Errors sorted by where they arose in the document, then by path: the same order for
    the same answer, however its fields interleaved."""
    return sorted(errors, key=_position)


def _position(error: GraphQLError) -> tuple[Any, ...]:
    location = (error.locations or [None])[0]
    place = (location.line, location.column) if location is not None else (0, 0)
    path = tuple(
        (0, part, "") if isinstance(part, int) else (1, 0, part) for part in error.path or ()
    )
    return (*place, path)
