"""The organization's portal preferences: one settings object, changed by administrators."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError

from auth.principals import StaffPrincipal
from models.activity import ActivityKind
from models.preferences import ActivityNotifications, PortalPreferences
from resolvers import activity, transactions

EDITABLE = ("activity_notifications",)


async def preferences_for(organization_id: int) -> PortalPreferences:
    preferences = await PortalPreferences.get_or_none(organization_id=organization_id)
    if preferences is not None:
        return preferences
    try:
        return await PortalPreferences.create(organization_id=organization_id)
    except IntegrityError:  # another request created it first
        return await PortalPreferences.get(organization_id=organization_id)


async def update_preferences(
    principal: StaffPrincipal, changes: dict[str, Any]
) -> PortalPreferences:
    await preferences_for(principal.organization_id)
    async with transactions.unit_of_work():
        preferences = await PortalPreferences.select_for_update().get(
            organization_id=principal.organization_id
        )
        changed = {
            name: [str(getattr(preferences, name)), str(value)]
            for name, value in changes.items()
            if name in EDITABLE and value is not None and getattr(preferences, name) != value
        }
        if not changed:
            return preferences
        for name, (_, after) in changed.items():
            setattr(preferences, name, _coerce(name, after))
        await preferences.save()
        activity.record(
            ActivityKind.PREFERENCES_CHANGED,
            actor=principal,
            organization_id=principal.organization_id,
            data={"changes": changed},
        )
    return preferences


def _coerce(name: str, value: str) -> Any:
    if name == "activity_notifications":
        return ActivityNotifications(value)
    return value
