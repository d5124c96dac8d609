from __future__ import annotations

import strawberry

from resolvers import my_details
from schema.context import Info
from schema.customers import (
    ContactPerson,
    ContactPersonPayload,
    Customer,
    CustomerPayload,
    CustomFieldInput,
)
from schema.edge import EMAIL_LENGTH, limited
from schema.errors import payload_or_errors
from schema.inputs import changes_of
from schema.organizations import AddressInput
from schema.permissions import IsContact
from schema.relay import decode_id

WHILE_ALLOWED = (
    "Portal contacts only, while the portal lets customers edit their details (otherwise "
    "DETAIL_EDITS_OFF). Recorded as activity with the values before and after."
)


@strawberry.input
class UpdateMyCustomerInput:
    phone: str | None = strawberry.UNSET
    billing_address: AddressInput | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the whole address."
    )
    shipping_address: AddressInput | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the whole address."
    )
    custom_fields: list[CustomFieldInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Values of fields whose definition is editable in the portal (others are "
        "NOT_EDITABLE); fields not named keep their values. An empty value removes the field.",
    )


@strawberry.input
class UpdateMyContactDetailsInput:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    email: str | None = limited(
        EMAIL_LENGTH,
        default=strawberry.UNSET,
        description="The address you log in with; changing it takes `currentPassword`.",
    )
    phone: str | None = strawberry.UNSET
    mobile: str | None = strawberry.UNSET
    current_password: str | None = strawberry.UNSET


@strawberry.input
class AddMyContactPersonInput:
    first_name: str = ""
    last_name: str = ""
    email: str = limited(EMAIL_LENGTH, default="")
    phone: str = ""
    mobile: str = ""


@strawberry.input
class UpdateMyContactPersonInput:
    id: strawberry.ID
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    email: str | None = limited(
        EMAIL_LENGTH,
        default=strawberry.UNSET,
        description="NOT_EDITABLE for a person with portal access: only they change it, with "
        "updateMyContactDetails.",
    )
    phone: str | None = strawberry.UNSET
    mobile: str | None = strawberry.UNSET


@strawberry.type
class MyDetailsMutations:
    @strawberry.mutation(
        permission_classes=[IsContact],
        description=f"The viewer's customer: phone, addresses, editable custom fields. "
        f"{WHILE_ALLOWED}",
    )
    async def update_my_customer(self, info: Info, input: UpdateMyCustomerInput) -> CustomerPayload:
        async def action() -> dict:
            row = await my_details.update_my_customer(info.context.contact, changes_of(input))
            return {"customer": Customer.from_row(row)}

        return await payload_or_errors(CustomerPayload, action)

    @strawberry.mutation(
        permission_classes=[IsContact],
        description=f"The viewer's own name, email, phone and mobile. {WHILE_ALLOWED}",
    )
    async def update_my_contact_details(
        self, info: Info, input: UpdateMyContactDetailsInput
    ) -> ContactPersonPayload:
        async def action() -> dict:
            row = await my_details.update_my_contact_details(
                info.context.contact, changes_of(input)
            )
            return {"contact_person": ContactPerson.from_row(row)}

        return await payload_or_errors(ContactPersonPayload, action)

    @strawberry.mutation(
        permission_classes=[IsContact],
        description=f"A new contact person of the viewer's customer, without portal access "
        f"(staff invite) and not primary. At most 20 an hour. {WHILE_ALLOWED}",
    )
    async def add_my_contact_person(
        self, info: Info, input: AddMyContactPersonInput
    ) -> ContactPersonPayload:
        async def action() -> dict:
            row = await my_details.add_my_contact_person(info.context.contact, changes_of(input))
            return {"contact_person": ContactPerson.from_row(row)}

        return await payload_or_errors(ContactPersonPayload, action)

    @strawberry.mutation(
        permission_classes=[IsContact],
        description=f"Another contact person of the viewer's customer. {WHILE_ALLOWED}",
    )
    async def update_my_contact_person(
        self, info: Info, input: UpdateMyContactPersonInput
    ) -> ContactPersonPayload:
        async def action() -> dict:
            contact_id = decode_id(input.id, ContactPerson)
            row = await my_details.update_my_contact_person(
                info.context.contact, contact_id, changes_of(input)
            )
            return {"contact_person": ContactPerson.from_row(row)}

        return await payload_or_errors(ContactPersonPayload, action)
