from __future__ import annotations

from datetime import datetime

import strawberry

from models.outbox import OutboxMessage
from resolvers import outgoing_email
from resolvers.outgoing_email import EmailStatus as EmailStatusValue
from resolvers.pagination import Ordering
from schema.context import Info
from schema.customers import ContactPerson
from schema.edge import EMAIL_LENGTH, limited
from schema.permissions import IsAdmin
from schema.relay import Connection, ModelNode, connection

EmailStatus = strawberry.enum(
    EmailStatusValue,
    name="EmailStatus",
    description="QUEUED: waiting to be sent, or to be retried after a failure that may pass "
    "(see `retrying`); SENT: the mail server took it; FAILED: refused for good, not retried.",
)


@strawberry.type(
    description="An email Portico sent or is sending: who to, what kind, and what became of "
    "it. Its body and any link in it are never shown."
)
class OutgoingEmail(ModelNode):
    model = OutboxMessage

    id: strawberry.relay.NodeID[int]
    recipient: str
    kind: str = strawberry.field(
        description="The template it was written from, e.g. portal_invitation, password_reset, "
        "payment_receipt, activity_notification."
    )
    subject: str
    status: EmailStatus  # type: ignore[valid-type]
    attempts: int = strawberry.field(description="Delivery attempts made so far.")
    retrying: bool = strawberry.field(
        description="QUEUED again after a failed attempt; `failureReason` says why it failed."
    )
    failure_reason: str | None = strawberry.field(
        description="The mail server's answer or the connection error of the last failed "
        "attempt (shortened); null once sent or before any attempt."
    )
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due, while QUEUED."
    )
    queued_at: datetime
    sent_at: datetime | None
    _contact_id: strawberry.Private[int | None]

    @strawberry.field(description="The contact person the email is about, if any.")
    async def contact_person(self, info: Info) -> ContactPerson | None:
        return await ContactPerson.load(info, self._contact_id)

    @classmethod
    def from_row(cls, row: OutboxMessage) -> OutgoingEmail:
        status = outgoing_email.status_of(row)
        return cls(
            id=row.id,
            recipient=row.to_address,
            kind=row.template,
            subject=row.subject,
            status=status,
            attempts=row.attempts,
            retrying=outgoing_email.is_retrying(row),
            failure_reason=outgoing_email.failure_reason(row),
            next_attempt_at=row.next_attempt_at if status == EmailStatusValue.QUEUED else None,
            queued_at=row.created_at,
            sent_at=row.sent_at,
            _contact_id=row.contact_id,
        )


@strawberry.input
class OutgoingEmailFilter:
    status: EmailStatus | None = None  # type: ignore[valid-type]
    recipient: str | None = limited(EMAIL_LENGTH, default=None, description="Exact email address.")


@strawberry.type
class OutgoingEmailQueries:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Administrators only: the organization's email, newest first.",
    )
    async def outgoing_emails(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: OutgoingEmailFilter | None = None,
    ) -> Connection[OutgoingEmail]:
        where = outgoing_email.where(
            filter.status if filter else None, filter.recipient if filter else None
        )
        newest_first = Ordering("created_at", descending=True)
        return await connection(
            info, OutgoingEmail, where=where, order_by=newest_first, first=first, after=after
        )
