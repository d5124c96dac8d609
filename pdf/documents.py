"""The PDFs of sales documents and payment receipts: what they show, read from the database.

Callers have already decided that the viewer may see the row; everything here loads by id.
Amounts stay integer minor units and dates stay dates: the templates format them in the
customer's portal language, the language its contacts read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from babel import Locale

from integrations.gateways.base import brand_name
from integrations.templating import locale_for
from models.customers import Customer
from models.documents import (
    CreditUse,
    CreditUseKind,
    DocumentKind,
    DocumentStatus,
    LineItem,
    SalesDocument,
)
from models.money import exponent
from models.organizations import Organization
from models.payments import (
    Payment,
    PaymentAllocation,
    PaymentRefund,
    PaymentStatus,
    RefundStatus,
    SavedPaymentMethod,
)
from pdf import cache

PAYABLE = (DocumentKind.INVOICE, DocumentKind.RETAINER_INVOICE)
LINE_FIELDS = ("name", "description", "quantity", "unit", "rate", "discount_percent", "tax_percent",
               "amount_minor")  # fmt: skip
ADDRESS_KEYS = ("attention", "street1", "street2", "city", "state", "zip", "country", "phone")


async def document_pdf(document: SalesDocument) -> bytes:
    context, language = await document_context(document)
    stem = f"{document.kind.lower()}-{document.id}-v{document.version}-{language}"
    return await cache.cached_pdf(stem, "document.html", context, language)


async def receipt_pdf(payment: Payment) -> bytes:
    context, language = await receipt_context(payment)
    stem = f"receipt-{payment.id}-{int(payment.updated_at.timestamp())}-{language}"
    return await cache.cached_pdf(stem, "receipt.html", context, language)


async def document_context(document: SalesDocument) -> tuple[dict[str, Any], str]:
    customer, organization = await customer_and_organization(document.customer_id)
    locale = locale_for(customer.portal_language)
    lines = await (
        LineItem.filter(document_id=document.id).order_by("position", "id").values(*LINE_FIELDS)
    )
    context = {
        "kind": document.kind.value,
        "mark_code": _mark(document),
        "number": document.number,
        "currency": document.currency,
        "issue_date": document.issue_date,
        "due_date": document.due_date,
        "reference": document.reference,
        "customer_notes": document.customer_notes,
        "terms": document.terms,
        "organization": organization_block(organization, locale),
        "customer": customer_block(customer, locale),
        "rate_decimals": exponent(document.currency),
        # Numbers stay Decimal: the worker writes them the customer's way.
        "lines": lines,
        **{
            f"{name}_minor": getattr(document, f"{name}_minor")
            for name in ("subtotal", "discount", "tax", "total", "balance")
        },
        **(await _paid(document) if document.kind in PAYABLE else _nothing_paid()),
    }
    return context, str(locale)


async def receipt_context(payment: Payment) -> tuple[dict[str, Any], str]:
    customer, organization = await customer_and_organization(payment.customer_id)
    locale = locale_for(customer.portal_language)
    context = {
        "number": payment.number,
        "currency": payment.currency,
        "amount_minor": payment.amount_minor,
        "refunded_minor": payment.refunded_minor,
        "paid_on": payment.paid_on,
        "reference": payment.reference,
        "transaction_id": payment.gateway_reference,
        "notes": payment.notes,
        "organization": organization_block(organization, locale),
        "customer": customer_block(customer, locale),
        "lines": await receipt_lines(payment),
        **await payment_method_details(payment),
    }
    return context, str(locale)


async def customer_and_organization(customer_id: int) -> tuple[Customer, Organization]:
    customer = await Customer.filter(id=customer_id).select_related("organization").get()
    return customer, customer.organization


def _mark(document: SalesDocument) -> str:
    if document.status == DocumentStatus.VOID or document.voided_at is not None:
        return "VOID"
    if document.status == DocumentStatus.DRAFT:
        return "DRAFT"
    if document.kind in PAYABLE and document.status == DocumentStatus.PAID:
        return "PAID"
    return ""


async def _paid(document: SalesDocument) -> dict[str, Any]:
    """Payments (those in flight marked pending, failed ones left out), refunds that reopened
    the balance (once given back), and credit notes applied: the rows between the total and
    the balance due."""
    payments = await (
        PaymentAllocation.filter(document_id=document.id)
        .exclude(payment__status=PaymentStatus.FAILED)
        .order_by("applied_on", "id")
        .values(
            "amount_minor", date="applied_on", number="payment__number", status="payment__status"
        )
    )
    # Refunds exist only where payments do, and credits applied leave the balance below the
    # total: an invoice nobody has paid costs one query here.
    refunds = await _refunds(document.id) if payments else []
    credits = await _credits(document.id) if document.balance_minor < document.total_minor else []
    for row in payments:
        row["pending"] = row.pop("status") != PaymentStatus.SUCCEEDED
    settled = [row for row in payments if not row["pending"]]
    return {
        "payments": payments,
        "refunds": refunds,
        "credits": credits,
        "payments_minor": _sum(settled) - _sum(refunds),
        "credits_minor": _sum(credits),
    }


async def _refunds(document_id: int) -> list[dict[str, Any]]:
    return await (
        PaymentRefund.filter(document_id=document_id, status=RefundStatus.SUCCEEDED)
        .order_by("refunded_on", "id")
        .values("amount_minor", date="refunded_on", number="payment__number")
    )


async def _credits(document_id: int) -> list[dict[str, Any]]:
    return await (
        CreditUse.filter(invoice_id=document_id, kind=CreditUseKind.APPLIED)
        .order_by("used_on", "id")
        .values("amount_minor", date="used_on", number="credit_note__number")
    )


def _sum(rows: list[dict[str, Any]]) -> int:
    return sum(row["amount_minor"] for row in rows)


def _nothing_paid() -> dict[str, Any]:
    return {"payments": [], "refunds": [], "credits": [], "payments_minor": 0, "credits_minor": 0}


async def receipt_lines(payment: Payment) -> list[dict[str, Any]]:
    """What the payment paid of each document, and what is still due on it."""
    allocations = await PaymentAllocation.filter(payment_id=payment.id).order_by("id")
    paid: dict[int, int] = {}
    for allocation in allocations:
        paid[allocation.document_id] = paid.get(allocation.document_id, 0) + allocation.amount_minor
    documents = {d.id: d for d in await SalesDocument.filter(id__in=list(paid))}
    return lines_of([(documents[document_id], minor) for document_id, minor in paid.items()])


def lines_of(paid: Iterable[tuple[SalesDocument, int]]) -> list[dict[str, Any]]:
    """A receipt's lines: each document with what the payment paid of it and what is still due."""
    return [
        {
            "number": document.number,
            "currency": document.currency,
            "paid_minor": minor,
            "balance_minor": document.balance_minor,
        }
        for document, minor in paid
    ]


async def payment_method_details(payment: Payment) -> dict[str, str]:
    """The saved card or account when known; a method used once, or removed since, leaves only
    the payment's mode."""
    saved = (
        await SavedPaymentMethod.get_or_none(id=payment.payment_method_id)
        if payment.payment_method_id
        else None
    )
    brand = saved.brand if saved else ""
    return {
        "mode": payment.mode.value,
        "card_brand": brand_name(brand),
        "bank_name": saved.bank_name if saved else "",
        "last4": saved.last4 if saved else "",
    }


def organization_block(organization: Organization, locale: Locale) -> dict[str, Any]:
    return {
        "name": organization.name,
        "address": address_lines(organization.address, locale),
        "email": organization.email,
        "phone": organization.phone,
    }


def customer_block(customer: Customer, locale: Locale) -> dict[str, Any]:
    return {
        "name": customer.display_name,
        "billing_address": address_lines(customer.billing_address, locale),
        "shipping_address": address_lines(customer.shipping_address, locale),
    }


def address_lines(address: Mapping[str, Any] | None, locale: Locale) -> list[str]:
    """An address as printed: attention, streets, city line, country name, phone."""
    parts = {key: str((address or {}).get(key) or "").strip() for key in ADDRESS_KEYS}
    region = " ".join(filter(None, (parts["state"], parts["zip"])))
    country = parts["country"].upper()
    return [
        line
        for line in (
            parts["attention"],
            parts["street1"],
            parts["street2"],
            ", ".join(filter(None, (parts["city"], region))),
            locale.territories.get(country, country) if country else "",
            parts["phone"],
        )
        if line
    ]
