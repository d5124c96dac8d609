"""Staff users, as administrators manage them."""

from __future__ import annotations

from typing import Any

from auth import passwords
from auth.principals import StaffPrincipal
from auth.scoping import scoped
from auth.sessions import end_sessions_of
from models.staff import StaffRole, StaffUser
from resolvers import transactions
from resolvers.activity import announce_access_change
from resolvers.authentication import check_new_password
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker


async def create_staff_user(principal: StaffPrincipal, data: dict[str, Any]) -> StaffUser:
    checker = Checker()
    email = checker.email(data["email"], ["email"], required=True)
    name = checker.text(data["name"], ["name"], max_length=200, required=True)
    checker.raise_if_any()
    check_new_password(data["password"], email, name, field="password")
    if await StaffUser.filter(email=email).exists():
        raise reject(ErrorCode.DUPLICATE, "A staff user with this email already exists.", ["email"])
    return await StaffUser.create(
        organization_id=principal.organization_id,
        email=email,
        name=name,
        role=data.get("role") or StaffRole.STAFF,
        password_hash=await passwords.hash_password(data["password"]),
    )


async def update_staff_user(
    principal: StaffPrincipal, user_id: int, changes: dict[str, Any]
) -> StaffUser:
    async with transactions.unit_of_work():
        user = await scoped(StaffUser, principal).select_for_update().get_or_none(id=user_id)
        if user is None:
            raise reject(ErrorCode.NOT_FOUND, "Staff user not found.", ["id"])
        checker = Checker()
        if "name" in changes:
            user.name = checker.text(changes["name"], ["name"], max_length=200, required=True)
        checker.raise_if_any()
        if "role" in changes:
            user.role = changes["role"]
        if "is_active" in changes:
            user.is_active = bool(changes["is_active"])
        await _keep_an_admin(principal, user)
        await user.save()
        if not user.is_active:
            await end_sessions_of(staff_user_id=user.id)
    if not user.is_active:
        await announce_access_change(user.organization_id)
    return user


async def _keep_an_admin(principal: StaffPrincipal, changed: StaffUser) -> None:
    if changed.role == StaffRole.ADMIN and changed.is_active:
        return
    others = scoped(StaffUser, principal).filter(role=StaffRole.ADMIN, is_active=True)
    if not await others.exclude(id=changed.id).exists():
        raise reject(
            ErrorCode.LAST_ADMIN, "The organization must keep at least one active administrator."
        )


async def update_notification_settings(
    principal: StaffPrincipal, *, activity_emails: bool
) -> StaffUser:
    user = principal.user
    user.activity_emails = activity_emails
    await StaffUser.filter(id=user.id).update(activity_emails=activity_emails)
    return user
