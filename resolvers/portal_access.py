"""Who may use the customer portal: invitations, self sign-up, password reset, disabling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auth import one_time_tokens, passwords, rate_limit
from auth.one_time_tokens import TokenProblem, TokenRefused
from auth.principals import ContactPrincipal, StaffPrincipal
from auth.scoping import scoped
from auth.sessions import SessionPolicy, end_sessions_of
from models.activity import ActivityKind
from models.customers import ContactPerson, Customer, PortalAccess
from models.organizations import Organization
from models.tokens import OneTimeToken, TokenPurpose
from resolvers import activity, links, portal_features, transactions
from resolvers.activity import announce_access_change
from resolvers.authentication import Client, LoginResult, after_password, check_new_password
from resolvers.email import enqueue_email
from resolvers.errors import ErrorCode, Rejected, UserError, reject
from resolvers.preferences import preferences_for
from resolvers.validation import Checker, normalize_email

SIGN_UPS_PER_EMAIL = rate_limit.Limit("sign-up-email", max_failures=3, window=rate_limit.HOUR)
RESETS_PER_EMAIL = rate_limit.Limit("reset-email", max_failures=3, window=rate_limit.HOUR)
REQUESTS_PER_ADDRESS = rate_limit.Limit("email-requests", max_failures=20, window=rate_limit.HOUR)

_TOKEN_ERRORS = {
    TokenProblem.INVALID: (ErrorCode.TOKEN_INVALID, "This link is not valid."),
    TokenProblem.USED: (ErrorCode.TOKEN_USED, "This link has already been used."),
    TokenProblem.EXPIRED: (ErrorCode.TOKEN_EXPIRED, "This link has expired. Ask for a new one."),
    # A reset or sign-up link replaced by a newer request keeps the code it always had.
    TokenProblem.REPLACED: (
        ErrorCode.TOKEN_USED,
        "A newer link was sent since. Use the link in the latest email.",
    ),
}
# An invitation sent again: the contact holding the old email is told where to look.
_INVITATION_REPLACED = (
    ErrorCode.INVITATION_REPLACED,
    "This invitation was replaced by a newer one. Use the link in the latest invitation email.",
)


@dataclass(frozen=True)
class BulkResult:
    customer_id: int
    contact: ContactPerson | None
    error: UserError | None


# Staff side


async def enable_portal_access(
    principal: StaffPrincipal, contact_ids: list[int]
) -> list[ContactPerson]:
    """Invites each contact; all or nothing. Contacts with access already are left as they are."""
    await _refuse_while_portal_off(principal.organization_id)
    contacts = await _contacts(principal, contact_ids)
    missing = [
        UserError(
            ErrorCode.NO_EMAIL, f"{c.display_name} has no email address.", ("contactIds", str(i))
        )
        for i, c in enumerate(contacts)
        if not c.email
    ]
    if missing:
        raise Rejected(missing)
    async with transactions.unit_of_work():
        for contact in contacts:
            if contact.portal_access != PortalAccess.ACTIVE:
                await _invite(principal, contact)
    return contacts


async def reinvite(principal: StaffPrincipal, contact_id: int) -> ContactPerson:
    await _refuse_while_portal_off(principal.organization_id)
    [contact] = await _contacts(principal, [contact_id], field="contactId")
    if contact.portal_access == PortalAccess.ACTIVE:
        raise reject(ErrorCode.ALREADY_ACTIVE, "This contact has accepted already.", ["contactId"])
    if contact.portal_access != PortalAccess.INVITED:
        raise reject(ErrorCode.NOT_INVITED, "Enable portal access first.", ["contactId"])
    async with transactions.unit_of_work():
        await _invite(principal, contact)
    return contact


async def bulk_enable(principal: StaffPrincipal, customer_ids: list[int]) -> list[BulkResult]:
    """Invites each customer's primary contact; one customer's failure does not stop the rest.
    While the portal is off nothing is tried: the refusal is the whole answer."""
    await _refuse_while_portal_off(principal.organization_id)
    return [await _enable_primary(principal, customer_id) for customer_id in customer_ids]


async def _enable_primary(principal: StaffPrincipal, customer_id: int) -> BulkResult:
    customer = await scoped(Customer, principal).get_or_none(id=customer_id)
    contact = (
        await ContactPerson.get_or_none(customer_id=customer_id, is_primary=True)
        if customer
        else None
    )
    try:
        if customer is None:
            raise reject(ErrorCode.NOT_FOUND, "Customer not found.")
        if contact is None:
            raise reject(ErrorCode.NO_PRIMARY_CONTACT, "The customer has no primary contact.")
        [contact] = await enable_portal_access(principal, [contact.id])  # as it is now
    except Rejected as refused:
        return BulkResult(customer_id, contact, refused.errors[0])
    return BulkResult(customer_id, contact, None)


async def disable_portal_access(principal: StaffPrincipal, contact_id: int) -> ContactPerson:
    """Takes access away at once: sessions end and open subscriptions are told to stop."""
    [contact] = await _contacts(principal, [contact_id], field="contactId")
    async with transactions.unit_of_work():
        contact.portal_access = PortalAccess.DISABLED
        await contact.save(update_fields=["portal_access", "updated_at"])
        await end_sessions_of(contact_id=contact.id)
        for purpose in (TokenPurpose.INVITATION, TokenPurpose.PASSWORD_RESET):
            await one_time_tokens.revoke_all(purpose, contact_id=contact.id)
        await transactions.after_commit(lambda: announce_access_change(contact.organization_id))
    return contact


async def _refuse_while_portal_off(organization_id: int) -> None:
    """An invitation would send its contact to a portal that answers as if it did not exist."""
    if not (await preferences_for(organization_id)).portal_enabled:
        raise reject(
            ErrorCode.PORTAL_DISABLED,
            "The customer portal is turned off. Turn it on before inviting contacts.",
        )


async def _invite(principal: StaffPrincipal, contact: ContactPerson) -> None:
    contact.portal_access = PortalAccess.INVITED
    contact.invited_at = datetime.now(UTC)
    await contact.save(update_fields=["portal_access", "invited_at", "updated_at"])
    token = await one_time_tokens.issue(
        TokenPurpose.INVITATION, organization_id=contact.organization_id, contact_id=contact.id
    )
    await _email_contact(contact, "portal_invitation", "invitation", token)
    activity.record(
        ActivityKind.CONTACT_INVITED,
        actor=principal,
        organization_id=contact.organization_id,
        customer_id=contact.customer_id,
        data={"contact": contact.email},
    )


async def _contacts(
    principal: StaffPrincipal, contact_ids: list[int], field: str = "contactIds"
) -> list[ContactPerson]:
    found = {c.id: c for c in await scoped(ContactPerson, principal).filter(id__in=contact_ids)}
    missing = [
        UserError(ErrorCode.NOT_FOUND, "Contact person not found.", (field, str(i)))
        for i, contact_id in enumerate(contact_ids)
        if contact_id not in found
    ]
    if missing:
        raise Rejected(missing)
    return [found[contact_id] for contact_id in contact_ids]


# Portal side


async def accept_invitation(
    policy: SessionPolicy, client: Client, token: str, password: str
) -> LoginResult:
    row = await _usable(TokenPurpose.INVITATION, token)
    contact = await ContactPerson.get(id=row.contact_id)
    check_new_password(password, contact.email, contact.display_name, field="password")
    password_hash = await passwords.hash_password(password)
    async with transactions.unit_of_work():
        await _use(TokenPurpose.INVITATION, token)
        await _activate(contact, password_hash, ActivityKind.INVITE_ACCEPTED)
    return await _log_in(policy, client, contact)


async def sign_up(client: Client, portal_name: str, data: dict[str, Any]) -> None:
    """The same answer whatever the email: the inbox tells its owner what happens next."""
    organization = await _organization(portal_name)
    await portal_features.require(portal_features.SIGN_UP, organization.id)
    details = _sign_up_details(data)
    await _count_request(SIGN_UPS_PER_EMAIL, f"{organization.id}:{details['email']}", client)
    existing = await ContactPerson.get_or_none(
        organization_id=organization.id, email=details["email"]
    )
    async with transactions.unit_of_work():
        if existing is not None and existing.portal_access == PortalAccess.ACTIVE:
            await _email_contact(existing, "account_exists", "login", "")
        elif existing is None or existing.portal_access != PortalAccess.DISABLED:
            token = await one_time_tokens.issue(
                TokenPurpose.EMAIL_VERIFICATION,
                organization_id=organization.id,
                contact_id=existing.id if existing else None,
                data=details,
            )
            name = f"{details['first_name']} {details['last_name']}".strip()
            await _email(organization, details["email"], name, details["language"],
                         "email_verification", "verify-email", token,
                         existing.id if existing else None)  # fmt: skip


async def complete_sign_up(
    policy: SessionPolicy, client: Client, token: str, password: str
) -> LoginResult:
    row = await _usable(TokenPurpose.EMAIL_VERIFICATION, token)
    details = row.data
    name = f"{details['first_name']} {details['last_name']}"
    check_new_password(password, details["email"], name, field="password")
    password_hash = await passwords.hash_password(password)
    async with transactions.unit_of_work():
        await _use(TokenPurpose.EMAIL_VERIFICATION, token)
        contact = await _contact_for_sign_up(row)
        await _activate(contact, password_hash, ActivityKind.SIGNED_UP)
    return await _log_in(policy, client, contact)


async def _activate(contact: ContactPerson, password_hash: str, kind: ActivityKind) -> None:
    """The emailed link proved the address: the contact may now use the portal. The password is
    hashed before the transaction, which would otherwise hold the database while it runs."""
    contact.password_hash = password_hash
    contact.portal_access = PortalAccess.ACTIVE
    contact.accepted_at = datetime.now(UTC)
    await contact.save(update_fields=["password_hash", "portal_access", "accepted_at"])
    activity.record(
        kind,
        actor=ContactPrincipal(contact),
        organization_id=contact.organization_id,
        customer_id=contact.customer_id,
    )


async def _contact_for_sign_up(row: OneTimeToken) -> ContactPerson:
    if row.contact_id is not None:
        return await ContactPerson.get(id=row.contact_id)
    details = row.data
    organization = await Organization.get(id=row.organization_id)
    taken = await ContactPerson.get_or_none(organization_id=organization.id, email=details["email"])
    if taken is not None:  # the address became a contact since the sign-up started
        return taken
    name = f"{details['first_name']} {details['last_name']}".strip()
    customer = await Customer.create(
        organization=organization,
        display_name=details["company_name"] or name,
        company_name=details["company_name"],
        email=details["email"],
        currency=organization.base_currency,
        portal_language=details["language"],
    )
    return await ContactPerson.create(
        organization=organization,
        customer=customer,
        first_name=details["first_name"],
        last_name=details["last_name"],
        email=details["email"],
        is_primary=True,
    )


async def request_password_reset(client: Client, portal_name: str, email: str) -> None:
    """The same answer whether or not the address has an account."""
    organization = await _organization(portal_name)
    email = normalize_email(email)
    await _count_request(RESETS_PER_EMAIL, f"{organization.id}:{email}", client)
    contact = await ContactPerson.get_or_none(
        organization_id=organization.id, email=email, portal_access=PortalAccess.ACTIVE
    )
    if contact is None:
        return
    async with transactions.unit_of_work():
        token = await one_time_tokens.issue(
            TokenPurpose.PASSWORD_RESET, organization_id=organization.id, contact_id=contact.id
        )
        await _email_contact(contact, "password_reset", "reset-password", token)


async def reset_password(
    policy: SessionPolicy, client: Client, token: str, password: str
) -> LoginResult:
    row = await _usable(TokenPurpose.PASSWORD_RESET, token)
    contact = await ContactPerson.get(id=row.contact_id)
    check_new_password(password, contact.email, contact.display_name, field="password")
    if contact.portal_access != PortalAccess.ACTIVE:
        raise reject(*_TOKEN_ERRORS[TokenProblem.INVALID], ["token"])
    password_hash = await passwords.hash_password(password)
    async with transactions.unit_of_work():
        await _use(TokenPurpose.PASSWORD_RESET, token)
        contact.password_hash = password_hash
        await contact.save(update_fields=["password_hash"])
        await end_sessions_of(contact_id=contact.id)
        await transactions.after_commit(lambda: announce_access_change(contact.organization_id))
    return await _log_in(policy, client, contact)


# Helpers


async def _usable(purpose: TokenPurpose, token: str) -> OneTimeToken:
    """The token's row, if its link may be used now. While the portal is off, every link into
    it is answered as one that does not exist; the token is left, to work once it is back on."""
    try:
        row = await one_time_tokens.check(purpose, token)
    except TokenRefused as refused:
        raise _token_refusal(purpose, refused) from refused
    if not (await preferences_for(row.organization_id)).portal_enabled:
        raise reject(*_TOKEN_ERRORS[TokenProblem.INVALID], ["token"])
    return row


async def _use(purpose: TokenPurpose, token: str) -> None:
    try:
        await one_time_tokens.consume(purpose, token)
    except TokenRefused as refused:
        raise _token_refusal(purpose, refused) from refused


def _token_refusal(purpose: TokenPurpose, refused: TokenRefused) -> Rejected:
    if purpose == TokenPurpose.INVITATION and refused.problem == TokenProblem.REPLACED:
        return reject(*_INVITATION_REPLACED, ["token"])
    return reject(*_TOKEN_ERRORS[refused.problem], ["token"])


async def _log_in(policy: SessionPolicy, client: Client, contact: ContactPerson) -> LoginResult:
    """A link proved the email, the new password is set: log in as a password would, so MFA
    still asks for its code. Accepting an invitation or a sign-up is the first login."""
    if contact.last_login_at is None:
        contact.last_login_at = datetime.now(UTC)
        await contact.save(update_fields=["last_login_at"])
    return await after_password(policy, client, contact)


async def _organization(portal_name: str) -> Organization:
    """The open portal of this name; one turned off is answered as one that does not exist."""
    organization = await Organization.get_or_none(portal_name=portal_name.strip().lower())
    if organization is None or not (await preferences_for(organization.id)).portal_enabled:
        raise reject(ErrorCode.NOT_FOUND, "No portal has this name.", ["portalName"])
    return organization


async def _count_request(limit: rate_limit.Limit, subject: str, client: Client) -> None:
    """Emails on request are rate-limited by address and by client, so nobody floods an inbox."""
    if await rate_limit.reserve((limit, subject), (REQUESTS_PER_ADDRESS, client.address)) is None:
        raise reject(ErrorCode.RATE_LIMITED, "Too many requests. Try again later.")


def _sign_up_details(data: dict[str, Any]) -> dict[str, str]:
    checker = Checker()
    details = {
        "email": checker.email(data.get("email"), ["email"], required=True),
        "first_name": checker.text(data.get("first_name"), ["firstName"], max_length=100),
        "last_name": checker.text(data.get("last_name"), ["lastName"], max_length=100),
        "company_name": checker.text(data.get("company_name"), ["companyName"], max_length=200),
        "language": checker.language(data.get("language") or "en", ["language"]),
    }
    if not (details["first_name"] or details["last_name"]):
        checker.add(ErrorCode.REQUIRED, "Give a first or last name.", ["firstName"])
    checker.raise_if_any()
    return details


async def _email_contact(contact: ContactPerson, template: str, action: str, token: str) -> None:
    organization = await Organization.get(id=contact.organization_id)
    customer = await Customer.get(id=contact.customer_id)
    await _email(organization, contact.email, contact.display_name, customer.portal_language,
                 template, action, token, contact.id)  # fmt: skip


async def _email(
    organization: Organization,
    to: str,
    name: str,
    language: str,
    template: str,
    action: str,
    token: str,
    contact_id: int | None,
) -> None:
    site = links.current()
    link = (
        site.portal_action(organization.portal_name, action, token)
        if token
        else site.portal(organization.portal_name)
    )
    await enqueue_email(
        to=to,
        template=template,
        context={"organization_name": organization.name, "contact_name": name, "link": link},
        language=language,
        organization_id=organization.id,
        reply_to=organization.email,
        contact_id=contact_id,
    )
