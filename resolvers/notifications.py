"""In-app notifications and activity email for the organization's staff."""

from __future__ import annotations

from datetime import UTC, datetime

from pypika_tortoise import Query, Table
from pypika_tortoise.queries import QueryBuilder
from pypika_tortoise.terms import ValueWrapper
from tortoise import timezone

from auth.prepared import PreparedQuery, PreparedStatement
from auth.principals import StaffPrincipal
from auth.scoping import scoped
from models.activity import Activity, ActorKind, Notification
from models.customers import Customer
from models.organizations import Organization
from models.preferences import ActivityNotifications
from models.staff import StaffUser
from resolvers import links, request_rows
from resolvers.email import enqueue_activity_email
from resolvers.preferences import preferences_for

IN_APP = frozenset({ActivityNotifications.IN_APP, ActivityNotifications.BOTH})
BY_EMAIL = frozenset({ActivityNotifications.EMAIL, ActivityNotifications.BOTH})


_TRUE = ValueWrapper(True, allow_parametrize=False)


def _in_app_statement(query: type[Query], notifications: Table) -> QueryBuilder:
    staff = Table(StaffUser._meta.db_table)
    return (
        query.into(notifications)
        .columns("organization_id", "staff_user_id", "activity_id", "created_at")
        .from_(staff)
        .select(staff.organization_id, staff.id, 0, 0)
        .where((staff.organization_id == 0) & (staff.is_active == _TRUE))
    )


# With every activity a contact causes: one statement however many staff users there are,
# built once (auth.prepared). Values: the activity's id, when, the organization's id.
_IN_APP = PreparedStatement(Notification, _in_app_statement)
_EMAILED = PreparedQuery[list[StaffUser]](
    lambda organization_id: StaffUser.filter(
        organization_id=organization_id, is_active=True, activity_emails=True
    )
)


async def notify_staff(row: Activity) -> None:
    """Runs in the activity's transaction, so notifications and email exist only if it does."""
    if row.actor_kind == ActorKind.STAFF:
        return  # staff need not be told what staff did
    channel = (await preferences_for(row.organization_id)).activity_notifications
    if channel in IN_APP:  # every active staff user
        await _IN_APP.execute(row.id, timezone.localtime(), row.organization_id)
    if channel in BY_EMAIL:  # the active staff users who take activity email
        await _email(row, await _EMAILED.run(organization_id=row.organization_id))


async def _email(row: Activity, recipients: list[StaffUser]) -> None:
    if not recipients:
        return
    organization = await request_rows.get(Organization, row.organization_id)
    customer = (
        await request_rows.get_or_none(Customer, row.customer_id) if row.customer_id else None
    )
    for user in recipients:
        await enqueue_activity_email(
            to=user.email,
            language=language_of(organization.locale),
            organization_id=organization.id,
            organization_name=organization.name,
            timezone=organization.timezone,
            kind=row.kind,
            actor_name=row.actor_name,
            occurred_at=row.created_at,
            link=links.current().staff_activity(row.id),
            customer_name=customer.display_name if customer else "",
            document_number=row.document_number,
            amount_minor=row.data.get("amount_minor"),
            currency=row.data.get("currency", ""),
        )


def language_of(locale: str) -> str:
    return locale.replace("-", "_").split("_")[0].lower() or "en"


async def unread_count(principal: StaffPrincipal) -> int:
    return await scoped(Notification, principal).filter(read_at=None).count()


async def mark_read(principal: StaffPrincipal, notification_ids: list[int] | None) -> int:
    """Marks the given notifications (all when None) read; returns the unread count after."""
    query = scoped(Notification, principal).filter(read_at=None)
    if notification_ids is not None:
        query = query.filter(id__in=notification_ids)
    await query.update(read_at=datetime.now(UTC))
    return await unread_count(principal)
