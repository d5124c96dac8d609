"""Customers and their contact persons as staff manage them, and the checks that every change
of them goes through, from staff and portal contacts alike."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from auth.principals import Principal, StaffPrincipal
from auth.scoping import scoped
from models.customers import ContactPerson, Customer
from models.organizations import Organization
from resolvers import transactions
from resolvers.errors import ErrorCode, reject
from resolvers.portal_access import enable_portal_access
from resolvers.validation import Checker, camel_case

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "mobile", "is_primary")


async def get_customer(principal: Principal, customer_id: int, field: str = "id") -> Customer:
    customer = await scoped(Customer, principal).get_or_none(id=customer_id)
    if customer is None:
        raise reject(ErrorCode.NOT_FOUND, "Customer not found.", [field])
    return customer


async def get_contact(principal: Principal, contact_id: int) -> ContactPerson:
    contact = await scoped(ContactPerson, principal).get_or_none(id=contact_id)
    if contact is None:
        raise reject(ErrorCode.NOT_FOUND, "Contact person not found.", ["id"])
    return contact


async def create_customer(principal: StaffPrincipal, data: dict[str, Any]) -> Customer:
    organization = await Organization.get(id=principal.organization_id)
    data = {"currency": organization.base_currency, **data}
    contacts = data.pop("contact_persons", [])
    allow_portal_access = bool(data.pop("allow_portal_access", False))
    checker = Checker()
    values = clean_customer(checker, data)
    cleaned_contacts = []
    for index, contact in enumerate(contacts):
        field = ["contactPersons", str(index)]
        cleaned_contacts.append(clean_contact(checker, contact, field))
        require_name(checker, cleaned_contacts[-1], field)
    checker.raise_if_any()
    await refuse_duplicate_emails(principal.organization_id, [c["email"] for c in cleaned_contacts])
    async with transactions.unit_of_work():
        customer = await Customer.create(organization_id=principal.organization_id, **values)
        saved = []
        for index, contact in enumerate(cleaned_contacts):
            contact.setdefault("is_primary", index == 0)
            saved.append(await _save_contact(customer, ContactPerson(**contact)))
        if allow_portal_access:
            await _invite_primary(principal, saved)
    return customer


async def _invite_primary(principal: StaffPrincipal, contacts: list[ContactPerson]) -> None:
    primary = [index for index, contact in enumerate(contacts) if contact.is_primary]
    if not primary:
        raise reject(
            ErrorCode.NO_PRIMARY_CONTACT,
            "Add a contact person with an email address to allow portal access.",
            ["allowPortalAccess"],
        )
    index = primary[-1]
    if not contacts[index].email:
        raise reject(
            ErrorCode.NO_EMAIL,
            "The primary contact person needs an email address for portal access.",
            ["contactPersons", str(index), "email"],
        )
    await enable_portal_access(principal, [contacts[index].id])


async def update_customer(
    principal: StaffPrincipal, customer_id: int, changes: dict[str, Any]
) -> Customer:
    customer = await get_customer(principal, customer_id)
    checker = Checker()
    values = clean_customer(checker, changes, currency=customer.currency)
    checker.raise_if_any()
    customer.update_from_dict(values)
    await customer.save()
    return customer


async def create_contact(principal: StaffPrincipal, data: dict[str, Any]) -> ContactPerson:
    customer = await get_customer(principal, data.pop("customer_id"), field="customerId")
    checker = Checker()
    values = clean_contact(checker, data, [])
    require_name(checker, values, [])
    checker.raise_if_any()
    await refuse_duplicate_emails(principal.organization_id, [values["email"]])
    async with transactions.unit_of_work():
        has_primary = await ContactPerson.filter(customer=customer, is_primary=True).exists()
        values.setdefault("is_primary", not has_primary)
        return await _save_contact(customer, ContactPerson(**values))


async def update_contact(
    principal: StaffPrincipal, contact_id: int, changes: dict[str, Any]
) -> ContactPerson:
    contact = await get_contact(principal, contact_id)
    checker = Checker()
    values = clean_contact(checker, changes, [])
    checker.raise_if_any()
    if values.get("email") and values["email"] != contact.email:
        await refuse_duplicate_emails(
            principal.organization_id, [values["email"]], exclude_id=contact.id
        )
    if values.get("is_primary") is False and contact.is_primary:
        raise reject(
            ErrorCode.INVALID,
            "Make another contact person primary instead.",
            ["isPrimary"],
        )
    contact.update_from_dict(values)
    async with transactions.unit_of_work():
        return await _save_contact(await contact.customer, contact)


async def _save_contact(customer: Customer, contact: ContactPerson) -> ContactPerson:
    contact.customer = customer
    contact.organization_id = customer.organization_id
    await contact.save()
    if contact.is_primary:
        await (
            ContactPerson.filter(customer=customer, is_primary=True)
            .exclude(id=contact.id)
            .update(is_primary=False)
        )
    return contact


async def refuse_duplicate_emails(
    organization_id: int, emails: list[str], exclude_id: int | None = None
) -> None:
    """Portal login is by organization and email, so an email names one contact person.

    Checked over the whole organization, beyond what the caller may see: a portal contact
    must not take an address another customer's contact logs in with."""
    wanted = [email for email in emails if email]
    if len(set(wanted)) != len(wanted):
        raise reject(ErrorCode.DUPLICATE, "Two contact persons have the same email address.")
    taken = ContactPerson.filter(organization_id=organization_id, email__in=wanted)
    if exclude_id is not None:
        taken = taken.exclude(id=exclude_id)
    if wanted and await taken.exists():
        raise reject(
            ErrorCode.DUPLICATE,
            "Another contact person already uses this email address.",
            ["email"],
        )


def clean_customer(
    checker: Checker, data: dict[str, Any], currency: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, limit in (("display_name", 200), ("company_name", 200), ("internal_notes", 5000)):
        if name in data:
            out[name] = checker.text(
                data[name], [camel_case(name)], max_length=limit, required=name == "display_name"
            )
    if "email" in data:
        out["email"] = checker.email(data["email"], ["email"])
    if "phone" in data:
        out["phone"] = checker.phone(data["phone"], ["phone"])
    if "currency" in data:
        out["currency"] = checker.currency(data["currency"], ["currency"])
    if "portal_language" in data:
        out["portal_language"] = checker.language(data["portal_language"], ["portalLanguage"])
    for name in ("billing_address", "shipping_address"):
        if name in data:
            out[name] = checker.address(data[name] or {}, [camel_case(name)])
    if "custom_fields" in data:
        out["custom_fields"] = checker.custom_fields(data["custom_fields"], ["customFields"])
    if "allow_ach" in data:
        out["allow_ach"] = bool(data["allow_ach"])
    if "credit_limit" in data:
        out["credit_limit_minor"] = _credit_limit(
            checker, data["credit_limit"], out.get("currency") or currency or "USD"
        )
    return out


def _credit_limit(checker: Checker, value: Decimal | None, currency: str) -> int | None:
    if value is None:
        return None
    return checker.amount(value, currency, ["creditLimit"])


def clean_contact(checker: Checker, data: dict[str, Any], field: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("first_name", "last_name"):
        if name in data:
            out[name] = checker.text(data[name], [*field, camel_case(name)], max_length=100)
    if "email" in data:
        out["email"] = checker.email(data["email"], [*field, "email"])
    for name in ("phone", "mobile"):
        if name in data:
            out[name] = checker.phone(data[name], [*field, name])
    if "is_primary" in data:
        out["is_primary"] = bool(data["is_primary"])
    return out


def require_name(checker: Checker, contact: dict[str, Any], field: list[str]) -> None:
    if not (contact.get("first_name") or contact.get("last_name")):
        checker.add(ErrorCode.REQUIRED, "Give a first or last name.", [*field, "firstName"])
