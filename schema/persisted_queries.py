"""Which documents sent with their hash (Apollo's APQ) are kept: once they parsed and
validated, those an authenticated principal sent with no string value written in them. Values
belong in variables, and a password written into a document must not end up in the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import DocumentNode, StringValueNode, Visitor, visit
from graphql.language.visitor import BREAK
from strawberry.extensions import SchemaExtension

from auth.principals import Anonymous
from resolvers.persisted_queries import APQ_EXTENSION, PersistedQueries, sha256_of
from schema.context import Context


class PersistedQueryRules(SchemaExtension):
    def __init__(self, *, persisted_queries: PersistedQueries) -> None:
        self.persisted_queries = persisted_queries

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        query = self.execution_context.query
        if isinstance(context, Context) and query and self._to_keep(context, sha256_of(query)):
            await self.persisted_queries.keep(sha256_of(query), query)
        yield

    def _to_keep(self, context: Context, sha256: str) -> bool:
        document = self.execution_context.graphql_document
        return (
            APQ_EXTENSION in (self.execution_context.operation_extensions or {})
            and not isinstance(context.principal, Anonymous)
            and not self.persisted_queries.knows(sha256)
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
