"""Portal activity: recorded with the change that caused it, published after it commits,
and followed live by subscribers who can resume from a cursor without gaps or repeats."""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import AsyncIterator
from datetime import datetime
from functools import partial
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient

from auth.prepared import PreparedQuery
from auth.principals import ContactPrincipal, PartnerPrincipal, Principal, StaffPrincipal
from auth.scoping import can_see, scoped
from integrations import broker
from models.activity import Activity, ActivityKind, ActorKind
from resolvers import transactions

logger = logging.getLogger("portico.activity")

# Kinds a portal contact sees in its customer's feed, unless the caller says otherwise.
CUSTOMER_SEES = frozenset(
    {
        ActivityKind.DOCUMENT_SHARED,
        ActivityKind.PAYMENT_MADE,
        ActivityKind.PAYMENT_PENDING,
        ActivityKind.PAYMENT_SETTLED,
        ActivityKind.PAYMENT_FAILED,
        ActivityKind.PAYMENT_REFUNDED,
    }
)
_ACTIVITY_LOCK_NAMESPACE = 7_283


def record(
    kind: ActivityKind,
    *,
    actor: Principal | None,
    organization_id: int,
    customer_id: int | None = None,
    document: tuple[str, int | None, str] = ("", None, ""),
    data: dict[str, Any] | None = None,
    visible_to_customer: bool | None = None,
) -> None:
    work = transactions.current()
    if work is None:
        raise RuntimeError("record() belongs inside transactions.unit_of_work()")
    pending: list[Activity] = work.state.setdefault(__name__, [])
    # Written last, so the stream lock is held only for the commit itself.
    work.before_commit[__name__] = lambda connection: _write(connection, pending)
    actor_kind, staff_id, contact_id, actor_name = actor_of(actor)
    document_type, document_id, document_number = document
    pending.append(
        Activity(
            organization_id=organization_id,
            customer_id=customer_id,
            kind=kind,
            actor_kind=actor_kind,
            actor_staff_id=staff_id,
            actor_contact_id=contact_id,
            actor_name=actor_name,
            document_type=document_type,
            document_id=document_id,
            document_number=document_number,
            data=data or {},
            visible_to_customer=kind in CUSTOMER_SEES
            if visible_to_customer is None
            else visible_to_customer,
        )
    )


def actor_of(principal: Principal | None) -> tuple[ActorKind, int | None, int | None, str]:
    """Kind, staff user id, contact id and display name of whoever acts."""
    match principal:
        case StaffPrincipal():
            return ActorKind.STAFF, principal.user.id, None, principal.user.name
        case ContactPrincipal():
            contact = principal.contact
            return ActorKind.CONTACT, None, contact.id, contact.display_name
        case PartnerPrincipal():
            return ActorKind.PARTNER, None, None, principal.api_key.name
    return ActorKind.SYSTEM, None, None, "Portico"


async def _write(connection: BaseDBAsyncClient, pending: list[Activity]) -> None:
    # Imported here: notifications read preferences, whose changes are recorded as activity.
    from resolvers.notifications import notify_staff

    for row in pending:
        await _lock_stream(connection, row.organization_id)
        row.seq = await stream_top(row.organization_id) + 1
        await row.save()
        await notify_staff(row)
        message = {"type": "activity", **to_payload(row)}
        await transactions.after_commit(partial(_publish, row.organization_id, message))
    pending.clear()


async def _lock_stream(connection: BaseDBAsyncClient, organization_id: int) -> None:
    """Hold the organization's stream until commit, so seq follows commit order.

    SQLite needs nothing: it runs one write transaction at a time.
    """
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query(
            "SELECT pg_advisory_xact_lock($1, $2)", [_ACTIVITY_LOCK_NAMESPACE, organization_id]
        )


# Read with every activity written and by every follower: rendered to SQL once (auth.prepared).
_TOP = PreparedQuery[int | None](
    lambda organization_id: (
        Activity.filter(organization_id=organization_id)
        .order_by("-seq")
        .first()
        .values_list("seq", flat=True)
    )
)


async def stream_top(organization_id: int) -> int:
    """The newest position in the organization's stream (0 when empty)."""
    return int(await _TOP.run(organization_id=organization_id) or 0)


def channel_for(organization_id: int) -> str:
    return f"org.{organization_id}"


async def _publish(organization_id: int, message: dict[str, Any]) -> None:
    try:
        await broker.current().publish(channel_for(organization_id), message)
    except Exception:  # the change is committed; subscribers will catch up from the database
        logger.exception("Could not publish to %s", channel_for(organization_id))


async def announce_access_change(organization_id: int) -> None:
    """Tell open subscriptions to check that their login still stands."""
    await _publish(organization_id, {"type": "access"})


def to_payload(row: Activity) -> dict[str, Any]:
    return {
        "id": row.id,
        "seq": row.seq,
        "organization_id": row.organization_id,
        "customer_id": row.customer_id,
        "kind": str(row.kind),
        "actor_kind": str(row.actor_kind),
        "actor_staff_id": row.actor_staff_id,
        "actor_contact_id": row.actor_contact_id,
        "actor_name": row.actor_name,
        "document_type": row.document_type,
        "document_id": row.document_id,
        "document_number": row.document_number,
        "data": row.data,
        "visible_to_customer": row.visible_to_customer,
        "created_at": row.created_at.isoformat(),
    }


def from_payload(payload: dict[str, Any]) -> Activity:
    fields = {key: value for key, value in payload.items() if key != "type"}
    fields["kind"] = ActivityKind(fields["kind"])
    fields["actor_kind"] = ActorKind(fields["actor_kind"])
    fields["created_at"] = datetime.fromisoformat(fields["created_at"])
    return Activity(**fields)


REPLAY_CHUNK = 100
IDLE_SECONDS = 30.0
# Yielded by a Follower when a login in the organization may have ended (a logout, a disabled
# user or contact, a revoked key): each subscriber checks its own.
ACCESS_CHANGED: Final = "access-changed"


class Position:
    """Where a reader is in its organization's stream, and what it may see there.

    `last` only moves once the reader is done with an event (it resumes after the yield), so
    every event up to `last` that the reader may see has been handed over.
    """

    def __init__(self, principal: Principal, customer_id: int | None, last: int) -> None:
        self.principal = principal
        self.customer_id = customer_id
        self.last = last

    async def catch_up(self, upto: int) -> AsyncIterator[Activity]:
        """What the database holds after `last` and up to `upto`."""
        while self.last < upto:
            query = scoped(Activity, self.principal).filter(seq__gt=self.last, seq__lte=upto)
            if self.customer_id is not None:
                query = query.filter(customer_id=self.customer_id)
            rows = await query.order_by("seq").limit(REPLAY_CHUNK)
            for row in rows:
                yield row
                self.last = row.seq
            if len(rows) < REPLAY_CHUNK:
                self.last = upto

    async def take(self, row: Activity) -> AsyncIterator[Activity]:
        """A published event, after whatever the database has before it; nothing twice.

        Positions are contiguous per organization, so a jump means an event was published out
        of order or lost on the way, and the database fills the gap.
        """
        if row.seq <= self.last:
            return
        async for earlier in self.catch_up(row.seq - 1):
            yield earlier
        if can_see(self.principal, row) and self.customer_id in (None, row.customer_id):
            yield row
        self.last = row.seq


class Follower:
    """A reader of an organization's stream from the moment it started following: each event
    it may see exactly once and in order, and ACCESS_CHANGED whenever logins may have ended.

    A RESYNC (after a broker outage or when the reader fell behind) and every idle tick also
    read whatever the database has beyond `position`.
    """

    def __init__(self, subscription: broker.Subscription, position: Position) -> None:
        self.subscription = subscription
        self.position = position

    async def events(self) -> AsyncIterator[Activity | str]:
        organization_id = self.position.principal.organization_id
        assert organization_id is not None
        while True:
            message = await self.subscription.next(within=_idle_tick())
            if _is_access_change(message):
                yield ACCESS_CHANGED
            elif isinstance(message, dict) and message.get("type") == "activity":
                async for row in self.position.take(from_payload(message)):
                    yield row
            elif message is None or message == broker.RESYNC:
                async for row in self.position.catch_up(await stream_top(organization_id)):
                    yield row


@contextlib.asynccontextmanager
async def following(principal: Principal, customer_id: int | None) -> AsyncIterator[Follower]:
    """Follows the principal's activity (of one customer, if given) from now on."""
    organization_id = principal.organization_id
    assert organization_id is not None
    # Subscribed before reading the top, so that nothing committed in between is missed.
    async with broker.current().subscribe(channel_for(organization_id)) as subscription:
        top = await stream_top(organization_id)
        yield Follower(subscription, Position(principal, customer_id, top))


def _idle_tick() -> float:
    # Spread out, or every follower woken by the same event checks in at the same moment.
    return IDLE_SECONDS * random.uniform(0.75, 1.25)  # noqa: S311 - not a secret


def _is_access_change(message: broker.Message | None) -> bool:
    return isinstance(message, dict) and message.get("type") == "access"
