"""Email to be sent: rendered now, written to the outbox with its body sealed, delivered by
integrations.outbox.

Call these inside the unit of work of the change the email is about (`transactions`): the
outbox row then commits or rolls back with that change, so no email goes out for a change that
never happened, and none is lost for one that did.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import Any

from integrations import outbox
from integrations.outbox import EmailBody
from integrations.templating import RenderedEmail, render_email
from models.activity import ActivityKind
from models.outbox import OutboxMessage, OutboxStatus
from resolvers import transactions

ACTIVITY_TEMPLATE = "activity_notification"


async def enqueue_email(
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    language: str,
    organization_id: int | None = None,
    reply_to: str = "",
    attachments: list[dict[str, Any]] | None = None,
    contact_id: int | None = None,
) -> OutboxMessage:
    """Renders `template` in the recipient's language and queues it for delivery.
    `attachments` are rendered when the message is sent (see `outbox.use_attachment_loader`);
    `contact_id` names the contact person the email is about, for staff to follow it."""
    _check_addresses(to, reply_to)
    rendered = render_email(template, context, language)
    return await _queue(to, rendered, template, organization_id, reply_to, attachments, contact_id)


async def enqueue_rendered(
    *,
    to: str,
    rendered: RenderedEmail,
    template: str,
    organization_id: int | None = None,
    reply_to: str = "",
    attachments: list[dict[str, Any]] | None = None,
) -> OutboxMessage:
    """Queues an email rendered by the caller, e.g. from wording the organization wrote."""
    _check_addresses(to, reply_to)
    return await _queue(to, rendered, template, organization_id, reply_to, attachments, None)


async def _queue(
    to: str,
    rendered: RenderedEmail,
    template: str,
    organization_id: int | None,
    reply_to: str,
    attachments: list[dict[str, Any]] | None,
    contact_id: int | None,
) -> OutboxMessage:
    message_id = f"<{uuid.uuid4().hex}@portico>"
    body = EmailBody(rendered.text, rendered.html)
    message = await OutboxMessage.create(
        organization_id=organization_id,
        contact_id=contact_id,
        message_id=message_id,
        to_address=to,
        reply_to=reply_to,
        subject=rendered.subject[:300],
        sealed_body=outbox.seal_body(body, message_id=message_id, to_address=to),
        template=template,
        attachments=attachments or [],
        status=OutboxStatus.PENDING,
        next_attempt_at=datetime.now(UTC),
    )
    # Delivery is woken only once the row is committed and so visible to it.
    await transactions.after_commit(outbox.wake)
    return message


async def enqueue_activity_email(
    *,
    to: str,
    language: str,
    organization_id: int,
    organization_name: str,
    timezone: str,
    kind: ActivityKind,
    actor_name: str,
    occurred_at: datetime,
    link: str,
    customer_name: str = "",
    document_number: str = "",
    amount_minor: int | None = None,
    currency: str = "",
    reply_to: str = "",
) -> OutboxMessage:
    """Tells a staff user what happened in the customer portal (one `Activity`)."""
    if amount_minor is not None and not currency:
        raise ValueError("An amount needs its currency")
    context = {
        "organization_name": organization_name,
        "actor_name": actor_name,
        "customer_name": customer_name,
        "kind": ActivityKind(kind),
        "document_number": document_number,
        "occurred_at": occurred_at,
        "timezone": timezone,
        "amount_minor": amount_minor,
        "currency": currency,
        "link": link,
    }
    return await enqueue_email(
        to=to,
        template=ACTIVITY_TEMPLATE,
        context=context,
        language=language,
        organization_id=organization_id,
        reply_to=reply_to,
    )


def _check_addresses(to: str, reply_to: str) -> None:
    _check_address(to)
    if reply_to:
        _check_address(reply_to)


def _check_address(address: str) -> None:
    """One plain address: anything else is a bug in the caller, not a delivery problem."""
    try:
        valid = bool(Address(addr_spec=address).domain)
    except (ValueError, IndexError, HeaderParseError):
        valid = False
    if not valid:
        raise ValueError(f"Not an email address: {address!r}")
