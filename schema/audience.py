"""Who sees live activity alike: principals with the same audience get the same answer, field
for field, for any event of any `portalActivity` document, so they may share one execution.

The audience holds everything a field reachable from `Edge[Activity]` reads of the viewer:

- the organization and the principal's kind: every row is scoped by both
  (`auth.scoping.conditions`), and `IsStaff` and `IsStaffOrPartner` guard fields by kind;
- a contact's customer: its rows are the customer's;
- the contact itself, when the document selects a field that answers per contact
  (ANSWERS_PER_CONTACT: `ContactPerson.mfaEnabled` and `.portal`, `IsStaffPartnerOrSelf`,
  answers only about the contact itself); otherwise the contacts of one customer are one
  audience. A contact's portal switches read the organization's preferences and its
  customer's `allow_ach`, both within the audience;
- a partner key's scopes: `Customer` and `ContactPerson` need customers:read, shared files
  documents:read; and a customer-scoped key's customer: its rows are the customer's, and
  `IsStaffOrPartner` refuses it;
- a staff user's role: no field reachable today reads it, but `IsAdmin` and admin-only models
  would, and it splits an organization's staff into two audiences at most.

Not in it, because no such field reads it: the staff user or API key itself (no reachable model
has rows of their own), a contact's pending MFA enrollment (refused per subscriber before
anything runs), the session, and the connection (request headers, client address). The portal
preferences and `PORTICO_PUBLIC_URL` that some fields read are the organization's and the
process's, the same for every viewer at the moment of the event. A test lists every field
reachable from the subscription with its permission classes, so a new one gets reviewed here.
"""

from __future__ import annotations

from collections.abc import Hashable

from auth.principals import ContactPrincipal, PartnerPrincipal, Principal, StaffPrincipal

# Names of the fields whose answer depends on which contact asks. Matched by name on any type,
# which can only split an audience more than needed.
ANSWERS_PER_CONTACT = frozenset({"mfaEnabled", "portal"})


def audience_of(principal: Principal, *, per_contact: bool = True) -> Hashable:
    """`per_contact`: whether the document selects one of ANSWERS_PER_CONTACT."""
    match principal:
        case StaffPrincipal():
            return ("staff", principal.organization_id, principal.user.role)
        case ContactPrincipal():
            contact = principal.contact.id if per_contact else None
            return ("contact", principal.organization_id, principal.customer_id, contact)
        case PartnerPrincipal():
            return ("partner", principal.organization_id, principal.scopes, principal.customer_id)
    raise ValueError(f"{type(principal).__name__} follows no activity")
