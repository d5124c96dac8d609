"""The `/graphql` endpoint: who is asking, and the rules for trusting a cookie."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from auth.api_keys import is_api_key, principal_for_api_key
from auth.principals import Anonymous, Principal
from auth.sessions import SessionPolicy, principal_for_session
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

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket):
        principal = await self.authenticate(request)
        return Context(
            request=request, response=response, settings=self.settings, principal=principal
        )

    async def authenticate(self, request: Request | WebSocket) -> Principal:
        secret = _bearer_token(request)
        if secret is None and self._cookie_is_trustworthy(request):
            secret = request.cookies.get(SESSION_COOKIE)
        if not secret:
            return Anonymous()
        if is_api_key(secret):
            return await principal_for_api_key(secret)
        return await principal_for_session(self.session_policy, secret)

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


def _bearer_token(request: Request | WebSocket) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None
