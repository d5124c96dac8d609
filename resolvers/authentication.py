"""Logging in and out, and changing one's password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from auth import passwords, rate_limit
from auth.principals import ContactPrincipal, StaffPrincipal
from auth.sessions import SessionPolicy, end_session, end_sessions_of, start_session
from models.activity import ActivityKind
from models.customers import ContactPerson, PortalAccess
from models.organizations import Organization
from models.staff import StaffUser
from resolvers import activity, transactions
from resolvers.activity import announce_access_change
from resolvers.errors import ErrorCode, reject
from resolvers.validation import normalize_email

_WRONG_CREDENTIALS = "The email address or password is incorrect."


@dataclass(frozen=True)
class Client:
    address: str
    user_agent: str


async def log_in_staff(
    policy: SessionPolicy, client: Client, email: str, password: str
) -> tuple[str, StaffUser]:
    email = normalize_email(email)
    account = f"staff:{email}"
    await _refuse_if_blocked(account, client)
    user = await StaffUser.get_or_none(email=email, is_active=True)
    stored = user.password_hash if user else ""
    if not passwords.verify_password(stored, password) or user is None:
        await _record_failure(account, client)
        raise reject(ErrorCode.INVALID_CREDENTIALS, _WRONG_CREDENTIALS)
    await _after_success(user, account, password)
    token, _ = await start_session(
        policy, staff_user=user, client_address=client.address, user_agent=client.user_agent
    )
    return token, user


async def log_in_contact(
    policy: SessionPolicy, client: Client, portal_name: str, email: str, password: str
) -> tuple[str, ContactPerson]:
    email = normalize_email(email)
    portal_name = portal_name.strip().lower()
    account = f"contact:{portal_name}:{email}"
    await _refuse_if_blocked(account, client)
    contact = await ContactPerson.get_or_none(
        organization__portal_name=portal_name, email=email, portal_access=PortalAccess.ACTIVE
    )
    stored = contact.password_hash if contact else ""
    if not passwords.verify_password(stored, password) or contact is None:
        await _record_failure(account, client)
        raise reject(ErrorCode.INVALID_CREDENTIALS, _WRONG_CREDENTIALS)
    first_time = contact.last_login_at is None
    async with transactions.unit_of_work():
        await _after_success(contact, account, password)
        if first_time:
            activity.record(
                ActivityKind.FIRST_LOGIN,
                actor=ContactPrincipal(contact),
                organization_id=contact.organization_id,
                customer_id=contact.customer_id,
            )
    token, _ = await start_session(
        policy, contact=contact, client_address=client.address, user_agent=client.user_agent
    )
    return token, contact


async def log_out(principal: StaffPrincipal | ContactPrincipal) -> None:
    if principal.session_id is not None:
        await end_session(principal.session_id)
        await announce_access_change(principal.organization_id)


async def change_password(
    principal: StaffPrincipal | ContactPrincipal, current_password: str, new_password: str
) -> None:
    account = principal.user if isinstance(principal, StaffPrincipal) else principal.contact
    if not passwords.verify_password(account.password_hash, current_password):
        raise reject(
            ErrorCode.INVALID_CREDENTIALS, "The current password is incorrect.", ["currentPassword"]
        )
    check_new_password(new_password, account.email, _name_of(account))
    account.password_hash = passwords.hash_password(new_password)
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


async def _refuse_if_blocked(account: str, client: Client) -> None:
    if await rate_limit.is_blocked(rate_limit.LOGIN_PER_ACCOUNT, account) or (
        await rate_limit.is_blocked(rate_limit.LOGIN_PER_ADDRESS, client.address)
    ):
        raise reject(
            ErrorCode.RATE_LIMITED, "Too many failed attempts. Try again in a few minutes."
        )


async def _record_failure(account: str, client: Client) -> None:
    await rate_limit.record_failure(rate_limit.LOGIN_PER_ACCOUNT, account)
    await rate_limit.record_failure(rate_limit.LOGIN_PER_ADDRESS, client.address)


async def _after_success(account: StaffUser | ContactPerson, key: str, password: str) -> None:
    await rate_limit.clear_failures(rate_limit.LOGIN_PER_ACCOUNT, key)
    account.last_login_at = datetime.now(UTC)
    update_fields = ["last_login_at"]
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
        update_fields.append("password_hash")
    await account.save(update_fields=update_fields)


async def organization_by_portal_name(portal_name: str) -> Organization | None:
    return await Organization.get_or_none(portal_name=portal_name.strip().lower())
