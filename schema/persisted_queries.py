"""Which documents may run, which are kept for automatic persisted queries, and whether the
running one is registered.

- Where `PORTICO_TRUSTED_DOCUMENTS=contacts`, portal contacts run documents of the trusted
  registry only; staff, partner keys and anonymous clients (logging in, signing up, resetting a
  password, opening a public link) run any document within the limits. The principal is known
  here (the endpoint authenticated before running anything), and nothing of the document has
  run yet.
- A document sent with its hash (Apollo's APQ) is kept, once it parsed and validated, when an
  authenticated principal sent it and no string value is written in it: values belong in
  variables, and a password written into a document must not end up in the database.
- `Context.registered_document` tells the executor whether the document is in the registry.

A registered document is one whose text hashes to a registered SHA-256, whether it came by
hash or as text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from graphql import DocumentNode, StringValueNode, Visitor, visit
from graphql.language.visitor import BREAK
from strawberry.extensions import SchemaExtension

from auth.errors import CodedError
from auth.principals import Anonymous, ContactPrincipal
from resolvers.persisted_queries import APQ_EXTENSION, sha256_of
from schema.context import Context


class DocumentNotRegistered(CodedError):
    code = "DOCUMENT_NOT_REGISTERED"
    default_message = (
        "Portal contacts may run registered documents only, and this one is not registered."
    )


class PersistedQueryRules(SchemaExtension):
    def __init__(self) -> None:
        self.sha256: str | None = None
        self.registered = False

    async def on_operation(self) -> AsyncIterator[None]:
        query = self.execution_context.query
        context = self.execution_context.context
        # Without a query Strawberry refuses the request. Without Portico's Context (a schema
        # executed directly) there is no worker's registry: nothing runs as registered.
        if query and isinstance(context, Context):
            self.sha256 = sha256_of(query)
            self.registered = await context.persisted_queries.is_registered(
                self.sha256, ask_database=self._registered_only()
            )
        yield

    def on_validate(self) -> Iterator[None]:
        # Listed after the validation extension, so this refusal replaces validation's errors:
        # whoever sends an unregistered document learns nothing about the schema from them.
        if self._registered_only() and not self.registered:
            self.execution_context.pre_execution_errors = [DocumentNotRegistered()]
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context):
            if self._to_keep(context):
                assert self.sha256 is not None and self.execution_context.query is not None
                await context.persisted_queries.keep(self.sha256, self.execution_context.query)
            # Set last, right before the executor starts: a websocket's operations share the
            # connection's context.
            context.registered_document = self.registered
        yield

    def _registered_only(self) -> bool:
        context = self.execution_context.context
        return (
            isinstance(context, Context)
            and context.settings.contacts_run_registered_documents_only
            and isinstance(context.principal, ContactPrincipal)
        )

    def _to_keep(self, context: Context) -> bool:
        document = self.execution_context.graphql_document
        return (
            APQ_EXTENSION in (self.execution_context.operation_extensions or {})
            and not isinstance(context.principal, Anonymous)
            and self.sha256 is not None
            and not self.registered
            and not context.persisted_queries.knows(self.sha256)
            and document is not None
            and not _writes_a_string(document)
        )


def _writes_a_string(document: DocumentNode) -> bool:
    finder = _StringFinder()
    visit(document, finder)
    return finder.found


class _StringFinder(Visitor):
    found = False

    def enter_string_value(self, node: StringValueNode, *_: object) -> object:
        self.found = True
        return BREAK
