"""Notes the operation a request ran (its name, type and whether its document is registered)
in the request's record, for the request log and the metrics (resolvers.request_record)."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from resolvers import request_record
from schema.context import Context


class RecordOperation(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        if request_record.current() is None:
            return
        execution = self.execution_context
        if execution.pre_execution_errors:
            return  # refused before it ran (parse, validation, a rule of the whole operation)
        try:
            kind = execution.operation_type
        except Exception:  # no document, or no operation of the name asked for: none ran
            return
        context = execution.context
        registered = isinstance(context, Context) and context.registered_document
        request_record.note_operation(execution.operation_name, kind.value, registered=registered)
