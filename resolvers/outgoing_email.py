"""What became of outgoing email, as staff follow it: each contact's last invitation and the
organization's recent messages. Only the envelope and the outcome: bodies, with the links they
carry, stay sealed in the outbox and are dropped once a message is sent or refused."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING

from tortoise.expressions import Q, Subquery
from tortoise.functions import Max

from models.outbox import OutboxMessage, OutboxStatus

if TYPE_CHECKING:
    from strawberry.dataloader import DataLoader

    from resolvers.loaders import Loaders

INVITATION_TEMPLATE = "portal_invitation"


class EmailStatus(StrEnum):
    # Waiting for its first attempt, or for a retry after a transient failure.
    QUEUED = "QUEUED"
    SENT = "SENT"
    # Refused for good; no retry follows.
    FAILED = "FAILED"


_STORED = {
    EmailStatus.QUEUED: OutboxStatus.PENDING,
    EmailStatus.SENT: OutboxStatus.SENT,
    EmailStatus.FAILED: OutboxStatus.FAILED,
}
_SHOWN = {stored: shown for shown, stored in _STORED.items()}


def status_of(row: OutboxMessage) -> EmailStatus:
    return _SHOWN[OutboxStatus(row.status)]


def is_retrying(row: OutboxMessage) -> bool:
    """Queued again after a failed attempt; the outbox retries until the server takes it."""
    return row.status == OutboxStatus.PENDING and row.attempts > 0


def failure_reason(row: OutboxMessage) -> str | None:
    """Why the last attempt failed (the mail server's reply or the connection error, as the
    outbox recorded it without links or codes); None once sent or before any attempt."""
    if row.status == OutboxStatus.SENT or not row.last_error:
        return None
    return row.last_error


def where(status: EmailStatus | None, recipient: str | None) -> Q:
    query = Q()
    if status is not None:
        query &= Q(status=_STORED[status])
    if recipient:
        query &= Q(to_address=recipient.strip().lower())
    return query


def last_invitation_loader(loaders: Loaders) -> DataLoader[int, OutboxMessage | None]:
    """Each contact's latest invitation email, for contact ids the caller can already see,
    in one statement for any number of contacts."""
    organization_id = loaders.principal.organization_id  # type: ignore[union-attr]
    return loaders.keyed(
        ("last-invitation-email", organization_id), partial(_last_invitations, organization_id)
    )


async def _last_invitations(
    organization_id: int, contact_ids: Sequence[int]
) -> list[OutboxMessage | None]:
    latest = (
        OutboxMessage.filter(
            organization_id=organization_id,
            contact_id__in=list(contact_ids),
            template=INVITATION_TEMPLATE,
        )
        .annotate(latest_id=Max("id"))
        .group_by("contact_id")
        .values("latest_id")
    )
    rows = await OutboxMessage.filter(id__in=Subquery(latest))
    by_contact = {row.contact_id: row for row in rows}
    return [by_contact.get(contact_id) for contact_id in contact_ids]
