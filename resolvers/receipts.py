"""Receipts: the contact who paid online gets one by email once the payment has succeeded."""

from __future__ import annotations

from collections.abc import Sequence

from models.customers import ContactPerson, Customer
from models.documents import SalesDocument
from models.organizations import Organization
from models.payments import Payment
from pdf.documents import lines_of, payment_method_details
from resolvers import links, request_rows
from resolvers.email import enqueue_email

TEMPLATE = "payment_receipt"


async def enqueue_receipt(
    payment: Payment,
    paid: Sequence[tuple[SalesDocument, int]],
    to: ContactPerson | None = None,
) -> None:
    """Queues the receipt for `to` (default: the contact who paid) in the customer's portal
    language. `paid` is each document as the payment left it, with what the payment paid of
    it. Call it inside the unit of work that marks the payment succeeded, so the receipt is
    sent only if that commits."""
    payer = to
    if payer is None and payment.paid_by_id:
        payer = await request_rows.get_or_none(ContactPerson, payment.paid_by_id)
    if payer is None or not payer.email:
        return
    organization = await request_rows.get(Organization, payment.organization_id)
    # The portal language is kept per customer; it is the language its contacts read.
    customer = await request_rows.get(Customer, payment.customer_id)
    context = {
        "organization_name": organization.name,
        "contact_name": payer.display_name,
        "payment_number": payment.number,
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "paid_on": payment.paid_on,
        "transaction_id": payment.gateway_reference,
        "lines": lines_of(paid),
        "link": links.current().portal(organization.portal_name),
        **await payment_method_details(payment),
    }
    await enqueue_email(
        to=payer.email,
        template=TEMPLATE,
        context=context,
        language=customer.portal_language,
        organization_id=organization.id,
        reply_to=organization.email,
    )
