"""Receipts: the contact who paid online gets one by email once the payment has succeeded."""

from __future__ import annotations

from typing import Any

from integrations.gateways.base import brand_name
from models.customers import ContactPerson, Customer
from models.documents import SalesDocument
from models.organizations import Organization
from models.payments import Payment, PaymentAllocation, PaymentMode, SavedPaymentMethod
from resolvers import links
from resolvers.email import enqueue_email

TEMPLATE = "payment_receipt"


async def enqueue_receipt(
    payment: Payment, documents: list[SalesDocument], to: ContactPerson | None = None
) -> None:
    """Queues the receipt for `to` (default: the contact who paid) in the customer's portal
    language. Call it inside the unit of work that marks the payment succeeded, so the receipt
    is sent only if that commits."""
    payer = to
    if payer is None and payment.paid_by_id:
        payer = await ContactPerson.get_or_none(id=payment.paid_by_id)
    if payer is None or not payer.email:
        return
    organization = await Organization.get(id=payment.organization_id)
    # The portal language is kept per customer; it is the language its contacts read.
    customer = await Customer.get(id=payment.customer_id)
    context = {
        "organization_name": organization.name,
        "contact_name": payer.display_name,
        "payment_number": payment.number,
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "paid_on": payment.paid_on,
        "transaction_id": payment.gateway_reference,
        "lines": await _lines(payment, documents),
        "link": links.current().portal(organization.portal_name),
        **await _method(payment),
    }
    await enqueue_email(
        to=payer.email,
        template=TEMPLATE,
        context=context,
        language=customer.portal_language,
        organization_id=organization.id,
        reply_to=organization.email,
    )


async def _lines(payment: Payment, documents: list[SalesDocument]) -> list[dict[str, Any]]:
    """What the payment paid of each document, and what is still due on it."""
    paid: dict[int, int] = {}
    for document_id, minor in await PaymentAllocation.filter(payment_id=payment.id).values_list(
        "document_id", "amount_minor"
    ):
        paid[document_id] = paid.get(document_id, 0) + minor
    return [
        {
            "number": document.number,
            "currency": document.currency,
            "paid_minor": paid.get(document.id, 0),
            "balance_minor": document.balance_minor,
        }
        for document in documents
    ]


async def _method(payment: Payment) -> dict[str, str]:
    """What the template needs to name the method; the saved method's details when known (a
    method used once, or removed since, leaves only the payment's mode)."""
    saved = (
        await SavedPaymentMethod.get_or_none(id=payment.payment_method_id)
        if payment.payment_method_id
        else None
    )
    brand = saved.brand if saved else ""
    return {
        "mode": PaymentMode(payment.mode).value,
        "card_brand": brand_name(brand),
        "bank_name": saved.bank_name if saved else "",
        "last4": saved.last4 if saved else "",
    }
