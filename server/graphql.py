"""The `/graphql` endpoint: who is asking, and the rules for trusting a cookie."""

from __future__ import annotations

import logging
from typing import Any

from cross_web import HTTPException, StarletteRequestAdapter
from cross_web.request import AsyncHTTPRequestAdapter, FormData
from graphql import GraphQLError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.websocket_origin import is_same_origin
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from auth.api_keys import is_api_key, principal_for_api_key
from auth.principals import Anonymous, ContactPrincipal, Principal, locale_of
from auth.sessions import SessionPolicy, principal_for_session
from integrations import tracing
from integrations.query_budgets import Rate, budgets_from_url
from resolvers import calendars, mfa, request_record, request_rows
from resolvers.database_outage import is_database_unreachable
from resolvers.persisted_queries import PersistedQueries
from schema import delivery
from schema.authentication import SESSION_COOKIE
from schema.context import Context
from schema.root import build_schema
from server import media_types, persisted_queries
from server.origins import normalize_origin
from server.settings import Settings
from server.transport_ws import TransportWSHandler

logger = logging.getLogger("portico.graphql")

# The GraphQL multipart request spec needs `operations`, `map` and the files: a body with more
# is refused before it costs memory or temporary files.
MAX_UPLOAD_FILES = 10
MAX_UPLOAD_FIELDS = 20
MAX_UPLOAD_FIELD_BYTES = 1024 * 1024


class LimitedFormAdapter(StarletteRequestAdapter):
    """Strawberry's Starlette adapter, with Portico's limits on a multipart form."""

    @property
    def content_type(self) -> str | None:
        # A media type is case-insensitive (RFC 9110), but Strawberry compares it as sent, so
        # `Application/JSON` would be refused. Only the type is lowercased: a multipart
        # boundary parameter is case-sensitive.
        value = super().content_type
        if value is None:
            return None
        media_type, separator, parameters = value.partition(";")
        return media_type.strip().lower() + separator + parameters

    async def get_form_data(self) -> FormData:
        try:
            form = await self._request.form(
                max_files=MAX_UPLOAD_FILES,
                max_fields=MAX_UPLOAD_FIELDS,
                max_part_size=MAX_UPLOAD_FIELD_BYTES,
            )
        except StarletteHTTPException as exc:
            raise HTTPException(400, exc.detail) from exc
        except MultiPartException as exc:
            raise HTTPException(400, exc.message) from exc
        items = form.multi_items()
        if len(form) != len(items):
            raise HTTPException(400, "A part name appears twice.")
        # Kept apart, so that `map` naming a text part, or `operations` sent as a file, is a
        # missing part and not a string where a file belongs (or the reverse).
        return FormData(
            files={name: value for name, value in items if isinstance(value, UploadFile)},
            form={name: value for name, value in items if isinstance(value, str)},
        )


class PorticoGraphQL(GraphQL):
    request_adapter_class = LimitedFormAdapter
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, settings: Settings) -> None:
        if settings.graphiql and not settings.allows_introspection:
            logger.warning(
                "GraphiQL is served but PORTICO_INTROSPECTION is off: it cannot read the schema."
            )
        self.persisted_queries = PersistedQueries()
        rate = Rate(settings.api_key_budget, settings.api_key_budget_refill)
        self.query_budgets = (
            budgets_from_url(settings.redis_url, rate, timeout=settings.redis_timeout_seconds)
            if settings.api_key_budget
            else None
        )
        super().__init__(
            build_schema(
                introspection=settings.allows_introspection, traced=tracing.tracer is not None
            ),
            graphql_ide="graphiql" if settings.graphiql else None,
            # Queries only (mutations get 405); see _cookie_is_trustworthy for the cookie.
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=settings.allowed_origins,
            max_subscriptions_per_connection=20,
            # File uploads (GraphQL multipart request spec); see _cookie_is_trustworthy.
            multipart_uploads_enabled=True,
        )
        self.settings = settings
        self.session_policy = SessionPolicy.from_settings(settings)

    def encode_json(self, data: object) -> str:
        # One function for responses and websocket messages alike (orjson, see there): the
        # shared live path (schema.activity_feeds) splices `next` frames from pieces it encodes.
        return delivery.encode_json(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        with request_rows.kept_for_this_request():
            await super().__call__(scope, receive, send)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if not isinstance(request, Request):
            return await super().run(request, context, root_value)
        media_type = media_types.negotiate(request.headers.get("accept"))
        request.scope[MEDIA_TYPE_KEY] = media_type
        try:
            response = await super().run(request, context, root_value)
        except HTTPException as exc:
            return _request_error(exc, media_type)
        except ClientDisconnect:
            # The client hung up while sending: nobody is left to answer, nothing went wrong.
            logger.info("Client disconnected before sending its whole request")
            return Response(status_code=400)
        finally:
            await request.close()  # an upload's temporary files
        if response.headers.get("content-type") == media_types.JSON:
            # A GraphQL response (not GraphiQL's page): sent as the type negotiated, with the
            # status process_result chose for a request that never executed.
            response.headers["content-type"] = media_type
            response.status_code = request.scope.get(STATUS_KEY, response.status_code)
            if request.method == "GET":
                # A viewer's rows, answered to a URL: no cache on the way may keep them.
                response.headers["cache-control"] = "no-store"
        return response

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        for error in result.errors or ():
            if is_database_unreachable(error.original_error):
                # Answered as a whole, 503 "try again", by server.unavailable.
                raise error.original_error
        response = await super().process_result(request, result)
        if result.errors:
            request_record.note_error_codes([_code_of(error) for error in result.errors])
        if request.scope.get(MEDIA_TYPE_KEY) == media_types.GRAPHQL_RESPONSE and _never_executed(
            result
        ):
            # No `data` entry at all: nothing ran, which `data: null` would not say.
            response.pop("data", None)
            request.scope[STATUS_KEY] = _status_of(result)
        return response

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # A document named by its hash (persisted queries, server.persisted_queries).
        named = await persisted_queries.with_document(request_data, self.persisted_queries)
        if isinstance(named, ExecutionResult):
            return named
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, named
            )
        except HTTPException as exc:
            refused = exc.__cause__
            if (
                isinstance(refused, InvalidOperationTypeError)
                and refused.operation_type == OperationType.MUTATION
                and request_adapter.method == "GET"
            ):
                # A GET must not change anything: the client should POST it.
                raise MethodNotAllowed("Mutations are sent with POST.", allow="POST") from exc
            raise
        finally:
            # graphql-core's executor and the context refer to each other, so what the loaders
            # hold (a page's rows) would otherwise wait for the garbage collector's full pass.
            context.loaders.clear()

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        # Strawberry checks the types of `query`, `variables` and `extensions` but not this
        # one's, which would otherwise surface as an unknown operation named `False`.
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item.operation_name, str | None):
                raise HTTPException(
                    400,
                    "The GraphQL operation's `operationName` must be a string or null, "
                    "if provided.",
                )
        return data

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET naming its document by hash (persisted queries) has no `query` either.
        if "extensions" in request.query_params:
            return False
        return super().should_render_graphql_ide(request)

    def parse_json(self, data: str | bytes) -> Any:
        # A body of `5` or `null`, or one nested beyond reason, is the client's mistake.
        try:
            parsed = super().parse_json(data)
        except (RecursionError, UnicodeDecodeError) as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return parsed

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        # A `map` that points into something other than objects and lists, or JSON nested
        # beyond reason, is the client's mistake, not a server error.
        try:
            operations = await super().parse_multipart(request)
        except (TypeError, ValueError, IndexError, AttributeError, RecursionError) as exc:
            raise HTTPException(400, "The file map does not match the operations.") from exc
        if not isinstance(operations, dict | list):
            raise HTTPException(400, "The operations are not a JSON object.")
        return operations

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket):
        principal, locale = await self._viewer(request)
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            persisted_queries=self.persisted_queries,
            query_budgets=self.query_budgets,
            principal=principal,
            locale=locale,
        )

    async def on_ws_connect(self, context: Context) -> None:
        """Websockets authenticate in connection_init, with the same tokens as HTTP."""
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        secret = _token_from_params(params)
        if secret is None:
            return
        principal, locale = await self._login_for(secret)
        if isinstance(principal, Anonymous):
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.become(principal, locale)

    async def authenticate(self, request: Request | WebSocket) -> Principal:
        principal, _ = await self._viewer(request)
        return principal

    async def _viewer(self, request: Request | WebSocket) -> tuple[Principal, str]:
        """Who is asking, and the locale they read amounts in."""
        if isinstance(request, WebSocket):
            return Anonymous(), "en"
        secret = _bearer_token(request)
        if secret is None and self._cookie_is_trustworthy(request):
            secret = request.cookies.get(SESSION_COOKIE)
        if not secret:
            return Anonymous(), "en"
        return await self._login_for(secret)

    async def authenticate_download(self, request: Request) -> Principal:
        """For GET downloads (PDFs): the session cookie counts when the browser says the
        request comes from the portal's own site. The cookie is SameSite=Strict, so another
        site's link never carries it anyway, and a download changes nothing that matters."""
        secret = _bearer_token(request)
        same_site = request.headers.get("sec-fetch-site", "same-origin") in SAME_SITE
        if secret is None and same_site:
            secret = request.cookies.get(SESSION_COOKIE)
        if not secret:
            return Anonymous()
        principal, _ = await self._login_for(secret)
        return principal

    async def _login_for(self, secret: str) -> tuple[Principal, str]:
        if is_api_key(secret):
            principal, organization = await principal_for_api_key(secret)
        else:
            principal, organization = await principal_for_session(self.session_policy, secret)
            if organization is not None:
                request_rows.remember(organization.portal_preferences)
            if isinstance(principal, ContactPrincipal):
                request_rows.remember(principal.contact, principal.contact.customer)
        if organization is not None:
            calendars.remember(organization)
            request_rows.remember(organization)
        # Marked here, on every request: turning the requirement on takes effect at once.
        principal = await mfa.with_enrollment_state(principal)
        request_record.note_principal(principal)
        return principal, locale_of(principal, organization)

    def _cookie_is_trustworthy(self, request: Request | WebSocket) -> bool:
        """A cookie rides along on cross-site requests; only a JSON POST from an allowed
        origin cannot be forged by another site (it needs a CORS preflight we refuse).
        Any page can post a multipart form without a preflight, so an upload's cookie counts
        only with an allowed Origin, which browsers always send on a POST. A page served by
        Portico itself (GraphiQL) is same-origin, whatever address it is reached at.

        Any page can make a GET too (a link, an image, a script), and a query may record
        something (opening a document records its first view). So a GET's cookie counts only
        when the browser vouches for it: an allowed Origin (a CORS request from the portal),
        or no Origin and `Sec-Fetch-Site: same-origin` (a request from the API's own pages).
        Anything else is answered as if the cookie were not there; a Bearer token always
        counts, a page of another site cannot attach one."""
        if not isinstance(request, Request) or request.method not in ("GET", "POST"):
            return False
        origin = request.headers.get("origin")
        allowed = origin is not None and (
            normalize_origin(origin) in self.settings.allowed_origins
            or is_same_origin(origin, request.headers.get("host"))
        )
        if request.method == "GET":
            if origin is not None:
                return allowed
            return request.headers.get("sec-fetch-site") == "same-origin"
        content_type = _media_type(request)
        if content_type == MULTIPART:
            return allowed
        return content_type == "application/json" and (origin is None or allowed)


SAME_SITE = frozenset({"same-origin", "same-site", "none"})
MULTIPART = "multipart/form-data"
# Where a request's negotiated media type and the status of its GraphQL response wait between
# run and process_result (Strawberry hands the latter only the request).
MEDIA_TYPE_KEY = "portico.media_type"
STATUS_KEY = "portico.graphql_status"


class MethodNotAllowed(HTTPException):
    def __init__(self, reason: str, *, allow: str) -> None:
        super().__init__(405, reason)
        self.allow = allow


def _never_executed(result: ExecutionResult) -> bool:
    """A request error: refused before execution (parse, validation, variables, a refusal of
    the whole operation). A field error that nulls the whole result carries a path."""
    return result.data is None and bool(result.errors) and not any(e.path for e in result.errors)


def _code_of(error: GraphQLError) -> str:
    return (error.extensions or {}).get("code") or "NONE"


def _status_of(result: ExecutionResult) -> int:
    codes = {(error.extensions or {}).get("code") for error in result.errors or ()}
    return 500 if "INTERNAL_SERVER_ERROR" in codes else 400


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _request_error(exc: HTTPException, media_type: str) -> JSONResponse:
    """A request refused before any GraphQL ran, told as GraphQL clients read errors."""
    request_record.note_error_codes(["BAD_REQUEST"])
    error = {"message": exc.reason, "extensions": {"code": "BAD_REQUEST"}}
    headers = {"Allow": exc.allow} if isinstance(exc, MethodNotAllowed) else None
    return JSONResponse(
        {"errors": [error]}, status_code=exc.status_code, headers=headers, media_type=media_type
    )


def _bearer_token(request: Request) -> str | None:
    return _from_authorization(request.headers.get("authorization", ""))


def _token_from_params(params: dict) -> str | None:
    value = params.get("Authorization") or params.get("authorization")
    if isinstance(value, str):
        return _from_authorization(value)
    token = params.get("token")
    return token if isinstance(token, str) and token else None


def _from_authorization(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None
