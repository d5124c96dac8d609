"""Permission classes declared next to the fields they guard."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from auth.errors import Forbidden, Unauthenticated
from auth.principals import (
    Anonymous,
    ContactPrincipal,
    PartnerPrincipal,
    Principal,
    StaffPrincipal,
    portal_customer_of,
)
from schema.context import Info

STAFF_ONLY = (
    "Internal: staff users and organization-wide partner keys only; portal contacts and "
    "customer-scoped keys get FORBIDDEN."
)
STAFF_OR_SELF = (
    "Internal: staff users, organization-wide partner keys and the contact itself; other portal "
    "contacts and customer-scoped keys get FORBIDDEN."
)


class _Permission(BasePermission):
    def deny(self, info: Info) -> bool:
        if isinstance(info.context.principal, Anonymous):
            raise Unauthenticated()
        raise Forbidden(self.message)


class IsAuthenticated(_Permission):
    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return not isinstance(info.context.principal, Anonymous) or self.deny(info)


class IsStaff(_Permission):
    message = "Only staff users can do this."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return isinstance(info.context.principal, StaffPrincipal) or self.deny(info)


class IsAdmin(_Permission):
    message = "Only administrators can do this."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        return (isinstance(principal, StaffPrincipal) and principal.is_admin) or self.deny(info)


def _business_side(principal: Principal) -> bool:
    """Staff and organization-wide keys; a customer-scoped key reads as the customer's contacts
    do, so business-internal fields are not for it."""
    return isinstance(principal, StaffPrincipal | PartnerPrincipal) and (
        portal_customer_of(principal) is None
    )


class IsStaffOrPartner(_Permission):
    """For business-internal fields on types portal contacts can also read."""

    message = "Portal contacts and customer-scoped keys cannot read this field."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return _business_side(info.context.principal) or self.deny(info)


class IsStaffPartnerOrSelf(_Permission):
    """A contact person's own login state: business-internal, except to that contact."""

    message = (
        "Portal contacts can read this only about themselves, customer-scoped keys not at all."
    )

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if _business_side(principal):
            return True
        if isinstance(principal, ContactPrincipal) and source.id == principal.contact.id:
            return True
        return self.deny(info)


class IsPerson(_Permission):
    """A logged-in staff user or portal contact; partner keys are read-only."""

    message = "API keys are read-only."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        return isinstance(principal, StaffPrincipal | ContactPrincipal) or self.deny(info)


class IsContact(_Permission):
    message = "Only portal contacts can do this."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return isinstance(info.context.principal, ContactPrincipal) or self.deny(info)
