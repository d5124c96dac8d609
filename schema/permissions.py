"""Permission classes declared next to the fields they guard. Each says who passes it, and
every root field's description ends with that sentence (`describe_callers`), so the SDL says
who may call each field and cannot drift from what is checked."""

from __future__ import annotations

from typing import Any, ClassVar

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
    # Who passes, as the end of "Who may call: ..."
    who: ClassVar[str]

    def deny(self, info: Info) -> bool:
        if isinstance(info.context.principal, Anonymous):
            raise Unauthenticated()
        raise Forbidden(self.message)


class Anyone(_Permission):
    """Declares a field public: the login page and links sent by email call these."""

    who = "anyone, without logging in."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return True


class IsAuthenticated(_Permission):
    who = (
        "staff users, portal contacts and API keys (a key needs the scope of the rows it "
        "reads); each sees only its own rows."
    )

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return not isinstance(info.context.principal, Anonymous) or self.deny(info)


class IsStaff(_Permission):
    message = "Only staff users can do this."
    who = "staff users (ADMIN or STAFF)."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return isinstance(info.context.principal, StaffPrincipal) or self.deny(info)


class IsAdmin(_Permission):
    message = "Only administrators can do this."
    who = "administrators (staff role ADMIN)."

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
    who = "staff users and organization-wide API keys; portal contacts and customer-scoped keys "
    "get FORBIDDEN."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return _business_side(info.context.principal) or self.deny(info)


class IsStaffPartnerOrSelf(_Permission):
    """A contact person's own login state: business-internal, except to that contact."""

    message = (
        "Portal contacts can read this only about themselves, customer-scoped keys not at all."
    )
    who = "staff users, organization-wide API keys and the contact itself."

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
    who = "staff users and portal contacts; API keys get FORBIDDEN."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        return isinstance(principal, StaffPrincipal | ContactPrincipal) or self.deny(info)


class IsContact(_Permission):
    message = "Only portal contacts can do this."
    who = "portal contacts."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return isinstance(info.context.principal, ContactPrincipal) or self.deny(info)


def describe_callers(*root_types: type) -> None:
    """Ends each root field's description with who may call it, from its permission classes."""
    for root_type in root_types:
        for field in root_type.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            if not field.permission_classes:
                raise TypeError(f"{field.name} does not declare who may call it")
            sentence = "Who may call: " + " Also: ".join(
                permission.who for permission in field.permission_classes
            )
            field.description = " ".join(filter(None, (field.description, sentence)))
