"""Payments received from customers, as staff record them: what each paid, and retainer money
applied to invoices (refunds are `resolvers.refunds`). Balances and statuses follow through
`balances.settle`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from auth.principals import Principal, StaffPrincipal
from auth.scoping import scoped
from models.activity import ActivityKind
from models.customers import ContactPerson, Customer
from models.documents import DocumentKind, SalesDocument
from models.payments import (
    Payment,
    PaymentAllocation,
    PaymentKind,
    PaymentMode,
    PaymentStatus,
)
from resolvers import activity, calendars, reviews, transactions
from resolvers.balances import (
    amount_in,
    available,
    held_by_refunds,
    lock_documents,
    of_kind,
    require_open,
    reserved,
    settle,
    unreserved,
    within,
)
from resolvers.customers import get_customer
from resolvers.errors import ErrorCode, reject
from resolvers.numbering import next_number
from resolvers.receipts import enqueue_receipt
from resolvers.validation import Checker

PAYABLE = (DocumentKind.INVOICE, DocumentKind.RETAINER_INVOICE)
INVOICE = (DocumentKind.INVOICE,)
MAX_ALLOCATIONS = 50
SERIES, PREFIX = "PAYMENT", "PAY"
REQUEST_REVIEW = ("requestReview",)


@dataclass(frozen=True)
class Allocation:
    document_id: int
    amount: Decimal


@dataclass(frozen=True)
class PaymentDetails:
    mode: PaymentMode
    paid_on: date | None = None
    reference: str = ""
    notes: str = ""
    internal_notes: str = ""
    # Email the customer's primary contact a receipt.
    send_receipt: bool = False
    # Ask the customer for a review, in the same transaction.
    request_review: bool = False


async def record_payment(
    principal: StaffPrincipal,
    customer_id: int,
    allocations: list[Allocation],
    details: PaymentDetails,
) -> Payment:
    """A payment the business received outside the portal (cash, cheque, transfer, a card
    terminal): it pays invoices, or one retainer invoice, of one customer."""
    details = _clean(details, await calendars.today(principal.organization_id))
    check_allocations(allocations)
    customer = await get_customer(principal, customer_id, field="customerId")
    ask = await _review_recipients(principal, customer, details)
    async with transactions.unit_of_work():
        locked = await lock_documents(principal, [a.document_id for a in allocations])
        documents, amounts = validated(customer.id, allocations, locked, await reserved(locked))
        kind = kind_of(documents)
        total = sum(amounts)
        payment = await Payment.create(
            organization_id=principal.organization_id,
            customer_id=customer.id,
            number=await next_number(principal.organization_id, SERIES, PREFIX),
            kind=kind,
            mode=details.mode,
            status=PaymentStatus.SUCCEEDED,
            currency=documents[0].currency,
            amount_minor=total,
            unused_minor=total if kind == PaymentKind.RETAINER_PAYMENT else 0,
            paid_on=details.paid_on,
            reference=details.reference,
            notes=details.notes,
            internal_notes=details.internal_notes,
            recorded_by_id=principal.user.id,
        )
        paid = list(zip(documents, amounts, strict=True))
        await allocate(payment, paid, payment.paid_on)
        _record(ActivityKind.PAYMENT_MADE, principal, payment)
        if details.send_receipt:
            await enqueue_receipt(payment, paid, to=await _receipt_contact(customer.id))
        if ask:
            await reviews.send_request(principal, ask, field=REQUEST_REVIEW, payment=payment)
    return payment


async def apply_retainer(
    principal: StaffPrincipal, payment_id: int, invoice_id: int, amount: Decimal
) -> tuple[Payment, SalesDocument]:
    """Pays an invoice from the customer's unused retainer money."""
    async with transactions.unit_of_work():
        payment = await locked_payment(principal, payment_id)
        invoice = of_kind((await lock_documents(principal, [invoice_id])).get(invoice_id),
                          INVOICE, ["invoiceId"])  # fmt: skip
        if payment.kind != PaymentKind.RETAINER_PAYMENT:
            raise reject(ErrorCode.INVALID, "Only retainer payments are applied.", ["paymentId"])
        if payment.customer_id != invoice.customer_id:
            raise reject(ErrorCode.INVALID, "They belong to different customers.", ["invoiceId"])
        if payment.currency != invoice.currency:
            raise reject(ErrorCode.CURRENCY_MISMATCH, "They differ in currency.", ["invoiceId"])
        require_open(invoice, ["invoiceId"])
        minor = amount_in(amount, payment.currency)
        # Refunds in progress give back unused retainer money first: it is not there to apply.
        unused = payment.unused_minor - (await held_by_refunds(payment.id)).unused_minor
        within(minor, unused, "the unused retainer")
        within(minor, (await available([invoice]))[invoice.id], "the invoice's balance due")
        payment.unused_minor -= minor
        await payment.save(update_fields=["unused_minor", "updated_at"])
        await allocate(payment, [(invoice, minor)], await calendars.today(payment.organization_id))
    return payment, invoice


async def allocate(
    payment: Payment,
    paid: Sequence[tuple[SalesDocument, int]],
    on: date,
    *,
    settled: bool = True,
) -> None:
    """What the payment pays of each document, in one statement however many there are.
    `settled=False` for an online payment in flight: the allocations hold the balance and take
    it off only when the gateway says the money came."""
    await PaymentAllocation.bulk_create(
        [
            PaymentAllocation(
                organization_id=payment.organization_id,
                customer_id=payment.customer_id,
                payment=payment,
                document=document,
                amount_minor=minor,
                applied_on=on,
            )
            for document, minor in paid
        ]
    )
    if settled:
        await settle(paid)


def validated(
    customer_id: int,
    allocations: list[Allocation],
    locked: dict[int, SalesDocument],
    held: dict[int, int],
) -> tuple[list[SalesDocument], list[int]]:
    """The documents to pay, in the request's order, and the amount for each in minor units;
    `held` is what payments in flight hold of them (`balances.reserved`)."""
    documents: list[SalesDocument] = []
    amounts: list[int] = []
    for index, allocation in enumerate(allocations):
        field = ["allocations", str(index)]
        document = of_kind(locked.get(allocation.document_id), PAYABLE, [*field, "documentId"])
        if document.customer_id != customer_id:
            raise reject(ErrorCode.INVALID, "It belongs to another customer.", [*field])
        require_open(document, [*field, "documentId"])
        if documents and document.currency != documents[0].currency:
            raise reject(ErrorCode.CURRENCY_MISMATCH, "One payment has one currency.", field)
        documents.append(document)
        amounts.append(amount_in(allocation.amount, document.currency, [*field, "amount"]))
    free = unreserved(documents, held)
    for index, (document, minor) in enumerate(zip(documents, amounts, strict=True)):
        within(minor, free[document.id], _what_is_free(document, free[document.id]),
               ["allocations", str(index), "amount"])  # fmt: skip
    return documents, amounts


def _what_is_free(document: SalesDocument, free: int) -> str:
    if free == document.balance_minor:
        return f"the balance due of {document.number}"
    return f"what is left of {document.number} once the payments in progress complete"


def kind_of(documents: list[SalesDocument]) -> PaymentKind:
    retainers = [d for d in documents if d.kind == DocumentKind.RETAINER_INVOICE]
    if not retainers:
        return PaymentKind.INVOICE_PAYMENT
    if len(documents) > 1:
        raise reject(
            ErrorCode.INVALID,
            "A retainer invoice is paid on its own, not together with other documents.",
            ["allocations"],
        )
    return PaymentKind.RETAINER_PAYMENT


def check_allocations(allocations: list[Allocation]) -> None:
    if not allocations:
        raise reject(ErrorCode.REQUIRED, "Say which invoices the payment pays.", ["allocations"])
    if len(allocations) > MAX_ALLOCATIONS:
        raise reject(ErrorCode.INVALID, f"At most {MAX_ALLOCATIONS} documents.", ["allocations"])
    if len({a.document_id for a in allocations}) != len(allocations):
        raise reject(ErrorCode.DUPLICATE, "Each document once.", ["allocations"])


def _clean(details: PaymentDetails, today: date) -> PaymentDetails:
    checker = Checker()
    cleaned = PaymentDetails(
        mode=details.mode,
        paid_on=details.paid_on or today,
        reference=checker.text(details.reference, ["reference"], max_length=100),
        notes=checker.text(details.notes, ["notes"], max_length=2000),
        internal_notes=checker.text(details.internal_notes, ["internalNotes"], max_length=2000),
        send_receipt=details.send_receipt,
        request_review=details.request_review,
    )
    if cleaned.paid_on > today:
        checker.add(ErrorCode.INVALID, "A payment cannot be dated in the future.", ["paidOn"])
    checker.raise_if_any()
    return cleaned


async def _review_recipients(
    principal: StaffPrincipal, customer: Customer, details: PaymentDetails
) -> list[ContactPerson]:
    """Whom a review request with this payment goes to. Checked before anything is written:
    no payment is recorded with a request that cannot be made."""
    if not details.request_review:
        return []
    await reviews.require_on(principal.organization_id, REQUEST_REVIEW)
    return await reviews.recipients_for(customer, field=REQUEST_REVIEW)


async def _receipt_contact(customer_id: int) -> ContactPerson:
    contact = await ContactPerson.filter(customer_id=customer_id, is_primary=True).first()
    if contact is None or not contact.email:
        raise reject(
            ErrorCode.NO_PRIMARY_CONTACT,
            "The customer has no primary contact with an email address for the receipt.",
            ["sendReceipt"],
        )
    return contact


async def locked_payment(principal: StaffPrincipal, payment_id: int) -> Payment:
    payment = await scoped(Payment, principal).select_for_update().get_or_none(id=payment_id)
    if payment is None:
        raise reject(ErrorCode.NOT_FOUND, "No such payment.", ["paymentId"])
    return payment


def _record(kind: ActivityKind, principal: StaffPrincipal, payment: Payment) -> None:
    activity.record(
        kind,
        actor=principal,
        organization_id=payment.organization_id,
        customer_id=payment.customer_id,
        document=("PAYMENT", payment.id, payment.number),
        data={"amount_minor": payment.amount_minor, "currency": payment.currency},
    )


async def allocations_of(
    principal: Principal, document_ids: Sequence[int]
) -> list[list[PaymentAllocation]]:
    """What each document was paid, for a DataLoader; attempts that failed paid nothing."""
    rows = await (
        scoped(PaymentAllocation, principal)
        .filter(document_id__in=list(document_ids))
        .exclude(payment__status=PaymentStatus.FAILED)
        .order_by("id")
    )
    grouped: dict[int, list[PaymentAllocation]] = {document_id: [] for document_id in document_ids}
    for row in rows:
        grouped[row.document_id].append(row)
    return [grouped[document_id] for document_id in document_ids]
