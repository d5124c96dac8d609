from __future__ import annotations

import strawberry

from models.preferences import ActivityNotifications as ActivityNotificationsValue
from models.preferences import PortalPreferences as PortalPreferencesRow
from resolvers import preferences
from schema.context import Info
from schema.errors import UserError, payload_or_errors
from schema.inputs import changes_of
from schema.permissions import IsAdmin, IsStaff

ActivityNotifications = strawberry.enum(
    ActivityNotificationsValue,
    description="How staff hear about customer portal activity.",
)


@strawberry.type(description="The organization's customer portal settings.")
class PortalPreferences:
    activity_notifications: ActivityNotifications = strawberry.field(  # type: ignore[valid-type]
        description="Notify me about customer portal activity: in-app, email, both or none."
    )

    @classmethod
    def from_row(cls, row: PortalPreferencesRow) -> PortalPreferences:
        return cls(activity_notifications=row.activity_notifications)


@strawberry.input
class UpdatePortalPreferencesInput:
    activity_notifications: ActivityNotifications | None = strawberry.UNSET  # type: ignore[valid-type]


@strawberry.type
class UpdatePortalPreferencesPayload:
    portal_preferences: PortalPreferences | None = None
    errors: list[UserError]


@strawberry.type
class PreferencesQueries:
    @strawberry.field(permission_classes=[IsStaff])
    async def portal_preferences(self, info: Info) -> PortalPreferences:
        row = await preferences.preferences_for(info.context.staff.organization_id)
        return PortalPreferences.from_row(row)


@strawberry.type
class PreferencesMutations:
    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Each change is recorded as activity."
    )
    async def update_portal_preferences(
        self, info: Info, input: UpdatePortalPreferencesInput
    ) -> UpdatePortalPreferencesPayload:
        async def action() -> dict:
            row = await preferences.update_preferences(info.context.staff, changes_of(input))
            return {"portal_preferences": PortalPreferences.from_row(row)}

        return await payload_or_errors(UpdatePortalPreferencesPayload, action)
