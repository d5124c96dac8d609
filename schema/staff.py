from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from tortoise.expressions import Q

from models.staff import StaffRole as StaffRoleValue
from models.staff import StaffUser as StaffUserRow
from resolvers import mfa, staff
from schema.context import Info
from schema.edge import EMAIL_LENGTH, SEARCH_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.inputs import changes_of
from schema.permissions import IsAdmin, IsStaff
from schema.relay import Connection, ModelNode, OrderDirection, connection, decode_id

StaffRole = strawberry.enum(StaffRoleValue, description="ADMIN manages staff, keys and settings.")


@strawberry.type(description="A person working for the organization.")
class StaffUser(ModelNode):
    model = StaffUserRow

    id: strawberry.relay.NodeID[int]
    name: str
    email: str
    role: StaffRole  # type: ignore[valid-type]
    is_active: bool
    activity_emails: bool = strawberry.field(
        description="Wants portal activity by email when the organization sends it."
    )
    last_login_at: datetime | None
    created_at: datetime

    @strawberry.field(description="Whether the user logs in with a second factor (TOTP).")
    async def mfa_enabled(self, info: Info) -> bool:
        return await mfa.enabled_loader(info.context.loaders, StaffUserRow).load(self.id)

    @classmethod
    def from_row(cls, row: StaffUserRow) -> StaffUser:
        return cls(
            id=row.id,
            name=row.name,
            email=row.email,
            role=row.role,
            is_active=row.is_active,
            activity_emails=row.activity_emails,
            last_login_at=row.last_login_at,
            created_at=row.created_at,
        )


@strawberry.enum
class StaffUserOrderField(Enum):
    NAME = "name"
    EMAIL = "email"
    CREATED_AT = "created_at"


@strawberry.input
class StaffUserOrder:
    field: StaffUserOrderField = StaffUserOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class StaffUserFilter:
    search: str | None = limited(
        SEARCH_LENGTH, default=None, description="Part of the name or email."
    )
    role: StaffRole | None = None  # type: ignore[valid-type]
    is_active: bool | None = None


def _staff_filter(filter: StaffUserFilter | None) -> Q:
    query = Q()
    if filter is None:
        return query
    if filter.search:
        query &= Q(name__icontains=filter.search.strip()) | Q(email__icontains=filter.search)
    if filter.role:
        query &= Q(role=filter.role)
    if filter.is_active is not None:
        query &= Q(is_active=filter.is_active)
    return query


@strawberry.type
class StaffQueries:
    @strawberry.field(permission_classes=[IsStaff], description="Staff users only.")
    async def staff_users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: StaffUserFilter | None = None,
        order_by: StaffUserOrder | None = None,
    ) -> Connection[StaffUser]:
        return await connection(
            info,
            StaffUser,
            where=_staff_filter(filter),
            order_by=order_by or StaffUserOrder(),
            first=first,
            after=after,
        )


@strawberry.input
class CreateStaffUserInput:
    email: str = limited(EMAIL_LENGTH)
    name: str
    role: StaffRole = StaffRoleValue.STAFF  # type: ignore[valid-type]
    password: str = strawberry.field(description="Initial password; the user should change it.")


@strawberry.input
class UpdateStaffUserInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    role: StaffRole | None = strawberry.UNSET  # type: ignore[valid-type]
    is_active: bool | None = strawberry.field(
        default=strawberry.UNSET, description="false ends the user's sessions at once."
    )


@strawberry.type
class StaffUserPayload:
    staff_user: StaffUser | None = None
    errors: list[UserError]


@strawberry.input
class UpdateNotificationSettingsInput:
    activity_emails: bool


@strawberry.type
class StaffMutations:
    @strawberry.mutation(permission_classes=[IsStaff], description="The viewer's own settings.")
    async def update_notification_settings(
        self, info: Info, input: UpdateNotificationSettingsInput
    ) -> StaffUserPayload:
        async def action() -> dict:
            row = await staff.update_notification_settings(
                info.context.staff, activity_emails=input.activity_emails
            )
            return {"staff_user": StaffUser.from_row(row)}

        return await payload_or_errors(StaffUserPayload, action)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_staff_user(self, info: Info, input: CreateStaffUserInput) -> StaffUserPayload:
        async def action() -> dict:
            row = await staff.create_staff_user(info.context.staff, changes_of(input))
            return {"staff_user": StaffUser.from_row(row)}

        return await payload_or_errors(StaffUserPayload, action)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_staff_user(self, info: Info, input: UpdateStaffUserInput) -> StaffUserPayload:
        async def action() -> dict:
            changes = {k: v for k, v in changes_of(input).items() if v is not None}
            row = await staff.update_staff_user(
                info.context.staff, decode_id(input.id, StaffUser), changes
            )
            return {"staff_user": StaffUser.from_row(row)}

        return await payload_or_errors(StaffUserPayload, action)
