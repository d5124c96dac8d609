from __future__ import annotations

import strawberry

from auth.errors import BadUserInput
from resolvers import portal_access
from schema.authentication import LoginPayload, login_payload
from schema.context import Info
from schema.customers import ContactPerson, Customer
from schema.edge import EMAIL_LENGTH, PORTAL_NAME_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.inputs import changes_of
from schema.permissions import Anyone, IsStaff
from schema.relay import decode_id

MAX_BULK = 500


@strawberry.input
class EnablePortalAccessInput:
    contact_ids: list[strawberry.ID]


@strawberry.type
class EnablePortalAccessPayload:
    contact_persons: list[ContactPerson] | None = None
    errors: list[UserError]


@strawberry.input
class ContactAccessInput:
    contact_id: strawberry.ID


@strawberry.type
class ContactAccessPayload:
    contact_person: ContactPerson | None = None
    errors: list[UserError]


@strawberry.input
class BulkEnablePortalInput:
    customer_ids: list[strawberry.ID] = strawberry.field(
        description=f"At most {MAX_BULK}; each customer's primary contact is invited."
    )


@strawberry.type(description="What happened for one customer of a bulk enable.")
class BulkEnableResult:
    customer_id: strawberry.ID
    contact_person: ContactPerson | None
    error: UserError | None


@strawberry.type
class BulkEnablePortalPayload:
    results: list[BulkEnableResult] = strawberry.field(default_factory=list)
    errors: list[UserError]


@strawberry.input
class TokenPasswordInput:
    token: str = strawberry.field(description="From the emailed link.")
    password: str


@strawberry.input
class SignUpInput:
    portal_name: str = limited(PORTAL_NAME_LENGTH)
    email: str = limited(EMAIL_LENGTH)
    first_name: str = ""
    last_name: str = ""
    company_name: str = ""
    language: str = "en"


@strawberry.type
class RequestPayload:
    """Says only that the request was taken; the email tells its owner what happens next."""

    errors: list[UserError]


@strawberry.input
class RequestPasswordResetInput:
    portal_name: str = limited(PORTAL_NAME_LENGTH)
    email: str = limited(EMAIL_LENGTH)


@strawberry.type
class PortalAccessMutations:
    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="Invites the contacts by email. A contact without email cannot be enabled; "
        "while the portal is turned off (portalEnabled) nobody can (PORTAL_DISABLED).",
    )
    async def enable_portal_access(
        self, info: Info, input: EnablePortalAccessInput
    ) -> EnablePortalAccessPayload:
        async def action() -> dict:
            ids = [decode_id(value, ContactPerson) for value in input.contact_ids]
            rows = await portal_access.enable_portal_access(info.context.staff, ids)
            return {"contact_persons": [ContactPerson.from_row(row) for row in rows]}

        return await payload_or_errors(EnablePortalAccessPayload, action)

    @strawberry.mutation(
        permission_classes=[IsStaff], description="A fresh link; the previous one stops working."
    )
    async def reinvite_contact(self, info: Info, input: ContactAccessInput) -> ContactAccessPayload:
        async def action() -> dict:
            contact_id = decode_id(input.contact_id, ContactPerson)
            row = await portal_access.reinvite(info.context.staff, contact_id)
            return {"contact_person": ContactPerson.from_row(row)}

        return await payload_or_errors(ContactAccessPayload, action)

    @strawberry.mutation(
        permission_classes=[IsStaff], description="Sessions and subscriptions end at once."
    )
    async def disable_portal_access(
        self, info: Info, input: ContactAccessInput
    ) -> ContactAccessPayload:
        async def action() -> dict:
            contact_id = decode_id(input.contact_id, ContactPerson)
            row = await portal_access.disable_portal_access(info.context.staff, contact_id)
            return {"contact_person": ContactPerson.from_row(row)}

        return await payload_or_errors(ContactAccessPayload, action)

    @strawberry.mutation(permission_classes=[IsStaff])
    async def bulk_enable_portal(
        self, info: Info, input: BulkEnablePortalInput
    ) -> BulkEnablePortalPayload:
        if len(input.customer_ids) > MAX_BULK:
            raise BadUserInput(f"Enable at most {MAX_BULK} customers at once.")
        ids = [decode_id(value, Customer) for value in input.customer_ids]

        async def action() -> dict:
            results = await portal_access.bulk_enable(info.context.staff, ids)
            return {
                "results": [
                    BulkEnableResult(
                        customer_id=given,
                        contact_person=ContactPerson.from_row(r.contact) if r.contact else None,
                        error=UserError.from_problem(r.error) if r.error else None,
                    )
                    for given, r in zip(input.customer_ids, results, strict=True)
                ]
            }

        return await payload_or_errors(BulkEnablePortalPayload, action)

    @strawberry.mutation(
        permission_classes=[Anyone],
        description="Sets the invited contact's password and logs it in.",
    )
    async def accept_invitation(self, info: Info, input: TokenPasswordInput) -> LoginPayload:
        async def action() -> dict:
            result = await portal_access.accept_invitation(
                info.context.session_policy, info.context.client, input.token, input.password
            )
            return login_payload(info, result)

        return await payload_or_errors(LoginPayload, action)

    @strawberry.mutation(
        permission_classes=[Anyone],
        description="When the portal allows sign-ups: emails a link to confirm the address.",
    )
    async def sign_up(self, info: Info, input: SignUpInput) -> RequestPayload:
        async def action() -> dict:
            await portal_access.sign_up(
                info.context.client, input.portal_name, changes_of(input, skip=("portal_name",))
            )
            return {}

        return await payload_or_errors(RequestPayload, action)

    @strawberry.mutation(
        permission_classes=[Anyone],
        description="Confirms the email address, sets the password, logs in.",
    )
    async def complete_sign_up(self, info: Info, input: TokenPasswordInput) -> LoginPayload:
        async def action() -> dict:
            result = await portal_access.complete_sign_up(
                info.context.session_policy, info.context.client, input.token, input.password
            )
            return login_payload(info, result)

        return await payload_or_errors(LoginPayload, action)

    @strawberry.mutation(
        permission_classes=[Anyone],
        description="Emails a reset link if the address has an account.",
    )
    async def request_password_reset(
        self, info: Info, input: RequestPasswordResetInput
    ) -> RequestPayload:
        async def action() -> dict:
            await portal_access.request_password_reset(
                info.context.client, input.portal_name, input.email
            )
            return {}

        return await payload_or_errors(RequestPayload, action)

    @strawberry.mutation(
        permission_classes=[Anyone],
        description="Sets a new password; every other session of it ends.",
    )
    async def reset_password(self, info: Info, input: TokenPasswordInput) -> LoginPayload:
        async def action() -> dict:
            result = await portal_access.reset_password(
                info.context.session_policy, info.context.client, input.token, input.password
            )
            return login_payload(info, result)

        return await payload_or_errors(LoginPayload, action)
