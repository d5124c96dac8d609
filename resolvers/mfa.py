"""Multi-factor authentication as people use it: enrolling, proving possession, turning it off,
and staff resetting it for someone who lost their authenticator."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from auth import mfa, one_time_tokens, rate_limit
from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from auth.scoping import scoped
from auth.sessions import end_sessions_of
from models.customers import ContactPerson
from models.mfa import MfaFactor
from models.organizations import Organization
from models.staff import StaffUser
from models.tokens import TokenPurpose
from resolvers import transactions
from resolvers.activity import announce_access_change
from resolvers.errors import ErrorCode, reject
from resolvers.preferences import preferences_for

if TYPE_CHECKING:
    from strawberry.dataloader import DataLoader

    from resolvers.loaders import Loaders

logger = logging.getLogger("portico.mfa")

Account = StaffUser | ContactPerson
# Longer than any recovery code with spaces; anything longer is not worth hashing.
_MAX_CODE_LENGTH = 64


@dataclass(frozen=True)
class Enrollment:
    secret: str
    otpauth_uri: str
    qr_code_svg: str


def owner(account: Account) -> dict[str, int]:
    """The factor's owner column, as keyword arguments for filters and token helpers."""
    if isinstance(account, StaffUser):
        return {"staff_user_id": account.id}
    return {"contact_id": account.id}


def account_of(principal: StaffPrincipal | ContactPrincipal) -> Account:
    return principal.user if isinstance(principal, StaffPrincipal) else principal.contact


async def confirmed_factor(account: Account) -> MfaFactor | None:
    return await MfaFactor.get_or_none(**owner(account), confirmed_at__isnull=False)


async def has_confirmed_factor(account: Account) -> bool:
    return await MfaFactor.filter(**owner(account), confirmed_at__isnull=False).exists()


# --- The organization's requirement ---------------------------------------------------------


async def must_enroll(account: Account) -> bool:
    """A portal contact of an organization that requires MFA, without a factor yet.

    The requirement is a portal preference, so it binds portal contacts only; staff users
    decide for themselves.
    """
    if not isinstance(account, ContactPerson):
        return False
    if not (await preferences_for(account.organization_id)).mfa_required:
        return False
    return not await has_confirmed_factor(account)


async def with_enrollment_state(principal: Principal) -> Principal:
    """The principal of a resolved session, marked when it may do nothing but enroll."""
    if isinstance(principal, ContactPrincipal) and await must_enroll(principal.contact):
        return dataclasses.replace(principal, mfa_enrollment_required=True)
    return principal


# --- Enrollment -----------------------------------------------------------------------------


async def start_enrollment(principal: StaffPrincipal | ContactPrincipal) -> Enrollment:
    """A new secret for the viewer; replaces an enrollment that was started but not confirmed."""
    account = account_of(principal)
    secret = mfa.new_secret()
    async with transactions.unit_of_work():
        await _lock(account)
        factor = await MfaFactor.get_or_none(**owner(account))
        if factor is not None and factor.confirmed_at is not None:
            raise reject(
                ErrorCode.MFA_ALREADY_ENABLED,
                "Multi-factor authentication is already on. Turn it off first to replace it.",
            )
        if factor is not None:
            await factor.delete()
        factor = MfaFactor(organization_id=account.organization_id, **owner(account))
        factor.sealed_secret = mfa.seal(secret, mfa.owner_of(factor))
        await factor.save()
    organization = await Organization.get(id=account.organization_id)
    uri = mfa.provisioning_uri(secret, account.email, organization.name)
    return Enrollment(secret=secret, otpauth_uri=uri, qr_code_svg=mfa.qr_code_svg(uri))


async def confirm_enrollment(principal: StaffPrincipal | ContactPrincipal, code: str) -> list[str]:
    """Turns MFA on with a first code from the app; returns the recovery codes, shown once."""
    account = account_of(principal)
    async with transactions.unit_of_work():
        await _lock(account)
        factor = await MfaFactor.get_or_none(**owner(account))
        if factor is None:
            raise reject(ErrorCode.MFA_NOT_STARTED, "Start setting up multi-factor authentication.")
        if factor.confirmed_at is not None:
            raise reject(ErrorCode.MFA_ALREADY_ENABLED, "Multi-factor authentication is on.")
        # Only the app's codes: this proves the person scanned the secret.
        if not mfa.looks_like_totp(code) or not await mfa.use_totp(factor, code):
            raise reject(ErrorCode.INVALID_CODE, "The code is incorrect.", ["code"])
        factor.confirmed_at = datetime.now(UTC)
        await factor.save(update_fields=["confirmed_at"])
        codes = await mfa.replace_recovery_codes(factor)
        # Sessions opened with the password alone end; this one has just shown the code.
        await end_sessions_of(**owner(account), keep_session_id=principal.session_id)
    await announce_access_change(account.organization_id)
    return codes


async def regenerate_recovery_codes(
    principal: StaffPrincipal | ContactPrincipal, code: str
) -> list[str]:
    account = account_of(principal)
    factor = await _enabled_factor(account)
    await prove_possession(account, factor, code)
    async with transactions.unit_of_work():
        return await mfa.replace_recovery_codes(factor)


async def disable(principal: StaffPrincipal | ContactPrincipal, code: str) -> None:
    account = account_of(principal)
    if (
        isinstance(account, ContactPerson)
        and (await preferences_for(account.organization_id)).mfa_required
    ):
        raise reject(
            ErrorCode.MFA_REQUIRED,
            "Your organization requires multi-factor authentication; it cannot be turned off.",
        )
    factor = await _enabled_factor(account)
    await prove_possession(account, factor, code)
    async with transactions.unit_of_work():
        await _remove(account, keep_session_id=principal.session_id)
    await announce_access_change(account.organization_id)


async def _enabled_factor(account: Account) -> MfaFactor:
    factor = await confirmed_factor(account)
    if factor is None:
        raise reject(ErrorCode.MFA_NOT_ENABLED, "Multi-factor authentication is not on.")
    return factor


# --- Proving possession ---------------------------------------------------------------------


async def prove_possession(account: Account, factor: MfaFactor, code: str) -> None:
    """Accept an app code or a recovery code, each once; wrong codes count against the account.

    Call it outside a unit of work: the attempt's slot must be taken before the code is tried.
    """
    key = limit_subject(account)
    # Counted as wrong until it proves right, so concurrent guesses never pass the limit.
    if await rate_limit.reserve((rate_limit.MFA_PER_ACCOUNT, key)) is None:
        raise reject(
            ErrorCode.RATE_LIMITED, "Too many incorrect codes. Try again in a few minutes."
        )
    code = (code or "")[:_MAX_CODE_LENGTH]
    async with transactions.unit_of_work():
        accepted = await mfa.use_code(factor, code)
    if not accepted:
        raise reject(ErrorCode.INVALID_CODE, "The code is incorrect.", ["code"])
    await rate_limit.clear_failures(rate_limit.MFA_PER_ACCOUNT, key)  # this attempt's slot too


def limit_subject(account: Account) -> str:
    kind = "staff" if isinstance(account, StaffUser) else "contact"
    return f"{kind}:{account.id}"


# --- Staff resets ---------------------------------------------------------------------------


async def reset_contact(principal: StaffPrincipal, contact_id: int) -> ContactPerson:
    """For a contact who lost the authenticator: MFA off, every session of it ends."""
    async with transactions.unit_of_work():
        contact = await scoped(ContactPerson, principal).get_or_none(id=contact_id)
        if contact is None:
            raise reject(ErrorCode.NOT_FOUND, "Contact person not found.", ["contactId"])
        removed = await _remove(contact)
    await _after_reset(principal, contact, removed)
    return contact


async def reset_staff_user(principal: StaffPrincipal, user_id: int) -> StaffUser:
    async with transactions.unit_of_work():
        user = await scoped(StaffUser, principal).get_or_none(id=user_id)
        if user is None:
            raise reject(ErrorCode.NOT_FOUND, "Staff user not found.", ["staffUserId"])
        if user.id == principal.user.id:
            # Without a code, a borrowed session could strip its own account's second factor.
            raise reject(
                ErrorCode.OWN_ACCOUNT,
                "Use disableMfa, with a code, for your own account.",
                ["staffUserId"],
            )
        removed = await _remove(user)
    await _after_reset(principal, user, removed)
    return user


async def _remove(account: Account, keep_session_id: int | None = None) -> bool:
    """Delete the factor (recovery codes go with it) and end the account's other sessions."""
    removed = await MfaFactor.filter(**owner(account)).delete()
    if removed:
        await end_sessions_of(**owner(account), keep_session_id=keep_session_id)
        await one_time_tokens.revoke_all(TokenPurpose.MFA_CHALLENGE, **owner(account))
    return bool(removed)


async def _after_reset(principal: StaffPrincipal, account: Account, removed: bool) -> None:
    if not removed:
        return
    logger.info(
        "Staff user %s reset the MFA of %s %s",
        principal.user.id,
        type(account).__name__,
        account.id,
    )
    await announce_access_change(account.organization_id)


async def _lock(account: Account) -> None:
    """Serialize enrollment changes of one account (PostgreSQL; SQLite runs one writer)."""
    await type(account).select_for_update().filter(id=account.id).first()


# --- Reading --------------------------------------------------------------------------------


def enabled_loader(loaders: Loaders, account_type: type[Account]) -> DataLoader[int, bool]:
    """Whether each account (of ids the caller could already see) has MFA on, batched."""
    column = "staff_user_id" if account_type is StaffUser else "contact_id"
    return loaders.keyed(("mfa-enabled", column), partial(_enabled, column))


async def _enabled(column: str, ids: Sequence[int]) -> list[bool]:
    owners = await MfaFactor.filter(
        **{f"{column}__in": list(ids)}, confirmed_at__isnull=False
    ).values_list(column, flat=True)
    enabled = set(owners)
    return [account_id in enabled for account_id in ids]
