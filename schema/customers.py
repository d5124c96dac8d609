from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from tortoise.expressions import Q

from models.customers import ContactPerson as ContactPersonRow
from models.customers import Customer as CustomerRow
from models.customers import PortalAccess as PortalAccessValue
from resolvers import custom_fields, customers, mfa, outgoing_email
from schema.context import Info
from schema.edge import EMAIL_LENGTH, LONG_TEXT_LENGTH, SEARCH_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.inputs import changes_of
from schema.money import Money
from schema.organizations import Address, AddressInput
from schema.permissions import (
    STAFF_ONLY,
    STAFF_OR_SELF,
    IsAuthenticated,
    IsStaff,
    IsStaffOrPartner,
    IsStaffPartnerOrSelf,
)
from schema.portal import ContactPortal, portal_of_contact
from schema.relay import Connection, ModelNode, OrderDirection, connection, decode_id

if TYPE_CHECKING:
    from schema.files import SharedFile, SharedFileFilter, SharedFileOrder
    from schema.outgoing_email import OutgoingEmail

PortalAccess = strawberry.enum(
    PortalAccessValue, description="Whether a contact person can log in to the portal."
)


@strawberry.type
class CustomField:
    name: str
    value: str
    _organization_id: strawberry.Private[int]

    @strawberry.field(
        description="Whether portal contacts may change this value: a definition of this name "
        "(ignoring case) is editable in the portal."
    )
    async def editable_in_portal(self, info: Info) -> bool:
        editable = await custom_fields.editable_loader(info.context.loaders).load(
            self._organization_id
        )
        return self.name.lower() in editable


@strawberry.input
class CustomFieldInput:
    name: str
    value: str = limited(LONG_TEXT_LENGTH)


@strawberry.type(description="A business customer of the organization.")
class Customer(ModelNode):
    model = CustomerRow

    id: strawberry.relay.NodeID[int]
    display_name: str
    company_name: str
    email: str
    phone: str
    currency: str = strawberry.field(description="ISO 4217 code of the customer's documents.")
    portal_language: str = strawberry.field(description="Language of the customer's portal.")
    billing_address: Address
    shipping_address: Address
    custom_fields: list[CustomField]
    allow_ach_payments: bool = strawberry.field(
        description="Whether the customer may pay by bank account (ACH)."
    )
    created_at: datetime
    updated_at: datetime
    _row: strawberry.Private[CustomerRow]

    @strawberry.field(permission_classes=[IsStaffOrPartner], description=STAFF_ONLY)
    def credit_limit(self) -> Money | None:
        if self._row.credit_limit_minor is None:
            return None
        return Money.of(self._row.credit_limit_minor, self.currency)

    @strawberry.field(permission_classes=[IsStaffOrPartner], description=STAFF_ONLY)
    def internal_notes(self) -> str:
        return self._row.internal_notes

    @strawberry.field(description="Contact persons, the primary one first.")
    async def contact_persons(self, info: Info) -> list[ContactPerson]:
        loader = info.context.loaders.children(ContactPersonRow, "customer_id", "-is_primary")
        return [ContactPerson.from_row(row) for row in await loader.load(self.id)]

    @strawberry.field(
        description="The customer's shared documents, newest first; as `sharedFiles`."
    )
    async def shared_files(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: Annotated[SharedFileFilter, strawberry.lazy("schema.files")] | None = None,
        order_by: Annotated[SharedFileOrder, strawberry.lazy("schema.files")] | None = None,
    ) -> Connection[Annotated[SharedFile, strawberry.lazy("schema.files")]]:
        from schema.files import shared_files

        return await shared_files(
            info, first=first, after=after, filter=filter, order_by=order_by, customer_id=self.id
        )

    @classmethod
    def from_row(cls, row: CustomerRow) -> Customer:
        return cls(
            id=row.id,
            display_name=row.display_name,
            company_name=row.company_name,
            email=row.email,
            phone=row.phone,
            currency=row.currency,
            portal_language=row.portal_language,
            billing_address=Address.of(row.billing_address),
            shipping_address=Address.of(row.shipping_address),
            custom_fields=[
                CustomField(**item, _organization_id=row.organization_id)
                for item in row.custom_fields
            ],
            allow_ach_payments=row.allow_ach,
            created_at=row.created_at,
            updated_at=row.updated_at,
            _row=row,
        )


@strawberry.type(description="A person at a customer; may have portal access.")
class ContactPerson(ModelNode):
    model = ContactPersonRow

    id: strawberry.relay.NodeID[int]
    first_name: str
    last_name: str
    email: str
    phone: str
    mobile: str
    is_primary: bool
    created_at: datetime
    _row: strawberry.Private[ContactPersonRow]

    @strawberry.field
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        return await Customer.load(info, self._row.customer_id)

    @strawberry.field(
        permission_classes=[IsStaffPartnerOrSelf],
        description="What the portal lets this contact do. " + STAFF_OR_SELF,
    )
    async def portal(self) -> ContactPortal:
        return await portal_of_contact(self._row.organization_id, self._row.customer_id)

    @strawberry.field(permission_classes=[IsStaffOrPartner], description=STAFF_ONLY)
    def portal_access(self) -> PortalAccess:  # type: ignore[valid-type]
        return self._row.portal_access

    @strawberry.field(permission_classes=[IsStaffOrPartner], description=STAFF_ONLY)
    def invited_at(self) -> datetime | None:
        return self._row.invited_at

    @strawberry.field(permission_classes=[IsStaffOrPartner], description=STAFF_ONLY)
    def accepted_at(self) -> datetime | None:
        return self._row.accepted_at

    @strawberry.field(permission_classes=[IsStaffOrPartner], description=STAFF_ONLY)
    def last_login_at(self) -> datetime | None:
        return self._row.last_login_at

    @strawberry.field(
        permission_classes=[IsStaff],
        description="The latest portal invitation emailed to the contact and what became of it "
        "(QUEUED, retrying, SENT or FAILED with its reason); null if none was sent. "
        "Internal: staff users only; portal contacts and partner keys get FORBIDDEN.",
    )
    async def last_invitation_email(
        self, info: Info
    ) -> Annotated[OutgoingEmail, strawberry.lazy("schema.outgoing_email")] | None:
        from schema.outgoing_email import OutgoingEmail

        row = await outgoing_email.last_invitation_loader(info.context.loaders).load(self.id)
        return OutgoingEmail.from_row(row) if row is not None else None

    @strawberry.field(
        permission_classes=[IsStaffPartnerOrSelf],
        description=f"Whether the contact logs in with a second factor (TOTP). {STAFF_OR_SELF}",
    )
    async def mfa_enabled(self, info: Info) -> bool:
        return await mfa.enabled_loader(info.context.loaders, ContactPersonRow).load(self.id)

    @classmethod
    def from_row(cls, row: ContactPersonRow) -> ContactPerson:
        return cls(
            id=row.id,
            first_name=row.first_name,
            last_name=row.last_name,
            email=row.email,
            phone=row.phone,
            mobile=row.mobile,
            is_primary=row.is_primary,
            created_at=row.created_at,
            _row=row,
        )


@strawberry.enum
class CustomerOrderField(Enum):
    NAME = "display_name"
    EMAIL = "email"
    CREATED_AT = "created_at"


@strawberry.input
class CustomerOrder:
    field: CustomerOrderField = CustomerOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class CustomerFilter:
    search: str | None = limited(
        SEARCH_LENGTH, default=None, description="Part of the display name, company name or email."
    )
    email: str | None = limited(EMAIL_LENGTH, default=None, description="Exact email address.")


@strawberry.enum
class ContactPersonOrderField(Enum):
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    EMAIL = "email"
    CREATED_AT = "created_at"


@strawberry.input
class ContactPersonOrder:
    field: ContactPersonOrderField = ContactPersonOrderField.LAST_NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class ContactPersonFilter:
    customer_id: strawberry.ID | None = None
    search: str | None = limited(
        SEARCH_LENGTH, default=None, description="Part of the name or email."
    )
    email: str | None = limited(EMAIL_LENGTH, default=None, description="Exact email address.")
    portal_access: PortalAccess | None = None  # type: ignore[valid-type]


def _customer_filter(filter: CustomerFilter | None) -> Q:
    query = Q()
    if filter and filter.search:
        term = filter.search.strip()
        query &= (
            Q(display_name__icontains=term)
            | Q(company_name__icontains=term)
            | Q(email__icontains=term)
        )
    if filter and filter.email:
        query &= Q(email=filter.email.strip().lower())
    return query


def _contact_filter(filter: ContactPersonFilter | None) -> Q:
    query = Q()
    if filter is None:
        return query
    if filter.customer_id:
        query &= Q(customer_id=decode_id(filter.customer_id, Customer))
    if filter.search:
        term = filter.search.strip()
        query &= (
            Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(email__icontains=term)
        )
    if filter.email:
        query &= Q(email=filter.email.strip().lower())
    if filter.portal_access:
        query &= Q(portal_access=filter.portal_access)
    return query


@strawberry.type
class CustomerQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Staff and partner keys (customers:read) see every customer of the "
        "organization; a portal contact sees only its own customer.",
    )
    async def customers(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: CustomerFilter | None = None,
        order_by: CustomerOrder | None = None,
    ) -> Connection[Customer]:
        return await connection(
            info,
            Customer,
            where=_customer_filter(filter),
            order_by=order_by or CustomerOrder(),
            first=first,
            after=after,
        )

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="null when the customer does not exist or is not visible to the viewer.",
    )
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        return await Customer.load(info, decode_id(id, Customer))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Contact persons of the customers visible to the viewer.",
    )
    async def contact_persons(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ContactPersonFilter | None = None,
        order_by: ContactPersonOrder | None = None,
    ) -> Connection[ContactPerson]:
        return await connection(
            info,
            ContactPerson,
            where=_contact_filter(filter),
            order_by=order_by or ContactPersonOrder(),
            first=first,
            after=after,
        )


@strawberry.input
class ContactPersonInput:
    first_name: str = ""
    last_name: str = ""
    email: str = limited(EMAIL_LENGTH, default="")
    phone: str = ""
    mobile: str = ""
    is_primary: bool | None = strawberry.UNSET


@strawberry.input
class CreateCustomerInput:
    display_name: str
    company_name: str = ""
    email: str = limited(EMAIL_LENGTH, default="")
    phone: str = ""
    currency: str | None = strawberry.field(
        default=strawberry.UNSET, description="Defaults to the organization's base currency."
    )
    portal_language: str = "en"
    billing_address: AddressInput | None = None
    shipping_address: AddressInput | None = None
    custom_fields: list[CustomFieldInput] = strawberry.field(default_factory=list)
    credit_limit: Decimal | None = None
    allow_ach_payments: bool = False
    internal_notes: str = limited(LONG_TEXT_LENGTH, default="")
    contact_persons: list[ContactPersonInput] = strawberry.field(
        default_factory=list, description="The first is primary unless another says so."
    )
    allow_portal_access: bool = strawberry.field(
        default=False, description="Invites the primary contact person to the portal."
    )


@strawberry.input
class UpdateCustomerInput:
    id: strawberry.ID
    display_name: str | None = strawberry.UNSET
    company_name: str | None = strawberry.UNSET
    email: str | None = limited(EMAIL_LENGTH, default=strawberry.UNSET)
    phone: str | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    portal_language: str | None = strawberry.UNSET
    billing_address: AddressInput | None = strawberry.UNSET
    shipping_address: AddressInput | None = strawberry.UNSET
    custom_fields: list[CustomFieldInput] | None = strawberry.UNSET
    credit_limit: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="null removes the limit."
    )
    allow_ach_payments: bool | None = strawberry.UNSET
    internal_notes: str | None = limited(LONG_TEXT_LENGTH, default=strawberry.UNSET)


@strawberry.input
class CreateContactPersonInput(ContactPersonInput):
    customer_id: strawberry.ID


@strawberry.input
class UpdateContactPersonInput:
    id: strawberry.ID
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    email: str | None = limited(EMAIL_LENGTH, default=strawberry.UNSET)
    phone: str | None = strawberry.UNSET
    mobile: str | None = strawberry.UNSET
    is_primary: bool | None = strawberry.UNSET


@strawberry.type
class CustomerPayload:
    customer: Customer | None = None
    errors: list[UserError]


@strawberry.type
class ContactPersonPayload:
    contact_person: ContactPerson | None = None
    errors: list[UserError]


def _customer_data(input: CreateCustomerInput | UpdateCustomerInput) -> dict:
    data = changes_of(input)
    if "allow_ach_payments" in data:
        data["allow_ach"] = data.pop("allow_ach_payments")
    return data


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(permission_classes=[IsStaff])
    async def create_customer(self, info: Info, input: CreateCustomerInput) -> CustomerPayload:
        async def action() -> dict:
            row = await customers.create_customer(info.context.staff, _customer_data(input))
            return {"customer": Customer.from_row(row)}

        return await payload_or_errors(CustomerPayload, action)

    @strawberry.mutation(permission_classes=[IsStaff])
    async def update_customer(self, info: Info, input: UpdateCustomerInput) -> CustomerPayload:
        async def action() -> dict:
            customer_id = decode_id(input.id, Customer)
            row = await customers.update_customer(
                info.context.staff, customer_id, _customer_data(input)
            )
            return {"customer": Customer.from_row(row)}

        return await payload_or_errors(CustomerPayload, action)

    @strawberry.mutation(permission_classes=[IsStaff])
    async def create_contact_person(
        self, info: Info, input: CreateContactPersonInput
    ) -> ContactPersonPayload:
        async def action() -> dict:
            data = changes_of(input)
            data["customer_id"] = decode_id(input.customer_id, Customer)
            row = await customers.create_contact(info.context.staff, data)
            return {"contact_person": ContactPerson.from_row(row)}

        return await payload_or_errors(ContactPersonPayload, action)

    @strawberry.mutation(permission_classes=[IsStaff])
    async def update_contact_person(
        self, info: Info, input: UpdateContactPersonInput
    ) -> ContactPersonPayload:
        async def action() -> dict:
            contact_id = decode_id(input.id, ContactPerson)
            row = await customers.update_contact(info.context.staff, contact_id, changes_of(input))
            return {"contact_person": ContactPerson.from_row(row)}

        return await payload_or_errors(ContactPersonPayload, action)
