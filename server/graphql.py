"""The `/graphql` endpoint: who is asking, and the rules for trusting a cookie."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from auth.api_keys import is_api_key, principal_for_api_key
from auth.principals import Anonymous, Principal
from auth.sessions import SessionPolicy, principal_for_session
from resolvers import mfa, preferences
from schema.authentication import SESSION_COOKIE
from schema.context import Context
from schema.root import build_schema
from server.settings import Settings


class PorticoGraphQL(GraphQL):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            build_schema(),
            graphql_ide="graphiql" if settings.graphiql else None,
            # Queries over GET would let a cross-site page read with the viewer's cookie.
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=settings.allowed_origins,
            max_subscriptions_per_connection=20,
        )
        self.settings = settings
        self.session_policy = SessionPolicy.from_settings(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        with preferences.cached_for_this_request():
            await super().__call__(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket):
        principal = await self.authenticate(request)
        return Context(
            request=request, response=response, settings=self.settings, principal=principal
        )

    async def on_ws_connect(self, context: Context) -> None:
        """Websockets authenticate in connection_init, with the same tokens as HTTP."""
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        secret = _token_from_params(params)
        if secret is None:
            return
        principal = await self._principal_for(secret)
        if isinstance(principal, Anonymous):
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.become(principal)

    async def authenticate(self, request: Request | WebSocket) -> Principal:
        if isinstance(request, WebSocket):
            return Anonymous()
        secret = _bearer_token(request)
        if secret is None and self._cookie_is_trustworthy(request):
            secret = request.cookies.get(SESSION_COOKIE)
        if not secret:
            return Anonymous()
        return await self._principal_for(secret)

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
        return await self._principal_for(secret)

    async def _principal_for(self, secret: str) -> Principal:
        if is_api_key(secret):
            return await principal_for_api_key(secret)
        principal, stored_preferences = await principal_for_session(self.session_policy, secret)
        if stored_preferences is not None:
            preferences.remember(stored_preferences)
        # Marked here, on every request: turning the requirement on takes effect at once.
        return await mfa.with_enrollment_state(principal)

    def _cookie_is_trustworthy(self, request: Request | WebSocket) -> bool:
        """A cookie rides along on cross-site requests; only a JSON POST from an allowed
        origin cannot be forged by another site (it needs a CORS preflight we refuse)."""
        if not isinstance(request, Request) or request.method != "POST":
            return False
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return False
        origin = request.headers.get("origin")
        return origin is None or origin.rstrip("/") in self.settings.allowed_origins


SAME_SITE = frozenset({"same-origin", "same-site", "none"})


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
