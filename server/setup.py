"""First-time setup of an organization from the command line."""

from __future__ import annotations

import re
import unicodedata

from tortoise.transactions import in_transaction

from auth import passwords
from models.organizations import Organization
from models.staff import StaffRole, StaffUser
from resolvers.authentication import check_new_password
from resolvers.errors import Rejected
from resolvers.validation import Checker


async def create_organization(
    *,
    name: str,
    portal_name: str | None,
    currency: str,
    admin_email: str,
    admin_name: str,
    admin_password: str,
) -> Organization | str:
    """The organization created, or what is wrong with the request. Without a portal name,
    one is made of the organization's name (staff can change it later)."""
    checker = Checker()
    name = checker.text(name, ["organization"], max_length=200, required=True)
    if portal_name is None and name:
        portal_name = await _free_portal_name(name)
    portal_name = checker.portal_name(portal_name, ["portalName"])
    currency = checker.currency(currency, ["currency"])
    email = checker.email(admin_email, ["email"], required=True)
    admin_name = checker.text(admin_name, ["name"], max_length=200, required=True)
    try:
        checker.raise_if_any()
        check_new_password(admin_password, email, admin_name, field="password")
    except Rejected as refused:
        return "; ".join(f"{'.'.join(e.field or [])}: {e.message}" for e in refused.errors)
    if await Organization.exists(portal_name=portal_name):
        return f"the portal name {portal_name!r} is taken"
    if await StaffUser.exists(email=email):
        return f"a staff user with email {email} exists"
    password_hash = await passwords.hash_password(admin_password)
    async with in_transaction():
        org = await Organization.create(name=name, portal_name=portal_name, base_currency=currency)
        await StaffUser.create(
            organization=org,
            email=email,
            name=admin_name,
            role=StaffRole.ADMIN,
            password_hash=password_hash,
        )
    return org


async def _free_portal_name(organization: str) -> str:
    """A free portal name made of the organization's: `Acme Tools & Co.` gives acme-tools-co,
    or acme-tools-co-2 and so on where that is taken."""
    ascii_name = unicodedata.normalize("NFKD", organization).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not base[:1].isalpha():
        base = f"portal-{base}".rstrip("-")
    base = base[:55].rstrip("-").ljust(3, "0")
    candidate, suffix = base, 1
    while await Organization.exists(portal_name=candidate):
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate
