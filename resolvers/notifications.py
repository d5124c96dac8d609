"""In-app notifications and activity email for the organization's staff."""

from __future__ import annotations

from datetime import UTC, datetime

from auth.prepared import PreparedQuery
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


# Asked with every activity a contact causes: rendered to SQL once (auth.prepared).
_ACTIVE_STAFF = PreparedQuery[list[StaffUser]](
    lambda organization_id: StaffUser.filter(organization_id=organization_id, is_active=True)
)


async def notify_staff(row: Activity) -> None:
    """Runs in the activity's transaction, so notifications and email exist only if it does."""
    if row.actor_kind == ActorKind.STAFF:
        return  # staff need not be told what staff did
    channel = (await preferences_for(row.organization_id)).activity_notifications
    if channel == ActivityNotifications.NONE:
        return
    staff = await _ACTIVE_STAFF.run(organization_id=row.organization_id)
    if channel in IN_APP:
        await Notification.bulk_create(
            [
                Notification(organization_id=row.organization_id, staff_user=user, activity=row)
                for user in staff
            ]
        )
    if channel in BY_EMAIL:
        await _email(row, [user for user in staff if user.activity_emails])


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
