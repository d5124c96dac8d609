"""The organization's portal preferences: one settings object, changed by administrators."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError

from auth.prepared import PreparedQuery
from auth.principals import StaffPrincipal
from models.activity import ActivityKind
from models.organizations import Organization
from models.preferences import ActivityNotifications, PortalPreferences
from resolvers import activity, request_rows, transactions
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker

FLAGS = (
    "portal_enabled",
    "mfa_required",
    "prevent_duplicate_payments",
    "allow_sign_up",
    "email_customers_on_staff_comments",
    "allow_uploads_and_detail_edits",
    "allow_forwarding",
    "allow_bulk_payments",
    "customer_reviews",
    "show_sales_orders",
    "show_credit_notes",
    "verify_identity_for_public_links",
    "show_projects_and_timesheets",
    "show_subscriptions",
)
BANNER_LIMIT = 2000


async def preferences_for(organization_id: int) -> PortalPreferences:
    """Read once per request (`request_rows`): permission checks, gates and figures all ask."""
    preferences = request_rows.known(PortalPreferences, organization_id)
    if preferences is None:
        preferences = await _load(organization_id)
        request_rows.remember(preferences)
    return preferences


# Read by nearly every request of a portal contact.
_stored = PreparedQuery[PortalPreferences | None](
    lambda organization_id: PortalPreferences.get_or_none(organization_id=organization_id)
)


async def _load(organization_id: int) -> PortalPreferences:
    preferences = await _stored.run(organization_id=organization_id)
    if preferences is not None:
        return preferences
    try:
        async with transactions.savepoint():  # the caller's transaction outlives a lost race
            return await PortalPreferences.create(organization_id=organization_id)
    except IntegrityError:  # another request created it first
        return await PortalPreferences.get(organization_id=organization_id)


async def update_preferences(
    principal: StaffPrincipal, changes: dict[str, Any]
) -> tuple[PortalPreferences, Organization]:
    values = _clean(changes)
    await preferences_for(principal.organization_id)
    async with transactions.unit_of_work():
        preferences = await PortalPreferences.select_for_update().get(
            organization_id=principal.organization_id
        )
        organization = await Organization.select_for_update().get(id=principal.organization_id)
        changed = _apply(preferences, {k: v for k, v in values.items() if k != "portal_name"})
        if "portal_name" in values and values["portal_name"] != organization.portal_name:
            await _refuse_taken(values["portal_name"], organization.id)
            changed["portal_name"] = [organization.portal_name, values["portal_name"]]
            organization.portal_name = values["portal_name"]
            await organization.save(update_fields=["portal_name"])
        if changed:
            await preferences.save()
            activity.record(
                ActivityKind.PREFERENCES_CHANGED,
                actor=principal,
                organization_id=principal.organization_id,
                data={"changes": changed},
            )
        if "portal_enabled" in changed and not preferences.portal_enabled:
            # Contacts' live subscriptions end now rather than at their next check.
            organization_id = principal.organization_id
            await transactions.after_commit(
                lambda: activity.announce_access_change(organization_id)
            )
    return preferences, organization


def _clean(changes: dict[str, Any]) -> dict[str, Any]:
    checker = Checker()
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None:
            continue
        if name == "portal_name":
            values[name] = checker.portal_name(value, ["portalName"])
        elif name == "banner_message":
            values[name] = checker.text(value, ["bannerMessage"], max_length=BANNER_LIMIT)
        elif name == "activity_notifications":
            values[name] = ActivityNotifications(value)
        elif name in FLAGS:
            values[name] = bool(value)
    checker.raise_if_any()
    return values


def _apply(preferences: PortalPreferences, values: dict[str, Any]) -> dict[str, list[str]]:
    changed: dict[str, list[str]] = {}
    for name, value in values.items():
        before = getattr(preferences, name)
        if before != value:
            changed[name] = [str(before), str(value)]
            setattr(preferences, name, value)
    return changed


async def _refuse_taken(portal_name: str, organization_id: int) -> None:
    if await Organization.filter(portal_name=portal_name).exclude(id=organization_id).exists():
        raise reject(ErrorCode.PORTAL_NAME_TAKEN, "Another portal has this name.", ["portalName"])
