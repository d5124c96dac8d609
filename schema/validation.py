"""Validation of every operation: without suggestions, and cached.

graphql-core answers a misspelled name with "Did you mean ...?" and the schema's nearest names
(fields, arguments, input fields, enum values, types): a way to read the schema bit by bit with
introspection off. Strawberry's `disable_field_suggestions` removes them from field errors
only; graphql-core's `hide_suggestions` leaves them out of every message it builds."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from schema.document_cache import per_document

# What strawberry's own validation adds to the rules of the operation, which it would run
# with suggestions.
STRAWBERRY_RULES = (MaybeNullValidationRule, OneOfInputValidationRule)

CACHED_DOCUMENTS = 512


@per_document(maxsize=CACHED_DOCUMENTS)
def validate_without_suggestions(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """Keyed by the schema (one per introspection setting) and the rules as well as the
    document, so a document valid for one app is never taken as valid by an app with other
    rules."""
    return validate(schema, document, (*rules, *STRAWBERRY_RULES), hide_suggestions=True)


class ValidationWithoutSuggestions(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        context.pre_execution_errors = validate_without_suggestions(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield
