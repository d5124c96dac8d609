"""A portal contact edits "My details" while the portal allows it: its customer's addresses,
phone and the custom fields staff made editable, its own contact details, and the customer's
other contact persons. Input goes through the same checks as staff edits, and every change is
recorded as activity with the values before and after."""

from __future__ import annotations

from typing import Any

from auth import one_time_tokens, rate_limit
from auth.principals import ContactPrincipal
from auth.scoping import scoped
from models.activity import ActivityKind
from models.customers import ContactPerson, Customer, PortalAccess
from models.organizations import Organization
from models.tokens import TokenPurpose
from resolvers import activity, custom_fields, portal_features, transactions
from resolvers.authentication import confirm_password
from resolvers.customers import clean_contact, clean_customer, refuse_duplicate_emails, require_name
from resolvers.email import enqueue_email
from resolvers.errors import ErrorCode, reject
from resolvers.validation import MAX_CUSTOM_FIELDS, Checker, camel_case

CUSTOMER_FIELDS = ("phone", "billing_address", "shipping_address")
NAME_FIELDS = ("first_name", "last_name")
CONTACT_FIELDS = (*NAME_FIELDS, "email", "phone", "mobile")
# A contact with these logs in with its email address, and a password reset goes there: only
# that contact may change it, or a colleague could take the login over.
LOGIN_HOLDERS = (PortalAccess.INVITED, PortalAccess.ACTIVE)
LOGIN_EMAIL_CHANGED = "login_email_changed"
CONTACTS_ADDED = rate_limit.Limit("contacts-added", max_failures=20, window=rate_limit.HOUR)

Change = dict[str, str]


async def update_my_customer(principal: ContactPrincipal, changes: dict[str, Any]) -> Customer:
    await _require_allowed(principal)
    checker = Checker()
    values = clean_customer(checker, _only(changes, CUSTOMER_FIELDS))
    wanted = checker.custom_fields(changes.get("custom_fields") or [], ["customFields"])
    editable = await custom_fields.editable_names(principal.organization_id) if wanted else {}
    _refuse_not_editable(checker, wanted, editable)
    checker.raise_if_any()
    async with transactions.unit_of_work():
        customer = await Customer.select_for_update().get(id=principal.customer_id)
        recorded = _apply(customer, values)
        if wanted:
            recorded += _set_custom_fields(customer, wanted, editable)
        if recorded:
            await customer.save()
            _record(principal, ActivityKind.DETAILS_UPDATED, recorded)
    return customer


async def update_my_contact_details(
    principal: ContactPrincipal, changes: dict[str, Any]
) -> ContactPerson:
    """The email address is the contact's login: changing it takes the current password."""
    await _require_allowed(principal)
    me = principal.contact
    checker = Checker()
    values = _clean_contact(checker, me, changes)
    new_email = values.get("email", me.email)
    if new_email != me.email:
        if not new_email:
            checker.add(ErrorCode.REQUIRED, "You log in with your email address.", ["email"])
        if not changes.get("current_password"):
            checker.add(
                ErrorCode.REQUIRED,
                "Enter your current password to change your email address.",
                ["currentPassword"],
            )
    checker.raise_if_any()
    if new_email != me.email:
        await confirm_password(principal, changes["current_password"])
        await refuse_duplicate_emails(principal.organization_id, [new_email], exclude_id=me.id)
    async with transactions.unit_of_work():
        contact = await ContactPerson.select_for_update().get(id=me.id)
        recorded = _apply(contact, values)
        if recorded:
            await contact.save()
            _record(principal, ActivityKind.DETAILS_UPDATED, recorded, contact)
        if contact.email != me.email:
            # Reset links already sent went to the old address, which no longer logs in.
            await one_time_tokens.revoke_all(TokenPurpose.PASSWORD_RESET, contact_id=me.id)
            await _tell_old_address(contact, old_email=me.email)
    return contact


async def _tell_old_address(contact: ContactPerson, old_email: str) -> None:
    """Someone holding a stolen session could move the login to their own address: its owner
    hears of it where they still read mail."""
    organization = await Organization.get(id=contact.organization_id)
    customer = await Customer.get(id=contact.customer_id)
    await enqueue_email(
        to=old_email,
        template=LOGIN_EMAIL_CHANGED,
        context={
            "organization_name": organization.name,
            "contact_name": contact.display_name,
            "old_email": old_email,
            "new_email": contact.email,
        },
        language=customer.portal_language,
        organization_id=organization.id,
        reply_to=organization.email,
    )


async def add_my_contact_person(principal: ContactPrincipal, data: dict[str, Any]) -> ContactPerson:
    """The new person gets no portal access: only staff invite."""
    await _require_allowed(principal)
    checker = Checker()
    values = clean_contact(checker, _only(data, CONTACT_FIELDS), [])
    require_name(checker, values, [])
    checker.raise_if_any()
    await refuse_duplicate_emails(principal.organization_id, [values.get("email", "")])
    if await rate_limit.reserve((CONTACTS_ADDED, f"contact:{principal.contact.id}")) is None:
        raise reject(ErrorCode.RATE_LIMITED, "Too many new contact persons. Try again later.")
    async with transactions.unit_of_work():
        contact = await ContactPerson.create(
            organization_id=principal.organization_id,
            customer_id=principal.customer_id,
            is_primary=False,
            portal_access=PortalAccess.NOT_INVITED,
            **values,
        )
        added = [_change(camel_case(name), "", value) for name, value in values.items() if value]
        _record(principal, ActivityKind.CONTACT_ADDED, added, contact)
    return contact


async def update_my_contact_person(
    principal: ContactPrincipal, contact_id: int, changes: dict[str, Any]
) -> ContactPerson:
    """Another contact person of the viewer's customer (or the viewer, except its email)."""
    await _require_allowed(principal)
    async with transactions.unit_of_work():
        contact = (
            await scoped(ContactPerson, principal).select_for_update().get_or_none(id=contact_id)
        )
        if contact is None:
            raise reject(ErrorCode.NOT_FOUND, "Contact person not found.", ["id"])
        checker = Checker()
        values = _clean_contact(checker, contact, changes)
        changes_email = values.get("email", contact.email) != contact.email
        if changes_email and contact.portal_access in LOGIN_HOLDERS:
            checker.add(
                ErrorCode.NOT_EDITABLE,
                "This person logs in to the portal with this address: only they can change it.",
                ["email"],
            )
        checker.raise_if_any()
        if changes_email:
            await refuse_duplicate_emails(
                principal.organization_id, [values["email"]], exclude_id=contact.id
            )
        recorded = _apply(contact, values)
        if recorded:
            await contact.save()
            _record(principal, ActivityKind.DETAILS_UPDATED, recorded, contact)
    return contact


async def _require_allowed(principal: ContactPrincipal) -> None:
    await portal_features.require(portal_features.DETAIL_EDITS, principal.organization_id)


def _only(changes: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: value for name, value in changes.items() if name in names}


def _clean_contact(checker: Checker, contact: ContactPerson, changes: dict[str, Any]) -> dict:
    values = clean_contact(checker, _only(changes, CONTACT_FIELDS), [])
    if "first_name" in values or "last_name" in values:
        names = {name: values.get(name, getattr(contact, name)) for name in NAME_FIELDS}
        require_name(checker, names, [])
    return values


def _refuse_not_editable(
    checker: Checker, wanted: list[dict[str, str]], editable: dict[str, str]
) -> None:
    for index, item in enumerate(wanted):
        if item["name"] and item["name"].lower() not in editable:
            checker.add(
                ErrorCode.NOT_EDITABLE,
                "Only the custom fields the business lets customers edit can be changed here.",
                ["customFields", str(index), "name"],
            )


def _apply(row: Customer | ContactPerson, values: dict[str, Any]) -> list[Change]:
    """Sets the values that differ from the row's; returns what changed, field by field."""
    recorded: list[Change] = []
    for name, after in values.items():
        before = getattr(row, name)
        if isinstance(after, dict):  # an address: one change per line that differs
            found = [
                _change(f"{camel_case(name)}.{key}", str(before.get(key) or ""), value)
                for key, value in after.items()
                if str(before.get(key) or "") != value
            ]
        else:
            found = [_change(camel_case(name), before, after)] if before != after else []
        if found:
            setattr(row, name, after)
            recorded += found
    return recorded


def _set_custom_fields(
    customer: Customer, wanted: list[dict[str, str]], editable: dict[str, str]
) -> list[Change]:
    """Sets the named fields' values, keeping every other field as it is; emptying a value
    removes the field from the customer."""
    fields = [dict(item) for item in customer.custom_fields]
    recorded: list[Change] = []
    for item in wanted:
        key = item["name"].lower()
        current = next((field for field in fields if field["name"].lower() == key), None)
        before = current["value"] if current else ""
        if before == item["value"]:
            continue
        name = current["name"] if current else editable[key]
        recorded.append(_change(f"customFields.{name}", before, item["value"]))
        if current is None:
            fields.append({"name": name, "value": item["value"]})
        elif item["value"]:
            current["value"] = item["value"]
        else:
            fields = [field for field in fields if field is not current]
    if len(fields) > MAX_CUSTOM_FIELDS:
        raise reject(
            ErrorCode.INVALID, f"At most {MAX_CUSTOM_FIELDS} custom fields.", ["customFields"]
        )
    customer.custom_fields = fields
    return recorded


def _change(field: str, before: str, after: str) -> Change:
    return {"field": field, "before": before, "after": after}


def _record(
    principal: ContactPrincipal,
    kind: ActivityKind,
    changes: list[Change],
    contact: ContactPerson | None = None,
) -> None:
    data: dict[str, Any] = {"changes": changes}
    if contact is not None:
        data["contact_id"] = contact.id
    activity.record(
        kind,
        actor=principal,
        organization_id=principal.organization_id,
        customer_id=principal.customer_id,
        data=data,
    )
