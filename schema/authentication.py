from __future__ import annotations

from typing import Annotated

import strawberry

from auth.principals import ContactPrincipal, PartnerPrincipal, StaffPrincipal
from resolvers import authentication
from schema.api_keys import ApiKey
from schema.context import Info
from schema.customers import ContactPerson
from schema.edge import EMAIL_LENGTH, PORTAL_NAME_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.permissions import Anyone, IsPerson
from schema.staff import StaffUser

SESSION_COOKIE = "portico_session"

Viewer = Annotated[
    StaffUser | ContactPerson | ApiKey,
    strawberry.union("Viewer", description="Who is asking: staff, portal contact or API key."),
]


def viewer_of(info: Info) -> Viewer | None:
    principal = info.context.principal
    if isinstance(principal, StaffPrincipal):
        return StaffUser.from_row(principal.user)
    if isinstance(principal, ContactPrincipal):
        return ContactPerson.from_row(principal.contact)
    if isinstance(principal, PartnerPrincipal):
        return ApiKey.from_row(principal.api_key)
    return None


@strawberry.input
class LoginInput:
    email: str = limited(EMAIL_LENGTH)
    password: str


@strawberry.input
class PortalLoginInput:
    portal_name: str = limited(PORTAL_NAME_LENGTH, description="The organization's portal name.")
    email: str = limited(EMAIL_LENGTH)
    password: str


@strawberry.type
class LoginPayload:
    token: str | None = strawberry.field(
        default=None,
        description="Session token for `Authorization: Bearer`; browsers get a cookie as well.",
    )
    viewer: Viewer | None = None
    mfa_required: bool = strawberry.field(
        default=False,
        description="The password was right and the account has MFA: no session yet. Send a "
        "code with `mfaToken` to `verifyMfa` to finish logging in.",
    )
    mfa_token: str | None = strawberry.field(
        default=None,
        description="Proves the password step for 5 minutes, for `verifyMfa` only; it is not a "
        "session token.",
    )
    errors: list[UserError]


@strawberry.type
class LogoutPayload:
    errors: list[UserError]


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.type
class ChangePasswordPayload:
    errors: list[UserError]


def _set_session_cookie(info: Info, token: str) -> None:
    settings = info.context.settings
    info.context.response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_hours * 3600,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="strict",
        path="/",
    )


def login_payload(info: Info, result: authentication.LoginResult) -> dict:
    """The LoginPayload fields of a login step: the MFA challenge, or the session."""
    if result.mfa_token is not None:
        return {"mfa_required": True, "mfa_token": result.mfa_token}
    assert result.token is not None
    _set_session_cookie(info, result.token)
    info.context.become(result.principal)
    viewer = viewer_of(info)
    return {"token": result.token, "viewer": viewer}


@strawberry.type
class AuthenticationQueries:
    @strawberry.field(
        permission_classes=[Anyone], description="Who is asking; null when not logged in."
    )
    def viewer(self, info: Info) -> Viewer | None:
        return viewer_of(info)


@strawberry.type
class AuthenticationMutations:
    @strawberry.mutation(
        permission_classes=[Anyone],
        description="Staff login by email and password; with MFA on, the first of two steps.",
    )
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        async def action() -> dict:
            result = await authentication.log_in_staff(
                info.context.session_policy, info.context.client, input.email, input.password
            )
            return login_payload(info, result)

        return await payload_or_errors(LoginPayload, action)

    @strawberry.mutation(
        permission_classes=[Anyone],
        description="Portal contact login by portal name, email and password; with MFA on, "
        "the first of two steps.",
    )
    async def portal_login(self, info: Info, input: PortalLoginInput) -> LoginPayload:
        async def action() -> dict:
            result = await authentication.log_in_contact(
                info.context.session_policy,
                info.context.client,
                input.portal_name,
                input.email,
                input.password,
            )
            return login_payload(info, result)

        return await payload_or_errors(LoginPayload, action)

    @strawberry.mutation(permission_classes=[IsPerson], description="Ends this session.")
    async def logout(self, info: Info) -> LogoutPayload:
        async def action() -> dict:
            await authentication.log_out(info.context.principal)  # type: ignore[arg-type]
            info.context.response.delete_cookie(SESSION_COOKIE, path="/")
            return {}

        return await payload_or_errors(LogoutPayload, action)

    @strawberry.mutation(
        permission_classes=[IsPerson], description="Also ends the viewer's other sessions."
    )
    async def change_password(
        self, info: Info, input: ChangePasswordInput
    ) -> ChangePasswordPayload:
        async def action() -> dict:
            await authentication.change_password(
                info.context.principal,  # type: ignore[arg-type]
                input.current_password,
                input.new_password,
            )
            return {}

        return await payload_or_errors(ChangePasswordPayload, action)
