"""Logging in (password, then the MFA code when the account has a factor) and out, and
changing one's password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from auth import one_time_tokens, passwords, rate_limit
from auth.one_time_tokens import TokenRefused
from auth.principals import ContactPrincipal, StaffPrincipal
from auth.sessions import (
    SessionPolicy,
    end_session,
    end_sessions_of,
    portal_is_open,
    start_session,
)
from models.activity import ActivityKind
from models.customers import ContactPerson, PortalAccess
from models.organizations import Organization
from models.staff import StaffUser
from models.tokens import OneTimeToken, TokenPurpose
from resolvers import activity, calendars, mfa, transactions
from resolvers.activity import announce_access_change
from resolvers.errors import ErrorCode, Rejected, reject
from resolvers.validation import normalize_email

_WRONG_CREDENTIALS = "The email address or password is incorrect."


@dataclass(frozen=True)
class Client:
    address: str
    user_agent: str


@dataclass(frozen=True)
class LoginResult:
    """A session, or (the account has MFA) the challenge that the second step answers."""

    account: StaffUser | ContactPerson
    token: str | None = None
    session_id: int | None = None
    mfa_token: str | None = None
    # The organization requires MFA and the contact has none: the session may only enroll.
    mfa_enrollment_required: bool = False

    @property
    def principal(self) -> StaffPrincipal | ContactPrincipal:
        if isinstance(self.account, StaffUser):
            return StaffPrincipal(self.account, self.session_id)
        return ContactPrincipal(self.account, self.session_id, self.mfa_enrollment_required)


async def log_in_staff(
    policy: SessionPolicy, client: Client, email: str, password: str
) -> LoginResult:
    email = normalize_email(email)
    account = f"staff:{email}"
    attempt = await _reserve_login(account, client)
    user = await StaffUser.get_or_none(email=email, is_active=True)
    stored = user.password_hash if user else ""
    if not await passwords.verify_password(stored, password) or user is None:
        raise reject(ErrorCode.INVALID_CREDENTIALS, _WRONG_CREDENTIALS)
    return await _password_accepted(policy, client, user, account, attempt, password)


async def log_in_contact(
    policy: SessionPolicy, client: Client, portal_name: str, email: str, password: str
) -> LoginResult:
    email = normalize_email(email)
    portal_name = portal_name.strip().lower()
    account = f"contact:{portal_name}:{email}"
    attempt = await _reserve_login(account, client)
    contact = await ContactPerson.get_or_none(
        organization__portal_name=portal_name, email=email, portal_access=PortalAccess.ACTIVE
    ).select_related("organization__portal_preferences")
    if contact is not None and not portal_is_open(contact.organization):
        contact = None  # a portal turned off is answered as one that does not exist
    stored = contact.password_hash if contact else ""
    if not await passwords.verify_password(stored, password) or contact is None:
        raise reject(ErrorCode.INVALID_CREDENTIALS, _WRONG_CREDENTIALS)
    return await _password_accepted(policy, client, contact, account, attempt, password)


async def _password_accepted(
    policy: SessionPolicy,
    client: Client,
    account: StaffUser | ContactPerson,
    key: str,
    attempt: rate_limit.Reservation,
    password: str,
) -> LoginResult:
    # Hashed before the transaction, which would otherwise hold the database while it runs.
    rehashed = None
    if passwords.needs_rehash(account.password_hash):
        rehashed = await passwords.hash_password(password)
    async with transactions.unit_of_work():
        await attempt.release()
        await rate_limit.clear_failures(rate_limit.LOGIN_PER_ACCOUNT, key)
        if rehashed is not None:
            account.password_hash = rehashed
            await account.save(update_fields=["password_hash"])
    return await after_password(policy, client, account)


async def after_password(
    policy: SessionPolicy, client: Client, account: StaffUser | ContactPerson
) -> LoginResult:
    """What a proven password leads to: the MFA challenge when the account has a factor,
    otherwise a session. Every way of logging in with a password goes through here."""
    if await mfa.has_confirmed_factor(account):
        async with transactions.unit_of_work():
            challenge = await one_time_tokens.issue(
                TokenPurpose.MFA_CHALLENGE,
                organization_id=account.organization_id,
                **mfa.owner(account),
            )
        return LoginResult(account, mfa_token=challenge)
    # Read outside the unit of work: it may create the preferences row.
    restricted = await mfa.must_enroll(account)
    return await _start(policy, client, account, mfa_enrollment_required=restricted)


async def verify_mfa(
    policy: SessionPolicy, client: Client, mfa_token: str, code: str
) -> LoginResult:
    """The second step: a code for the challenge from the password step opens the session."""
    challenge = await _challenge(mfa_token)
    account = await _challenged_account(challenge)
    factor = await mfa.confirmed_factor(account)
    if factor is None:  # reset since the password step: the password alone is enough now
        raise _challenge_expired()
    await mfa.prove_possession(account, factor, code)
    try:
        async with transactions.unit_of_work():
            await one_time_tokens.consume(TokenPurpose.MFA_CHALLENGE, mfa_token)
            return await _start(policy, client, account)
    except TokenRefused as refused:
        raise _challenge_expired() from refused


async def _challenge(mfa_token: str) -> OneTimeToken:
    try:
        return await one_time_tokens.check(TokenPurpose.MFA_CHALLENGE, mfa_token or "")
    except TokenRefused as refused:
        raise _challenge_expired() from refused


async def _challenged_account(challenge: OneTimeToken) -> StaffUser | ContactPerson:
    account: StaffUser | ContactPerson | None
    if challenge.staff_user_id is not None:
        account = await StaffUser.get_or_none(id=challenge.staff_user_id, is_active=True)
    else:
        account = await ContactPerson.get_or_none(
            id=challenge.contact_id, portal_access=PortalAccess.ACTIVE
        ).select_related("organization__portal_preferences")
        if account is not None and not portal_is_open(account.organization):
            account = None  # the portal was turned off since the password step
    if account is None:
        raise _challenge_expired()
    return account


def _challenge_expired() -> Rejected:
    return reject(
        ErrorCode.MFA_CHALLENGE_EXPIRED,
        "This login has expired or was already completed. Log in again with your password.",
        ["mfaToken"],
    )


async def _start(
    policy: SessionPolicy,
    client: Client,
    account: StaffUser | ContactPerson,
    *,
    mfa_enrollment_required: bool = False,
) -> LoginResult:
    """The session itself, once every step of the login is done."""
    first_time = account.last_login_at is None
    async with transactions.unit_of_work():
        account.last_login_at = datetime.now(UTC)
        await account.save(update_fields=["last_login_at"])
        if isinstance(account, ContactPerson) and first_time:
            activity.record(
                ActivityKind.FIRST_LOGIN,
                actor=ContactPrincipal(account),
                organization_id=account.organization_id,
                customer_id=account.customer_id,
            )
        owner = {"staff_user": account} if isinstance(account, StaffUser) else {"contact": account}
        token, session = await start_session(
            policy, client_address=client.address, user_agent=client.user_agent, **owner
        )
    await calendars.zone(account.organization_id)  # the rest of the response reads as it
    return LoginResult(
        account,
        token=token,
        session_id=session.id,
        mfa_enrollment_required=mfa_enrollment_required,
    )


async def log_out(principal: StaffPrincipal | ContactPrincipal) -> None:
    if principal.session_id is not None:
        await end_session(principal.session_id)
        await announce_access_change(principal.organization_id)


PASSWORD_CHECKS = rate_limit.Limit("confirm-password", max_failures=5, window=timedelta(minutes=15))


async def confirm_password(principal: StaffPrincipal | ContactPrincipal, password: str) -> None:
    """A signed-in user proves who they are before changing how they log in. Wrong passwords
    are limited, so a stolen session cannot be used to guess the password."""
    if isinstance(principal, StaffPrincipal):
        account, subject = principal.user, f"staff:{principal.user.id}"
    else:
        account, subject = principal.contact, f"contact:{principal.contact.id}"
    attempt = await rate_limit.reserve((PASSWORD_CHECKS, subject))
    if attempt is None:
        raise reject(
            ErrorCode.RATE_LIMITED,
            "Too many wrong passwords. Try again in a few minutes.",
            ["currentPassword"],
        )
    if not await passwords.verify_password(account.password_hash, password):
        raise reject(
            ErrorCode.INVALID_CREDENTIALS, "The current password is incorrect.", ["currentPassword"]
        )
    await attempt.release()


async def change_password(
    principal: StaffPrincipal | ContactPrincipal, current_password: str, new_password: str
) -> None:
    account = principal.user if isinstance(principal, StaffPrincipal) else principal.contact
    await confirm_password(principal, current_password)
    check_new_password(new_password, account.email, _name_of(account))
    account.password_hash = await passwords.hash_password(new_password)
    await account.save(update_fields=["password_hash"])
    owner = {"staff_user_id" if isinstance(account, StaffUser) else "contact_id": account.pk}
    await end_sessions_of(**owner, keep_session_id=principal.session_id)
    await announce_access_change(principal.organization_id)


def check_new_password(password: str, email: str, name: str, field: str = "newPassword") -> None:
    problem = passwords.password_problem(password, email=email, name=name)
    if problem:
        raise reject(ErrorCode.WEAK_PASSWORD, problem, [field])


def _name_of(account: StaffUser | ContactPerson) -> str:
    if isinstance(account, StaffUser):
        return account.name
    return f"{account.first_name}{account.last_name}"


async def _reserve_login(account: str, client: Client) -> rate_limit.Reservation:
    """Counts the login as failed until its password proves right, so no more passwords are
    checked than the limits allow, however many arrive at once."""
    attempt = await rate_limit.reserve(
        (rate_limit.LOGIN_PER_ACCOUNT, account), (rate_limit.LOGIN_PER_ADDRESS, client.address)
    )
    if attempt is None:
        raise reject(
            ErrorCode.RATE_LIMITED, "Too many failed attempts. Try again in a few minutes."
        )
    return attempt


async def organization_by_portal_name(portal_name: str) -> Organization | None:
    return await Organization.get_or_none(portal_name=portal_name.strip().lower())
