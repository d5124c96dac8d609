"""The organization's own details, as administrators edit them."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from auth.principals import StaffPrincipal
from auth.scoping import scoped
from models.organizations import Organization
from resolvers import calendars
from resolvers.errors import ErrorCode
from resolvers.validation import Checker


async def update_organization(principal: StaffPrincipal, changes: dict[str, Any]) -> Organization:
    organization = await scoped(Organization, principal).get()
    checker = Checker()
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = checker.text(changes["name"], ["name"], max_length=200, required=True)
    if "email" in changes:
        values["email"] = checker.email(changes["email"], ["email"])
    if "phone" in changes:
        values["phone"] = checker.phone(changes["phone"], ["phone"])
    if "address" in changes:
        values["address"] = checker.address(changes["address"] or {}, ["address"])
    if "locale" in changes:
        values["locale"] = checker.locale(changes["locale"], ["locale"])
    if "timezone" in changes:
        values["timezone"] = changes["timezone"]
        if changes["timezone"] not in available_timezones():
            checker.add(ErrorCode.INVALID, "Unknown time zone.", ["timezone"])
    checker.raise_if_any()
    organization.update_from_dict(values)
    await organization.save()
    calendars.remember(organization)
    return organization
