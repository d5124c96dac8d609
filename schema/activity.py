from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import replace
from datetime import datetime

import strawberry
from tortoise.expressions import Q

from auth.api_keys import ApiScope
from auth.errors import BadUserInput, Unauthenticated
from auth.principals import Anonymous, PartnerPrincipal
from auth.scoping import require_scope, scoped
from models.activity import Activity as ActivityRow
from models.activity import ActivityKind as ActivityKindValue
from models.activity import ActivitySubject as ActivitySubjectValue
from models.activity import ActorKind as ActorKindValue
from models.activity import Notification as NotificationRow
from resolvers import notifications
from resolvers.pagination import Ordering, cursor_for, decode_cursor
from schema import activity_feeds
from schema.context import Info
from schema.customers import ContactPerson, Customer
from schema.errors import UserError, payload_or_errors
from schema.money import Money
from schema.permissions import IsAuthenticated, IsStaff
from schema.relay import Connection, Edge, ModelNode, connection, decode_id
from schema.staff import StaffUser

ActivityKind = strawberry.enum(ActivityKindValue, description="What happened.")
ActivitySubject = strawberry.enum(
    ActivitySubjectValue,
    description="What an activity is about: a kind of document, a payment or a shared file.",
)
ActorKind = strawberry.enum(ActorKindValue, description="Who made it happen.")
NEWEST_FIRST = Ordering("seq", descending=True)


@strawberry.type(description="Who did it. `name` is kept as it was at the time.")
class ActivityActor:
    kind: ActorKind  # type: ignore[valid-type]
    name: str
    _staff_user_id: strawberry.Private[int | None]
    _contact_id: strawberry.Private[int | None]

    @strawberry.field(permission_classes=[IsStaff], description="Staff users only.")
    async def staff_user(self, info: Info) -> StaffUser | None:
        return await StaffUser.load(info, self._staff_user_id)

    @strawberry.field
    async def contact_person(self, info: Info) -> ContactPerson | None:
        return await ContactPerson.load(info, self._contact_id)


@strawberry.type
class FieldChange:
    field: str
    before: str
    after: str


@strawberry.type(description="Something that happened in the customer portal.")
class Activity(ModelNode):
    model = ActivityRow

    id: strawberry.relay.NodeID[int]
    kind: ActivityKind  # type: ignore[valid-type]
    occurred_at: datetime
    actor: ActivityActor
    document_type: ActivitySubject | None = strawberry.field(  # type: ignore[valid-type]
        description="What it is about; null when about no document, payment or file."
    )
    document_number: str
    visible_to_customer: bool = strawberry.field(
        description="Whether the customer's portal contacts see this in their feed."
    )
    _row: strawberry.Private[ActivityRow]

    @strawberry.field
    async def customer(self, info: Info) -> Customer | None:
        return await Customer.load(info, self._row.customer_id)

    @strawberry.field(description="The amount involved, e.g. of a payment.")
    def amount(self) -> Money | None:
        data = self._row.data
        if "amount_minor" not in data:
            return None
        return Money.of(int(data["amount_minor"]), data["currency"])

    @strawberry.field(
        description="The start of the comment, for COMMENT_ADDED; null once it is deleted."
    )
    def excerpt(self) -> str | None:
        return self._row.data.get("excerpt") or None

    @strawberry.field(
        description="What changed, field by field, for updates of details or preferences; a "
        "new contact person's details, from empty."
    )
    def changes(self) -> list[FieldChange]:
        changes = self._row.data.get("changes", [])
        if isinstance(changes, dict):  # preference changes: {field: [before, after]}
            return [FieldChange(field=k, before=v[0], after=v[1]) for k, v in changes.items()]
        return [FieldChange(**change) for change in changes]

    @strawberry.field(
        description="The contact person this is about: one added, or whose details changed."
    )
    async def contact_person(self, info: Info) -> ContactPerson | None:
        return await ContactPerson.load(info, self._row.data.get("contact_id"))

    @classmethod
    def from_row(cls, row: ActivityRow) -> Activity:
        return cls(
            id=row.id,
            kind=row.kind,
            occurred_at=row.created_at,
            actor=ActivityActor(
                kind=row.actor_kind,
                name=row.actor_name,
                _staff_user_id=row.actor_staff_id,
                _contact_id=row.actor_contact_id,
            ),
            document_type=ActivitySubjectValue(row.document_type) if row.document_type else None,
            document_number=row.document_number,
            visible_to_customer=row.visible_to_customer,
            _row=row,
        )


@strawberry.type(description="An activity a staff user was notified of.")
class Notification(ModelNode):
    model = NotificationRow

    id: strawberry.relay.NodeID[int]
    read_at: datetime | None
    created_at: datetime
    _activity_id: strawberry.Private[int]

    @strawberry.field
    async def activity(self, info: Info) -> Activity:
        return await Activity.load(info, self._activity_id)

    @classmethod
    def from_row(cls, row: NotificationRow) -> Notification:
        return cls(
            id=row.id,
            read_at=row.read_at,
            created_at=row.created_at,
            _activity_id=row.activity_id,
        )


@strawberry.input
class ActivityFilter:
    customer_id: strawberry.ID | None = None
    kinds: list[ActivityKind] | None = None  # type: ignore[valid-type]
    since: datetime | None = None
    until: datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.input
class NotificationFilter:
    unread: bool | None = None


def _activity_filter(filter: ActivityFilter | None) -> Q:
    query = Q()
    if filter is None:
        return query
    if filter.customer_id:
        query &= Q(customer_id=decode_id(filter.customer_id, Customer))
    if filter.kinds:
        query &= Q(kind__in=list(filter.kinds))
    if filter.since:
        query &= Q(created_at__gte=filter.since)
    if filter.until:
        query &= Q(created_at__lt=filter.until)
    return query


@strawberry.type
class ActivityQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Newest first. Staff and partner keys (activity:read) see the "
        "organization's activity; a portal contact sees what concerns its customer.",
    )
    async def activities(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ActivityFilter | None = None,
    ) -> Connection[Activity]:
        where = _activity_filter(filter)
        return await connection(
            info, Activity, where=where, order_by=NEWEST_FIRST, first=first, after=after
        )

    @strawberry.field(permission_classes=[IsStaff], description="The viewer's, newest first.")
    async def notifications(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: NotificationFilter | None = None,
    ) -> Connection[Notification]:
        where = Q()
        if filter and filter.unread is not None:
            where = Q(read_at__isnull=filter.unread)
        newest_first = Ordering("id", descending=True)
        return await connection(
            info, Notification, where=where, order_by=newest_first, first=first, after=after
        )

    @strawberry.field(permission_classes=[IsStaff])
    async def unread_notification_count(self, info: Info) -> int:
        return await notifications.unread_count(info.context.staff)


@strawberry.input
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="null marks every notification read."
    )


@strawberry.type
class MarkNotificationsReadPayload:
    unread_count: int | None = None
    errors: list[UserError]


@strawberry.type
class ActivityMutations:
    @strawberry.mutation(permission_classes=[IsStaff])
    async def mark_notifications_read(
        self, info: Info, input: MarkNotificationsReadInput
    ) -> MarkNotificationsReadPayload:
        async def action() -> dict:
            ids = None if input.ids is None else [decode_id(i, Notification) for i in input.ids]
            count = await notifications.mark_read(info.context.staff, ids)
            return {"unread_count": count}

        return await payload_or_errors(MarkNotificationsReadPayload, action)


@strawberry.type
class ActivitySubscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Portal activity as it happens. Pass the cursor of the last event you saw "
        "as `after` to first receive what you missed. Staff see the organization's, a portal "
        "contact its customer's; API keys need activity:subscribe.",
    )
    async def portal_activity(
        self, info: Info, customer_id: strawberry.ID | None = None, after: str | None = None
    ) -> AsyncGenerator[Edge[Activity], None]:
        if isinstance(self, activity_feeds.ActivityFeed):
            # The one execution that identical subscribers share (schema.activity_feeds).
            async for row in self.rows():
                info.context.become(self.principal)  # each event read fresh, not from a cache
                yield _edge(row)
            return
        principal = info.context.principal
        if isinstance(principal, Anonymous):
            raise Unauthenticated("Authenticate in connection_init.")
        if isinstance(principal, PartnerPrincipal):
            require_scope(principal, ApiScope.ACTIVITY_SUBSCRIBE)
            # The stream's scope: it reads the events it streams, and nothing else besides.
            principal = replace(principal, scopes=principal.scopes | {ApiScope.ACTIVITY_READ})
            info.context.become(principal)
        scoped(ActivityRow, principal)  # refuses principals that may never see activity
        async with activity_feeds.subscribe(
            info,
            principal,
            customer_id=decode_id(customer_id, Customer) if customer_id else None,
            after_seq=_seq_of(after),
        ) as subscriber:
            while True:
                async for row in subscriber.catch_up():
                    # A connection lives for hours; each event is read fresh, not from a cache.
                    info.context.become(principal)
                    yield _edge(row)
                if not await subscriber.relay():
                    return


def _edge(row: ActivityRow) -> Edge[Activity]:
    return Edge(cursor=cursor_for(row, NEWEST_FIRST), node=Activity.from_row(row))


def _seq_of(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    seq, _ = decode_cursor(cursor)
    if not isinstance(seq, int) or seq < 0:
        raise BadUserInput("Invalid cursor.")
    return seq
