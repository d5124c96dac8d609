"""Notes the operation a request sent (its name, type and whether its document is registered)
in the request's record, for the request log and the metrics (resolvers.request_record)."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from resolvers import request_record
from schema.context import Context


class RecordOperation(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            # Also when the operation ends by raising.
            self._note()

    def _note(self) -> None:
        if request_record.current() is None:
            return
        execution = self.execution_context
        # Noted whether it ran or was refused (validation, a rule of the whole operation): the
        # errors noted by the endpoint say which.
        try:
            kind = execution.operation_type
        except Exception:  # no document, or no operation of the name asked for
            return
        context = execution.context
        registered = isinstance(context, Context) and context.registered_document
        request_record.note_operation(execution.operation_name, kind.value, registered=registered)
