"""Multi-factor authentication: enrolling, the second login step, resets by staff, and the two
rules around them (one login step per operation; enrollment first where it is required)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
    get_named_type,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from auth.errors import MfaEnrollmentRequired
from auth.principals import ContactPrincipal
from resolvers import authentication, mfa
from schema.authentication import LoginPayload, login_payload
from schema.context import Info
from schema.customers import ContactPerson
from schema.errors import UserError, payload_or_errors
from schema.permissions import Anyone, IsAdmin, IsPerson, IsStaff
from schema.relay import decode_id
from schema.staff import StaffUser


@strawberry.type
class StartMfaEnrollmentPayload:
    secret: str | None = strawberry.field(
        default=None, description="The base32 secret, for typing into an app by hand."
    )
    otpauth_uri: str | None = strawberry.field(
        default=None, description="The `otpauth://` URI that authenticator apps read."
    )
    qr_code_svg: str | None = strawberry.field(
        default=None, description="The URI as a QR code: an SVG document."
    )
    errors: list[UserError]


@strawberry.input
class MfaCodeInput:
    code: str = strawberry.field(description="The 6-digit code the authenticator app shows.")


@strawberry.input
class MfaCodeOrRecoveryCodeInput:
    code: str = strawberry.field(description="A 6-digit code from the app, or a recovery code.")


@strawberry.type
class RecoveryCodesPayload:
    recovery_codes: list[str] | None = strawberry.field(
        default=None,
        description="Ten single-use codes for when the app is not at hand. Shown only now.",
    )
    errors: list[UserError]


@strawberry.type
class DisableMfaPayload:
    errors: list[UserError]


@strawberry.input
class ResetContactMfaInput:
    contact_id: strawberry.ID


@strawberry.type
class ResetContactMfaPayload:
    contact_person: ContactPerson | None = None
    errors: list[UserError]


@strawberry.input
class ResetStaffMfaInput:
    staff_user_id: strawberry.ID


@strawberry.type
class ResetStaffMfaPayload:
    staff_user: StaffUser | None = None
    errors: list[UserError]


@strawberry.input
class VerifyMfaInput:
    mfa_token: str = strawberry.field(description="`mfaToken` from `login` or `portalLogin`.")
    code: str = strawberry.field(description="A 6-digit code from the app, or a recovery code.")


@strawberry.type
class MfaMutations:
    @strawberry.mutation(
        permission_classes=[IsPerson],
        description="Begins setting up an authenticator app for the viewer (replacing one "
        "begun before). MFA is on once `confirmMfaEnrollment` gets a code from the app.",
    )
    async def start_mfa_enrollment(self, info: Info) -> StartMfaEnrollmentPayload:
        async def action() -> dict:
            enrollment = await mfa.start_enrollment(info.context.principal)  # type: ignore[arg-type]
            return {
                "secret": enrollment.secret,
                "otpauth_uri": enrollment.otpauth_uri,
                "qr_code_svg": enrollment.qr_code_svg,
            }

        return await payload_or_errors(StartMfaEnrollmentPayload, action)

    @strawberry.mutation(
        permission_classes=[IsPerson],
        description="Turns MFA on with a first code from the app and returns the recovery "
        "codes; the viewer's other sessions end.",
    )
    async def confirm_mfa_enrollment(self, info: Info, input: MfaCodeInput) -> RecoveryCodesPayload:
        async def action() -> dict:
            codes = await mfa.confirm_enrollment(info.context.principal, input.code)  # type: ignore[arg-type]
            return {"recovery_codes": codes}

        return await payload_or_errors(RecoveryCodesPayload, action)

    @strawberry.mutation(
        permission_classes=[IsPerson],
        description="New recovery codes for the viewer; the old ones stop working.",
    )
    async def regenerate_recovery_codes(
        self, info: Info, input: MfaCodeOrRecoveryCodeInput
    ) -> RecoveryCodesPayload:
        async def action() -> dict:
            codes = await mfa.regenerate_recovery_codes(info.context.principal, input.code)  # type: ignore[arg-type]
            return {"recovery_codes": codes}

        return await payload_or_errors(RecoveryCodesPayload, action)

    @strawberry.mutation(
        permission_classes=[IsPerson],
        description="Turns the viewer's MFA off; not while the organization requires it of "
        "portal contacts. The viewer's other sessions end.",
    )
    async def disable_mfa(self, info: Info, input: MfaCodeOrRecoveryCodeInput) -> DisableMfaPayload:
        async def action() -> dict:
            await mfa.disable(info.context.principal, input.code)  # type: ignore[arg-type]
            return {}

        return await payload_or_errors(DisableMfaPayload, action)

    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="For a contact who lost the authenticator: MFA off, its sessions end, the "
        "password alone logs it in (until it enrolls again, when the organization requires it).",
    )
    async def reset_contact_mfa(
        self, info: Info, input: ResetContactMfaInput
    ) -> ResetContactMfaPayload:
        async def action() -> dict:
            row = await mfa.reset_contact(
                info.context.staff, decode_id(input.contact_id, ContactPerson)
            )
            return {"contact_person": ContactPerson.from_row(row)}

        return await payload_or_errors(ResetContactMfaPayload, action)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="For another staff user who lost the authenticator: MFA off, their "
        "sessions end.",
    )
    async def reset_staff_mfa(self, info: Info, input: ResetStaffMfaInput) -> ResetStaffMfaPayload:
        async def action() -> dict:
            row = await mfa.reset_staff_user(
                info.context.staff, decode_id(input.staff_user_id, StaffUser)
            )
            return {"staff_user": StaffUser.from_row(row)}

        return await payload_or_errors(ResetStaffMfaPayload, action)

    @strawberry.mutation(
        permission_classes=[Anyone],
        description="The second login step: a code for the `mfaToken` of `login` or "
        "`portalLogin` starts the session. Wrong codes are limited per account.",
    )
    async def verify_mfa(self, info: Info, input: VerifyMfaInput) -> LoginPayload:
        async def action() -> dict:
            result = await authentication.verify_mfa(
                info.context.session_policy, info.context.client, input.mfa_token, input.code
            )
            return login_payload(info, result)

        return await payload_or_errors(LoginPayload, action)


# --- Rules ----------------------------------------------------------------------------------

# What a session that must enroll first may ask for (introspection aside).
ALLOWED_BEFORE_ENROLLMENT = frozenset(
    {"viewer", "logout", "portalHome", "startMfaEnrollment", "confirmMfaEnrollment"}
)
# Root fields returning this type start a session: login, portalLogin, verifyMfa and the like.
SESSION_START_TYPE = "LoginPayload"


def root_fields(
    operation: OperationDefinitionNode,
    fragment: Callable[[str], FragmentDefinitionNode | None],
) -> list[FieldNode]:
    """The operation's top-level fields, through fragments, as written (aliases count twice)."""
    found: list[FieldNode] = []
    seen: set[str] = set()

    def walk(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                definition = fragment(selection.name.value)
                if definition is not None:
                    walk(definition.selection_set)

    walk(operation.selection_set)
    return found


class SessionStartAlone(ValidationRule):
    """A mutation that starts a session (`login`, `portalLogin`, `verifyMfa`, ...) stands alone
    in its operation. Aliases would otherwise put many guesses of a password or an MFA code into
    one request, past the per-request view of the rate limits; and fields after a login would
    run as the new session before anything has checked what that session may do."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
        if node.operation != OperationType.MUTATION:
            return
        mutation_type = self.context.schema.mutation_type
        if mutation_type is None:
            return
        fields = [
            field
            for field in root_fields(node, self.context.get_fragment)
            if field.name.value != "__typename"
        ]
        starting = [field for field in fields if _starts_session(mutation_type, field)]
        if starting and len(fields) > 1:
            names = sorted({field.name.value for field in starting})
            self.report_error(
                GraphQLError(
                    f"Send {' or '.join(names)} alone: one login step per operation.",
                    fields,
                )
            )


def _starts_session(mutation_type: object, field: FieldNode) -> bool:
    definition = getattr(mutation_type, "fields", {}).get(field.name.value)
    if definition is None:
        return False
    named: GraphQLNamedType = get_named_type(definition.type)
    return named.name == SESSION_START_TYPE


class MfaEnrollmentGate(SchemaExtension):
    """While the organization requires MFA and the contact has none, its session can only
    enroll: any other root field refuses the whole operation with MFA_ENROLLMENT_REQUIRED.

    One check per operation, before execution, instead of one in every resolver."""

    def on_execute(self) -> Iterator[None]:
        execution_context = self.execution_context
        principal = getattr(execution_context.context, "principal", None)
        document = execution_context.graphql_document
        if (
            isinstance(principal, ContactPrincipal)
            and principal.mfa_enrollment_required
            and document is not None
        ):
            operation = get_operation_ast(document, execution_context.operation_name)
            if operation is not None:
                schema = execution_context.schema._schema
                _refuse_unless_enrolling(operation, document.definitions, schema)
        yield


def _refuse_unless_enrolling(
    operation: OperationDefinitionNode, definitions: object, schema: GraphQLSchema
) -> None:
    fragments = {
        definition.name.value: definition
        for definition in definitions  # type: ignore[attr-defined]
        if isinstance(definition, FragmentDefinitionNode)
    }
    # A login (alone in its operation: SessionStartAlone) replaces the restricted session.
    mutations = schema.mutation_type if operation.operation == OperationType.MUTATION else None
    refused = [
        field
        for field in root_fields(operation, fragments.get)
        if not field.name.value.startswith("__")
        and field.name.value not in ALLOWED_BEFORE_ENROLLMENT
        and not (mutations is not None and _starts_session(mutations, field))
    ]
    if refused:
        names = ", ".join(sorted({field.name.value for field in refused}))
        raise MfaEnrollmentRequired(
            f"Set up multi-factor authentication first: the organization requires it "
            f"({names} is not available until then)."
        )
