"""Credit notes: their balance is applied to the customer's invoices or refunded."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from auth.principals import StaffPrincipal
from auth.scoping import scoped
from models.documents import CreditUse, CreditUseKind, DocumentKind, DocumentStatus, SalesDocument
from resolvers import calendars, transactions
from resolvers.balances import (
    amount_in,
    available,
    lock_documents,
    of_kind,
    refund_date,
    require_open,
    settle,
    within,
)
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker

CREDIT_NOTE = (DocumentKind.CREDIT_NOTE,)


async def apply_credit(
    principal: StaffPrincipal, credit_note_id: int, invoice_id: int, amount: Decimal
) -> tuple[SalesDocument, SalesDocument]:
    async with transactions.unit_of_work():
        locked = await lock_documents(principal, [credit_note_id, invoice_id])
        credit = of_kind(locked.get(credit_note_id), CREDIT_NOTE, ["creditNoteId"])
        invoice = of_kind(locked.get(invoice_id), (DocumentKind.INVOICE,), ["invoiceId"])
        if credit.customer_id != invoice.customer_id:
            raise reject(ErrorCode.INVALID, "Credit and invoice belong to different customers.")
        if credit.currency != invoice.currency:
            raise reject(ErrorCode.CURRENCY_MISMATCH, "Credit and invoice differ in currency.")
        _require_open_credit(credit)
        require_open(invoice, ["invoiceId"])
        minor = amount_in(amount, credit.currency)
        within(minor, credit.balance_minor, "the credit note's balance")
        within(minor, (await available([invoice]))[invoice.id], "the invoice's balance due")
        today = await calendars.today(credit.organization_id)
        await CreditUse.create(
            organization_id=credit.organization_id, credit_note=credit, invoice=invoice,
            kind=CreditUseKind.APPLIED, amount_minor=minor, used_on=today,
            created_by_id=principal.user.id,
        )  # fmt: skip
        await _spend(credit, minor)
        await settle([(invoice, minor)])
    return credit, invoice


async def refund_credit(
    principal: StaffPrincipal, credit_note_id: int, amount: Decimal, reference: str, on: date | None
) -> SalesDocument:
    checker = Checker()
    reference = checker.text(reference, ["reference"], max_length=100)
    checker.raise_if_any()
    today = await calendars.today(principal.organization_id)
    async with transactions.unit_of_work():
        row = (
            await scoped(SalesDocument, principal)
            .select_for_update()
            .get_or_none(id=credit_note_id)
        )
        credit = of_kind(row, CREDIT_NOTE, ["creditNoteId"])
        _require_open_credit(credit)
        minor = amount_in(amount, credit.currency)
        within(minor, credit.balance_minor, "the credit note's balance")
        on = refund_date(on or today, today, credit.issue_date, "credit note")
        await CreditUse.create(
            organization_id=credit.organization_id, credit_note=credit,
            kind=CreditUseKind.REFUNDED, amount_minor=minor, used_on=on,
            reference=reference, created_by_id=principal.user.id,
        )  # fmt: skip
        await _spend(credit, minor)
    return credit


def _require_open_credit(credit: SalesDocument) -> None:
    if credit.status != DocumentStatus.SENT:
        raise reject(ErrorCode.INVALID_TRANSITION, "Only an open credit note can be used.")


async def _spend(credit: SalesDocument, minor: int) -> None:
    credit.balance_minor -= minor
    if credit.balance_minor == 0:
        credit.status = DocumentStatus.CLOSED
    credit.version += 1
    await credit.save(update_fields=["balance_minor", "status", "version", "updated_at"])
