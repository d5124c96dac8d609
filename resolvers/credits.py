"""Credit notes: their balance is applied to the customer's invoices or refunded."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from auth.principals import StaffPrincipal
from auth.scoping import scoped
from models.documents import CreditUse, CreditUseKind, DocumentKind, DocumentStatus, SalesDocument
from resolvers import transactions
from resolvers.documents import payment_status
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker

OPEN_INVOICE = (DocumentStatus.SENT, DocumentStatus.PARTIALLY_PAID)


async def apply_credit(
    principal: StaffPrincipal, credit_note_id: int, invoice_id: int, amount: Decimal
) -> tuple[SalesDocument, SalesDocument]:
    async with transactions.unit_of_work():
        # Both rows locked in id order, so two applications never deadlock or overdraw.
        locked = {
            row.id: row
            for row in await scoped(SalesDocument, principal)
            .filter(id__in=[credit_note_id, invoice_id])
            .order_by("id")
            .select_for_update()
        }
        credit = _of_kind(locked.get(credit_note_id), DocumentKind.CREDIT_NOTE, "creditNoteId")
        invoice = _of_kind(locked.get(invoice_id), DocumentKind.INVOICE, "invoiceId")
        if credit.customer_id != invoice.customer_id:
            raise reject(ErrorCode.INVALID, "Credit and invoice belong to different customers.")
        if credit.currency != invoice.currency:
            raise reject(ErrorCode.CURRENCY_MISMATCH, "Credit and invoice differ in currency.")
        if credit.status != DocumentStatus.SENT or invoice.status not in OPEN_INVOICE:
            raise reject(ErrorCode.INVALID_TRANSITION, "Both must be sent and open.")
        minor = _amount(amount, credit.currency)
        _within(minor, credit.balance_minor, "the credit note's balance")
        _within(minor, invoice.balance_minor, "the invoice's balance due")
        await CreditUse.create(
            organization_id=credit.organization_id, credit_note=credit, invoice=invoice,
            kind=CreditUseKind.APPLIED, amount_minor=minor, used_on=date.today(),
            created_by_id=principal.user.id,
        )  # fmt: skip
        await _spend(credit, minor)
        invoice.balance_minor -= minor
        invoice.status = payment_status(
            invoice.total_minor, invoice.total_minor - invoice.balance_minor
        )
        invoice.version += 1
        await invoice.save(update_fields=["balance_minor", "status", "version", "updated_at"])
    return credit, invoice


async def refund_credit(
    principal: StaffPrincipal, credit_note_id: int, amount: Decimal, reference: str, on: date | None
) -> SalesDocument:
    checker = Checker()
    reference = checker.text(reference, ["reference"], max_length=100)
    checker.raise_if_any()
    async with transactions.unit_of_work():
        row = (
            await scoped(SalesDocument, principal)
            .select_for_update()
            .get_or_none(id=credit_note_id)
        )
        credit = _of_kind(row, DocumentKind.CREDIT_NOTE, "creditNoteId")
        if credit.status != DocumentStatus.SENT:
            raise reject(ErrorCode.INVALID_TRANSITION, "Only an open credit note is refunded.")
        minor = _amount(amount, credit.currency)
        _within(minor, credit.balance_minor, "the credit note's balance")
        await CreditUse.create(
            organization_id=credit.organization_id, credit_note=credit,
            kind=CreditUseKind.REFUNDED, amount_minor=minor, used_on=on or date.today(),
            reference=reference, created_by_id=principal.user.id,
        )  # fmt: skip
        await _spend(credit, minor)
    return credit


async def _spend(credit: SalesDocument, minor: int) -> None:
    credit.balance_minor -= minor
    if credit.balance_minor == 0:
        credit.status = DocumentStatus.CLOSED
    credit.version += 1
    await credit.save(update_fields=["balance_minor", "status", "version", "updated_at"])


def _of_kind(row: SalesDocument | None, kind: DocumentKind, field: str) -> SalesDocument:
    if row is None or row.kind != kind:
        raise reject(ErrorCode.NOT_FOUND, f"No such {kind.lower().replace('_', ' ')}.", [field])
    return row


def _amount(amount: Decimal, currency: str) -> int:
    checker = Checker()
    minor = checker.amount(amount, currency, ["amount"])
    if minor <= 0 and not checker.errors:
        checker.add(ErrorCode.INVALID_AMOUNT, "The amount must be more than zero.", ["amount"])
    checker.raise_if_any()
    return minor


def _within(minor: int, available: int, what: str) -> None:
    if minor > available:
        raise reject(ErrorCode.EXCEEDS_BALANCE, f"The amount is more than {what}.", ["amount"])
