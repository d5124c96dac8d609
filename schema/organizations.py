from __future__ import annotations

from datetime import date, datetime

import strawberry

from models.organizations import Organization as OrganizationRow
from models.organizations import zone_named
from resolvers import links, organizations
from schema.context import Info
from schema.edge import EMAIL_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.inputs import changes_of
from schema.permissions import IsAdmin, IsAuthenticated
from schema.relay import ModelNode


@strawberry.type(description="A postal address; empty strings where unknown.")
class Address:
    attention: str = ""
    street1: str = ""
    street2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = strawberry.field(default="", description="ISO 3166-1 alpha-2 code.")
    phone: str = ""

    @classmethod
    def of(cls, data: dict) -> Address:
        return cls(**{key: str(data.get(key) or "") for key in _ADDRESS_KEYS})


_ADDRESS_KEYS = ("attention", "street1", "street2", "city", "state", "zip", "country", "phone")


@strawberry.input
class AddressInput:
    attention: str = ""
    street1: str = ""
    street2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = strawberry.field(default="", description="ISO 3166-1 alpha-2 code.")
    phone: str = ""


@strawberry.type(description="The business that runs the portal.")
class Organization(ModelNode):
    model = OrganizationRow

    id: strawberry.relay.NodeID[int]
    name: str
    portal_name: str = strawberry.field(description="Unique; part of the portal URL.")
    email: str
    phone: str
    address: Address
    base_currency: str
    locale: str
    timezone: str = strawberry.field(
        description="An IANA time zone, e.g. America/Los_Angeles. Every date in Portico is a "
        "day of this zone's calendar: issue and payment dates, what is due or overdue, "
        "statement and report periods."
    )
    created_at: datetime

    @strawberry.field(description="Today in the organization's time zone.")
    def today(self) -> date:
        return datetime.now(zone_named(self.timezone)).date()

    @strawberry.field(description="Where the organization's customers log in.")
    def portal_url(self) -> str:
        return links.current().portal(self.portal_name)

    @classmethod
    def from_row(cls, row: OrganizationRow) -> Organization:
        return cls(
            id=row.id,
            name=row.name,
            portal_name=row.portal_name,
            email=row.email,
            phone=row.phone,
            address=Address.of(row.address),
            base_currency=row.base_currency,
            locale=row.locale,
            timezone=row.timezone,
            created_at=row.created_at,
        )


@strawberry.input
class UpdateOrganizationInput:
    name: str | None = strawberry.UNSET
    email: str | None = limited(EMAIL_LENGTH, default=strawberry.UNSET)
    phone: str | None = strawberry.UNSET
    address: AddressInput | None = strawberry.UNSET
    locale: str | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET


@strawberry.type
class UpdateOrganizationPayload:
    organization: Organization | None = None
    errors: list[UserError]


@strawberry.type
class OrganizationQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated], description="The organization of the viewer."
    )
    async def organization(self, info: Info) -> Organization:
        return await Organization.load(info, info.context.principal.organization_id)


@strawberry.type
class OrganizationMutations:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_organization(
        self, info: Info, input: UpdateOrganizationInput
    ) -> UpdateOrganizationPayload:
        async def action() -> dict:
            row = await organizations.update_organization(info.context.staff, changes_of(input))
            return {"organization": Organization.from_row(row)}

        return await payload_or_errors(UpdateOrganizationPayload, action)
