"""The root types and the schema with its limits and error policy."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError, parse, specified_rules
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from auth.errors import BadUserInput
from resolvers.database_outage import SERVICE_UNAVAILABLE_MESSAGE, is_database_unreachable
from schema import edge
from schema.activity import ActivityMutations, ActivityQueries, ActivitySubscription
from schema.api_keys import ApiKeyMutations, ApiKeyQueries
from schema.authentication import AuthenticationMutations, AuthenticationQueries
from schema.comments import CommentMutations
from schema.context import Info
from schema.custom_fields import CustomFieldMutations, CustomFieldQueries
from schema.customers import CustomerMutations, CustomerQueries
from schema.documents import (
    CreditMutations,
    DocumentMutations,
    DocumentQueries,
    PortalDocumentMutations,
    ShipmentMutations,
)
from schema.email_templates import EmailTemplateMutations, EmailTemplateQueries
from schema.errors import is_expected
from schema.execution import PorticoExecution, in_document_order
from schema.files import FileMutations, FileQueries
from schema.forwarding import ForwardingMutations
from schema.introspection import IntrospectionOff
from schema.mfa import MfaEnrollmentGate, MfaMutations, SessionStartAlone
from schema.my_details import MyDetailsMutations
from schema.operation_record import RecordOperation
from schema.organizations import OrganizationMutations, OrganizationQueries
from schema.outgoing_email import OutgoingEmailQueries
from schema.payments import PaymentMutations, PaymentQueries, PortalPaymentMutations
from schema.permissions import Anyone, describe_callers
from schema.persisted_queries import PersistedQueryRules
from schema.portal import PortalQueries
from schema.portal_access import PortalAccessMutations
from schema.preferences import PreferencesMutations, PreferencesQueries
from schema.projects import ProjectMutations, ProjectQueries
from schema.public_links import PublicLinkMutations, PublicLinkQueries
from schema.query_budget import QueryBudget
from schema.relay import ModelNode, resolve_node
from schema.reviews import ReviewMutations, ReviewQueries
from schema.scalars import SCALAR_OVERRIDES
from schema.staff import StaffMutations, StaffQueries
from schema.statements import StatementQueries
from schema.subscriptions import SubscriptionMutations, SubscriptionQueries
from schema.tracing import OperationSpans, TracedExecution
from schema.validation import ValidationWithoutSuggestions, validate_without_suggestions

logger = logging.getLogger("portico.graphql")

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2000
MAX_NODES = 100


@strawberry.type
class NodeQueries:
    @strawberry.field(
        permission_classes=[Anyone],
        description="Any object by its global id; null when not visible to you.",
    )
    async def node(self, info: Info, id: strawberry.ID) -> strawberry.relay.Node | None:
        return await resolve_node(info, id)

    @strawberry.field(
        permission_classes=[Anyone],
        description=f"Several objects by global id, at most {MAX_NODES}.",
    )
    async def nodes(
        self, info: Info, ids: list[strawberry.ID]
    ) -> list[strawberry.relay.Node | None]:
        if len(ids) > MAX_NODES:
            raise BadUserInput(f"Ask for at most {MAX_NODES} ids.")
        return [await resolve_node(info, value) for value in ids]


Query = merge_types(
    "Query",
    (
        AuthenticationQueries,
        NodeQueries,
        OrganizationQueries,
        PortalQueries,
        CustomerQueries,
        CustomFieldQueries,
        StaffQueries,
        ApiKeyQueries,
        OutgoingEmailQueries,
        ActivityQueries,
        PreferencesQueries,
        DocumentQueries,
        PaymentQueries,
        ProjectQueries,
        SubscriptionQueries,
        PublicLinkQueries,
        StatementQueries,
        ReviewQueries,
        EmailTemplateQueries,
        FileQueries,
    ),
)

Mutation = merge_types(
    "Mutation",
    (
        AuthenticationMutations,
        OrganizationMutations,
        CustomerMutations,
        CustomFieldMutations,
        MyDetailsMutations,
        StaffMutations,
        ApiKeyMutations,
        ActivityMutations,
        PreferencesMutations,
        PortalAccessMutations,
        DocumentMutations,
        PortalDocumentMutations,
        ForwardingMutations,
        CommentMutations,
        CreditMutations,
        PaymentMutations,
        PortalPaymentMutations,
        ShipmentMutations,
        MfaMutations,
        ProjectMutations,
        SubscriptionMutations,
        PublicLinkMutations,
        ReviewMutations,
        EmailTemplateMutations,
        FileMutations,
    ),
)

Subscription = merge_types("Subscription", (ActivitySubscription,))
describe_callers(Query, Mutation, Subscription)


class ParserCacheReportingSyntaxErrors(ParserCache):
    """Strawberry's parser cache raises a syntax error where its caller cannot catch it, so a
    subscription over a websocket ended with a bare `complete`. A document that does not parse
    is left to Strawberry's own parse, which reports the error like any other."""

    def on_parse(self) -> Iterator[None]:
        with contextlib.suppress(GraphQLError):
            context = self.execution_context
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


class MaskUnexpectedErrors(SchemaExtension):
    """Expected errors keep their code; a database out of reach is SERVICE_UNAVAILABLE (over
    HTTP the whole request gets a 503: server.unavailable); anything else becomes
    INTERNAL_SERVER_ERROR."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and getattr(result, "errors", None):
            result.errors = in_document_order([_public(error) for error in result.errors])


def _public(error: GraphQLError) -> GraphQLError:
    if is_expected(error):
        return error
    if is_database_unreachable(error.original_error):
        return GraphQLError(
            SERVICE_UNAVAILABLE_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            original_error=error.original_error,
            extensions={"code": "SERVICE_UNAVAILABLE"},
        )
    return GraphQLError(
        "Unexpected error.",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR"},
    )


class PorticoSchema(strawberry.Schema):
    async def execute(
        self,
        query: str | None,
        *args: Any,
        allowed_operation_types: Iterable[OperationType] | None = None,
        **kwargs: Any,
    ) -> ExecutionResult:
        # Subscriptions stream over websockets; executed once, as a POST would, they return
        # no event, only a null where one was due.
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        allowed.discard(OperationType.SUBSCRIPTION)
        return await super().execute(query, *args, allowed_operation_types=allowed, **kwargs)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if is_expected(error):
                _give_code(error, execution_context)
            elif is_database_unreachable(error.original_error):
                continue  # an outage, not a fault: logged once per request by server.unavailable
            else:
                original = error.original_error
                logger.error(
                    "Unexpected error in %s",
                    error.path,
                    exc_info=(type(original), original, original.__traceback__)
                    if original
                    else None,
                )


def _give_code(error: GraphQLError, execution_context: ExecutionContext | None) -> None:
    if (error.extensions or {}).get("code"):
        return
    parsed = execution_context is not None and execution_context.graphql_document is not None
    code = "GRAPHQL_VALIDATION_FAILED" if parsed else "GRAPHQL_PARSE_FAILED"
    error.extensions = {**(error.extensions or {}), "code": code}


# Built once: the validation cache is keyed by the rule classes, which each limiter creates anew.
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
    SessionStartAlone,
]


def document_errors(schema: strawberry.Schema, text: str) -> list[GraphQLError]:
    """What keeps a document from running on the schema, whoever sends it: its syntax, the
    token limit, validation and the depth and alias limits. Empty when nothing does."""
    try:
        document = parse(text, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        return [error]
    return validate_without_suggestions(schema._schema, document, (*specified_rules, *LIMIT_RULES))


@functools.cache
def build_schema(*, introspection: bool = True, traced: bool = False) -> strawberry.Schema:
    """One schema per process and introspection setting. It holds nothing of a worker's own (the
    persisted queries travel in the Context), and building it takes about 70 ms and tens of
    thousands of objects, which the caches keyed by schema (validation, plans) would keep alive
    once per app where a process creates several (the tests, the benchmarks). A `traced` schema
    spans its operations and root fields (schema.tracing); the other has no trace of that."""
    rules = LIMIT_RULES if introspection else [*LIMIT_RULES, IntrospectionOff]
    return PorticoSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=list(ModelNode.registry.values()),
        config=StrawberryConfig(relay_max_results=100),
        execution_context_class=TracedExecution if traced else PorticoExecution,
        scalar_overrides=SCALAR_OVERRIDES,
        extensions=[
            # First, so that its span ends last and sees the errors as clients do.
            *([OperationSpans] if traced else []),
            lambda: ParserCacheReportingSyntaxErrors(maxsize=512),
            RecordOperation,
            ValidationWithoutSuggestions,
            # After validation: its refusal of an unregistered document replaces validation's.
            PersistedQueryRules,
            lambda: AddValidationRules(rules),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            edge.OneOperation,
            # After OneOperation: an operation that cannot run is not charged.
            QueryBudget,
            MfaEnrollmentGate,
            MaskUnexpectedErrors,
        ],
    )
