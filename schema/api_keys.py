from __future__ import annotations

from datetime import date, datetime

import strawberry
from tortoise.expressions import Q

from auth.api_keys import ApiScope as ApiScopeValue
from models.api_keys import ApiKey as ApiKeyRow
from resolvers import api_keys
from resolvers.pagination import Ordering
from schema.context import Info
from schema.customers import Customer
from schema.errors import UserError, payload_or_errors
from schema.permissions import IsAdmin
from schema.relay import Connection, ModelNode, connection, decode_id
from schema.staff import StaffUser

ApiScope = strawberry.enum(
    ApiScopeValue, name="ApiScope", description="What a partner API key may read."
)


@strawberry.type(description="A partner's read-only key to the graph.")
class ApiKey(ModelNode):
    model = ApiKeyRow

    id: strawberry.relay.NodeID[int]
    name: str
    prefix: str = strawberry.field(description="The key's first characters, to recognise it.")
    scopes: list[ApiScope]  # type: ignore[valid-type]
    created_at: datetime
    last_used_at: datetime | None
    expires_on: date | None = strawberry.field(
        description="Last day on which the key works, in the organization's time zone; null: "
        "until revoked."
    )
    revoked_at: datetime | None
    _created_by_id: strawberry.Private[int | None]
    _customer_id: strawberry.Private[int | None]

    @strawberry.field
    async def created_by(self, info: Info) -> StaffUser | None:
        return await StaffUser.load(info, self._created_by_id)

    @strawberry.field(
        description="The one customer the key reads, as that customer's portal contacts see it; "
        "null: the whole organization."
    )
    async def customer(self, info: Info) -> Customer | None:
        return await Customer.load(info, self._customer_id)

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            scopes=[ApiScopeValue(scope) for scope in row.scopes],
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_on=row.expires_on,
            revoked_at=row.revoked_at,
            _created_by_id=row.created_by_id,
            _customer_id=row.customer_id,
        )


@strawberry.type
class ApiKeyQueries:
    @strawberry.field(
        permission_classes=[IsAdmin], description="Administrators only; newest first."
    )
    async def api_keys(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ApiKey]:
        newest_first = Ordering("created_at", descending=True)
        return await connection(
            info, ApiKey, where=Q(), order_by=newest_first, first=first, after=after
        )


@strawberry.input
class CreateApiKeyInput:
    name: str
    scopes: list[ApiScope]  # type: ignore[valid-type]
    expires_on: date | None = strawberry.field(
        default=None,
        description="Last day on which the key works, in the organization's time zone; null: "
        "until revoked.",
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Limit the key to this customer: it reads only what the customer's portal "
        "contacts see, within its scopes, and works only while the customer's portal is on. "
        "Null: the whole organization.",
    )


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey | None = None
    secret: str | None = strawberry.field(
        default=None, description="The key itself. Shown only in this response; store it now."
    )
    errors: list[UserError]


@strawberry.input
class RevokeApiKeyInput:
    id: strawberry.ID


@strawberry.type
class RevokeApiKeyPayload:
    api_key: ApiKey | None = None
    errors: list[UserError]


@strawberry.type
class ApiKeyMutations:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        async def action() -> dict:
            customer_id = decode_id(input.customer_id, Customer) if input.customer_id else None
            secret, row = await api_keys.create_api_key(
                info.context.staff, input.name, list(input.scopes), input.expires_on, customer_id
            )
            return {"api_key": ApiKey.from_row(row), "secret": secret}

        return await payload_or_errors(CreateApiKeyPayload, action)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> RevokeApiKeyPayload:
        async def action() -> dict:
            row = await api_keys.revoke_api_key(info.context.staff, decode_id(input.id, ApiKey))
            return {"api_key": ApiKey.from_row(row)}

        return await payload_or_errors(RevokeApiKeyPayload, action)
