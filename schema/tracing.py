"""Spans of GraphQL operations and their root fields; part of the schema only while tracing is on
(build_schema(traced=True)), so that a server without tracing runs none of this.

An operation's span names its type and name, never its document or variables (a login's
password, a reset token). Failed operations are marked with their errors' public codes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from typing import Any

from graphql import GraphQLError, GraphQLObjectType, OperationType
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from opentelemetry import trace
from opentelemetry.trace import Span
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension

from auth.errors import CodedError
from integrations import tracing
from schema.execution import PorticoExecution

SUBSCRIPTION = OperationType.SUBSCRIPTION


class OperationSpans(SchemaExtension):
    """Over HTTP, a span around the whole operation (parse, validation, execution). A websocket
    operation may stream for hours: its span covers its start (execution up to the first
    event's wait), which is where its statements run."""

    def on_operation(self) -> Iterator[None]:
        if tracing.tracer is None or self._over_websocket():
            yield
            return
        with tracing.span("GraphQL operation") as span:
            yield
            self._describe(span)

    def on_execute(self) -> Iterator[None]:
        if tracing.tracer is None or not self._over_websocket():
            yield
            return
        with tracing.span("GraphQL operation") as span:
            yield
            self._describe(span)

    def _over_websocket(self) -> bool:
        return isinstance(getattr(self.execution_context.context, "request", None), WebSocket)

    def _describe(self, span: Span | None) -> None:
        if span is None:
            return
        context = self.execution_context
        kind = _operation_type(context)
        name = context.operation_name
        if name is None and context.graphql_document is not None:
            operation = _operation(context.graphql_document.definitions)
            name = operation.name.value if operation and operation.name else None
        if kind is not None:
            span.set_attribute("graphql.operation.type", kind)
            span.update_name(f"{kind} {name}" if name else kind)
        if name:
            span.set_attribute("graphql.operation.name", name)
        errors = getattr(context.result, "errors", None) or context.pre_execution_errors or ()
        codes = sorted({code_of(error) for error in errors})
        if codes:
            tracing.failed(span, ",".join(codes))


def _operation_type(context: Any) -> str | None:
    try:
        kind = context.operation_type
    except Exception:  # no document, or no operation in it: nothing ran
        return None
    return kind.value if kind is not None else None


def _operation(definitions: Any) -> Any:
    operations = [d for d in definitions if getattr(d, "operation", None) is not None]
    return operations[0] if len(operations) == 1 else None


def code_of(error: GraphQLError) -> str:
    """The code a client reads in `extensions.code`; an uncoded error is masked as internal."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if isinstance(error.original_error, CodedError):
        return error.original_error.code
    return "INTERNAL_SERVER_ERROR" if error.original_error is not None else "GRAPHQL_ERROR"


class TracedExecution(PorticoExecution):
    """PorticoExecution with a span per root field: the resolvers that do the I/O of an
    operation. Fields below the root run inside it (a data loader's batch is spanned on its
    own, resolvers.loaders), so a page of rows adds no span per field."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        tracer = tracing.tracer
        # A subscription's root field runs again for each event: only its start is traced.
        if path.prev is not None or tracer is None or self.operation.operation == SUBSCRIPTION:
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        name = field_details_list[0].node.name.value
        span = tracer.start_span(
            f"{parent_type.name}.{name}",
            attributes={"graphql.field.name": name, "graphql.field.path": str(path.key)},
        )
        try:
            with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                result = super().execute_field(
                    parent_type, source, field_details_list, path, position_context
                )
        except BaseException:
            self._end(span, path.key)
            raise
        if not self.is_awaitable(result):
            self._end(span, path.key)
            return result
        return self._awaited_in(span, result, path.key)

    async def _awaited_in(self, span: Span, result: Awaitable[Any], key: Any) -> Any:
        # The resolver's coroutine does its I/O when awaited: the field's span is current again
        # around the await, so its statements and loads become its children.
        try:
            with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                return await result
        except GraphQLError as error:  # a non-null field's error, on its way to the parent
            tracing.failed(span, code_of(error))
            raise
        finally:
            self._end(span, key)

    def _end(self, span: Span, key: Any) -> None:
        # graphql-core records a field's error instead of raising it: look among those.
        codes = {
            code_of(error)
            for error in self.collected_errors.errors
            if error.path and error.path[0] == key
        }
        if codes:
            tracing.failed(span, ",".join(sorted(codes)))
        span.end()
