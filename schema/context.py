"""What every resolver gets as `info.context`: the request, the principal and its loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from auth.principals import Anonymous, ContactPrincipal, PartnerPrincipal, Principal, StaffPrincipal
from auth.sessions import SessionPolicy
from integrations.query_budgets import QueryBudgets
from resolvers.authentication import Client
from resolvers.loaders import Loaders
from resolvers.persisted_queries import PersistedQueries

if TYPE_CHECKING:
    from server.settings import Settings


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket
    settings: Settings
    # The worker's persisted queries: the schema is shared by every app of a process.
    persisted_queries: PersistedQueries
    # The worker's partner query budgets (schema.query_budget); None: nobody is charged.
    query_budgets: QueryBudgets | None = None
    principal: Principal = field(default_factory=Anonymous)
    # The locale the principal reads amounts in (auth.principals.locale_of): Money.formatted.
    locale: str = "en"
    # Set by graphql-transport-ws from the connection_init payload.
    connection_params: dict | None = None
    # The document about to execute is in the trusted registry (schema.persisted_queries sets
    # it before each execution; a websocket's operations share the connection's context): it
    # runs on the planned path (schema.planned).
    registered_document: bool = False
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.principal)

    def become(self, principal: Principal, locale: str | None = None) -> None:
        """After a login, the rest of the response is read as the new principal (in its
        locale, when known)."""
        self.principal = principal
        self.loaders = Loaders(principal)
        if locale is not None:
            self.locale = locale

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy.from_settings(self.settings)

    @property
    def client(self) -> Client:
        host = self.request.client.host if self.request.client else ""
        return Client(address=host, user_agent=self.request.headers.get("user-agent", ""))

    @property
    def staff(self) -> StaffPrincipal:
        assert isinstance(self.principal, StaffPrincipal)
        return self.principal

    @property
    def contact(self) -> ContactPrincipal:
        assert isinstance(self.principal, ContactPrincipal)
        return self.principal

    @property
    def is_staff(self) -> bool:
        return isinstance(self.principal, StaffPrincipal)

    @property
    def is_partner(self) -> bool:
        return isinstance(self.principal, PartnerPrincipal)


Info = StrawberryInfo[Context, None]
