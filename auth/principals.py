"""Who is asking: anonymous, a staff user, a portal contact, or a partner API key."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from babel import Locale, UnknownLocaleError

from models.api_keys import ApiKey
from models.customers import ContactPerson, Customer
from models.organizations import Organization
from models.staff import StaffRole, StaffUser


@dataclass(frozen=True)
class Anonymous:
    organization_id: None = None


@dataclass(frozen=True)
class StaffPrincipal:
    user: StaffUser
    session_id: int | None = None

    @property
    def organization_id(self) -> int:
        return self.user.organization_id

    @property
    def is_admin(self) -> bool:
        return self.user.role == StaffRole.ADMIN


@dataclass(frozen=True)
class ContactPrincipal:
    contact: ContactPerson
    session_id: int | None = None
    # The organization requires MFA and this contact has not set it up: the session may only
    # enroll (set per request, when the session is resolved).
    mfa_enrollment_required: bool = False

    @property
    def organization_id(self) -> int:
        return self.contact.organization_id

    @property
    def customer_id(self) -> int:
        return self.contact.customer_id


@dataclass(frozen=True)
class PartnerPrincipal:
    api_key: ApiKey
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def organization_id(self) -> int:
        return self.api_key.organization_id

    @property
    def customer_id(self) -> int | None:
        """The one customer a customer-scoped key reads; None: the whole organization."""
        return self.api_key.customer_id


Principal = Anonymous | StaffPrincipal | ContactPrincipal | PartnerPrincipal


def portal_customer_of(principal: Principal) -> int | None:
    """The customer whose portal view the principal gets: a contact's own, or a customer-scoped
    key's. None: the principal sees the business's side (staff, organization-wide keys)."""
    match principal:
        case ContactPrincipal():
            return principal.customer_id
        case PartnerPrincipal():
            return principal.customer_id
    return None


async def organization_of(principal: Principal) -> Organization | None:
    if principal.organization_id is None:
        return None
    return await Organization.get_or_none(id=principal.organization_id)


def locale_of(principal: Principal, organization: Organization | None) -> str:
    """The language a principal reads amounts in. A contact reads its customer's portal
    language, the one its emails and PDFs are written in; staff and partner keys read the
    organization's locale, which staff emails use too (staff have no language of their own)."""
    language = "en"
    if isinstance(principal, ContactPrincipal):
        customer = principal.contact.customer
        if isinstance(customer, Customer):  # read along with the session
            language = customer.portal_language
    elif organization is not None:
        language = organization.locale
    return _known_locale(language)


@functools.cache
def _known_locale(name: str) -> str:
    # Stored as typed ("en-US" too); one that babel does not know formats as English.
    try:
        return str(Locale.parse(name.strip().replace("-", "_")))
    except (ValueError, TypeError, UnknownLocaleError):
        return "en"
