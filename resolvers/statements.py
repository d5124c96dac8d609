"""Statement of accounts: what a customer was charged, paid, credited and refunded over a
period, one section per currency, with a running balance. The statement PDF is rendered from
the dataclasses below, so their fields are kept stable.

The ledger, one rule for the opening balance and for the period, so that a period always
opens where the period before it closed:

- INVOICE, debit: an issued invoice (neither draft nor void) on its issue date, for its total.
  A voided invoice does not appear at all: it can only be voided with nothing paid of it.
- CREDIT_NOTE, credit: an issued credit note (neither draft nor void), issue date, total.
- PAYMENT, credit: a payment that succeeded, on the day it was paid, for what was received,
  once, described by the documents it paid. Payments in flight or failed moved no money.
- PAYMENT_REFUND and CREDIT_REFUND, debit: money given back from a payment or a credit note.

Left out, because they move money between documents without changing what is owed: credit
notes applied to invoices, and retainer money applied to invoices. Retainer invoices are left
out too: they ask for an advance, which is owed by nobody until paid; once paid it counts as
a payment and stays the customer's money until applied or refunded. (Counting the retainer
invoice as a debit would leave an invoice paid from the retainer owed a second time.)

Hence, once a period reaches the customer's latest entry, its closing balance in a currency
equals the balance due of the issued invoices, less what the issued credit notes have left and
the unused retainer money.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Sum
from tortoise.queryset import QuerySet

from auth.errors import BadUserInput
from auth.principals import Principal
from auth.scoping import scoped
from models.customers import Customer
from models.documents import CreditUse, CreditUseKind, DocumentKind, DocumentStatus, SalesDocument
from models.payments import (
    Payment,
    PaymentAllocation,
    PaymentKind,
    PaymentRefund,
    PaymentStatus,
    RefundStatus,
)
from resolvers import calendars

MAX_ENTRIES = 5_000
MAX_YEARS = 10


class EntryKind(StrEnum):
    """Also the order of entries on the same day (then by the row's id), so a statement
    asked for twice lists them the same way."""

    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"
    PAYMENT = "PAYMENT"
    PAYMENT_REFUND = "PAYMENT_REFUND"
    CREDIT_REFUND = "CREDIT_REFUND"


_KIND_ORDER = {kind: index for index, kind in enumerate(EntryKind)}


@dataclass(frozen=True)
class StatementEntry:
    """One line of a statement. Amounts are in the section's currency's minor units."""

    on: date
    kind: EntryKind
    # INV-/CN- for documents and credit refunds (the credit note), PAY- for payments and
    # payment refunds (the payment).
    number: str
    # Document numbers and references only, no words: the PDF adds them in its language.
    # Payments: the documents paid and the payment's reference; refunds: the invoice a
    # payment refund made due again and the refund's reference; documents: their reference.
    description: str
    # Adds to what the customer owes (invoices, refunds); 0 otherwise.
    debit_minor: int
    # Takes off what the customer owes (payments, credit notes); 0 otherwise.
    credit_minor: int
    # After this entry.
    balance_minor: int
    # The invoice or credit note; for a payment refund the invoice it made due again (None
    # for retainer money); for a credit refund the credit note; None for a payment.
    document_id: int | None
    # Payments and payment refunds.
    payment_id: int | None


@dataclass(frozen=True)
class CurrencyStatement:
    """A customer's statement in one currency. `closing_minor` is also the amount due; below
    zero the customer is in credit. closing = opening + invoiced - paid - credited + refunded.
    """

    currency: str
    opening_minor: int
    closing_minor: int
    # In date order.
    entries: list[StatementEntry]
    invoiced_minor: int
    paid_minor: int
    credited_minor: int
    refunded_minor: int


@dataclass(frozen=True)
class _Line:
    """An entry before its running balance is known, with what orders it."""

    currency: str
    row_id: int
    entry: StatementEntry

    @property
    def order(self) -> tuple[date, int, int]:
        return self.entry.on, _KIND_ORDER[self.entry.kind], self.row_id


async def statement(
    principal: Principal, customer_id: int, start: date, end: date
) -> list[CurrencyStatement] | None:
    """Sections for every currency with an entry in the period or an opening balance; None for
    a customer the principal does not see."""
    _check_period(start, end)
    if not await scoped(Customer, principal).filter(id=customer_id).exists():
        return None
    ledger = _Ledger(principal, customer_id)
    opening = await ledger.balances_before(start)
    lines = await ledger.lines(start, end)
    currencies = {c for c, minor in opening.items() if minor} | {line.currency for line in lines}
    by_currency: dict[str, list[_Line]] = defaultdict(list)
    for line in sorted(lines, key=lambda line: line.order):
        by_currency[line.currency].append(line)
    return [_section(c, opening.get(c, 0), by_currency[c]) for c in sorted(currencies)]


async def period_of(
    principal: Principal,
    start: date | None,
    end: date | None,
    period: calendars.Period | None,
) -> tuple[date, date]:
    """The days a statement covers: a named period, or `from` and `to`, or this month."""
    if period is not None and (start or end):
        raise BadUserInput("Give a `period`, or `from` and `to`, not both.")
    if start and end:
        return start, end
    if start or end:
        raise BadUserInput("Give both `from` and `to`.")
    today = await calendars.today(principal.organization_id)
    return calendars.dates_of(period or calendars.Period.THIS_MONTH, today)


def _check_period(start: date, end: date) -> None:
    if start > end:
        raise BadUserInput("`from` is after `to`.")
    if end > _years_after(start, MAX_YEARS):
        raise BadUserInput(f"A statement covers at most {MAX_YEARS} years.")


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, in a year without one
        return day.replace(year=day.year + years, day=28)


def _section(currency: str, opening: int, lines: list[_Line]) -> CurrencyStatement:
    entries: list[StatementEntry] = []
    balance = opening
    for line in lines:
        balance += line.entry.debit_minor - line.entry.credit_minor
        entries.append(replace(line.entry, balance_minor=balance))

    def total(*kinds: EntryKind, column: str) -> int:
        return sum(getattr(e, column) for e in entries if e.kind in kinds)

    return CurrencyStatement(
        currency=currency,
        opening_minor=opening,
        closing_minor=balance,
        entries=entries,
        invoiced_minor=total(EntryKind.INVOICE, column="debit_minor"),
        paid_minor=total(EntryKind.PAYMENT, column="credit_minor"),
        credited_minor=total(EntryKind.CREDIT_NOTE, column="credit_minor"),
        refunded_minor=total(
            EntryKind.PAYMENT_REFUND, EntryKind.CREDIT_REFUND, column="debit_minor"
        ),
    )


def _describe(*parts: str) -> str:
    return " · ".join(part for part in parts if part)


class _Ledger:
    """The four sources of entries, as the principal may see them."""

    def __init__(self, principal: Principal, customer_id: int) -> None:
        self.principal = principal
        self.customer_id = customer_id

    def documents(self) -> QuerySet[SalesDocument]:
        return scoped(SalesDocument, self.principal).filter(
            customer_id=self.customer_id,
            kind__in=[DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE],
            status__not_in=[DocumentStatus.DRAFT, DocumentStatus.VOID],
        )

    def payments(self) -> QuerySet[Payment]:
        return scoped(Payment, self.principal).filter(
            customer_id=self.customer_id, status=PaymentStatus.SUCCEEDED
        )

    def payment_refunds(self) -> QuerySet[PaymentRefund]:
        # Only payments that succeeded can be refunded; only refunds that succeeded gave back.
        return scoped(PaymentRefund, self.principal).filter(
            customer_id=self.customer_id, status=RefundStatus.SUCCEEDED
        )

    def credit_refunds(self) -> QuerySet[CreditUse]:
        return scoped(CreditUse, self.principal).filter(
            credit_note__customer_id=self.customer_id, kind=CreditUseKind.REFUNDED
        )

    async def balances_before(self, start: date) -> dict[str, int]:
        """The balance per currency at the end of the day before `start`, summed in SQL."""
        balances: dict[str, int] = defaultdict(int)
        documents = await (
            self.documents()
            .filter(issue_date__lt=start)
            .annotate(amount=Sum("total_minor"))
            .group_by("currency", "kind")
            .values("currency", "kind", "amount")
        )
        for row in documents:
            sign = 1 if row["kind"] == DocumentKind.INVOICE else -1
            balances[row["currency"]] += sign * int(row["amount"])
        for query, currency, sign in (
            (self.payments().filter(paid_on__lt=start), "currency", -1),
            (self.payment_refunds().filter(refunded_on__lt=start), "payment__currency", 1),
            (self.credit_refunds().filter(used_on__lt=start), "credit_note__currency", 1),
        ):
            rows = await (
                query.annotate(amount=Sum("amount_minor"))
                .group_by(currency)
                .values(currency, "amount")
            )
            for row in rows:
                balances[row[currency]] += sign * int(row["amount"])
        return balances

    async def lines(self, start: date, end: date) -> list[_Line]:
        documents = await _capped(
            self.documents().filter(issue_date__gte=start, issue_date__lte=end),
            "id", "kind", "number", "currency", "issue_date", "total_minor", "reference",
        )  # fmt: skip
        payments = await _capped(
            self.payments().filter(paid_on__gte=start, paid_on__lte=end),
            "id", "number", "currency", "paid_on", "amount_minor", "reference",
        )  # fmt: skip
        payment_refunds = await _capped(
            self.payment_refunds().filter(refunded_on__gte=start, refunded_on__lte=end),
            "id", "payment_id", "payment__number", "payment__currency", "document_id",
            "document__number", "refunded_on", "amount_minor", "reference",
        )  # fmt: skip
        credit_refunds = await _capped(
            self.credit_refunds().filter(used_on__gte=start, used_on__lte=end),
            "id", "credit_note_id", "credit_note__number", "credit_note__currency", "used_on",
            "amount_minor", "reference",
        )  # fmt: skip
        if sum(map(len, (documents, payments, payment_refunds, credit_refunds))) > MAX_ENTRIES:
            raise BadUserInput(
                f"The period has more than {MAX_ENTRIES:,} entries; ask for a shorter one."
            )
        paid = await self._documents_paid(start, end) if payments else {}
        return [
            *map(_document_line, documents),
            *(_payment_line(row, paid.get(row["id"], [])) for row in payments),
            *map(_payment_refund_line, payment_refunds),
            *map(_credit_refund_line, credit_refunds),
        ]

    async def _documents_paid(self, start: date, end: date) -> dict[int, list[str]]:
        """The numbers of the documents each payment of the period paid when it was made: its
        invoices, or its retainer invoice (not the invoices its money was applied to later)."""
        rows = await (
            scoped(PaymentAllocation, self.principal)
            .filter(
                customer_id=self.customer_id,
                payment__status=PaymentStatus.SUCCEEDED,
                payment__paid_on__gte=start,
                payment__paid_on__lte=end,
            )
            .filter(
                Q(payment__kind=PaymentKind.INVOICE_PAYMENT)
                | Q(document__kind=DocumentKind.RETAINER_INVOICE)
            )
            .order_by("id")
            .values("payment_id", "document__number")
        )
        paid: dict[int, list[str]] = defaultdict(list)
        for row in rows:
            paid[row["payment_id"]].append(row["document__number"])
        return paid


async def _capped(query: QuerySet[Any], *fields: str) -> list[dict[str, Any]]:
    # One more than allowed is enough to know the period has too many.
    return await query.order_by("id").limit(MAX_ENTRIES + 1).values(*fields)


def _document_line(row: dict[str, Any]) -> _Line:
    invoice = row["kind"] == DocumentKind.INVOICE
    amount = row["total_minor"]
    return _Line(
        row["currency"],
        row["id"],
        StatementEntry(
            on=row["issue_date"],
            kind=EntryKind.INVOICE if invoice else EntryKind.CREDIT_NOTE,
            number=row["number"],
            description=row["reference"],
            debit_minor=amount if invoice else 0,
            credit_minor=0 if invoice else amount,
            balance_minor=0,
            document_id=row["id"],
            payment_id=None,
        ),
    )


def _payment_line(row: dict[str, Any], paid: list[str]) -> _Line:
    return _Line(
        row["currency"],
        row["id"],
        StatementEntry(
            on=row["paid_on"],
            kind=EntryKind.PAYMENT,
            number=row["number"],
            description=_describe(", ".join(paid), row["reference"]),
            debit_minor=0,
            credit_minor=row["amount_minor"],
            balance_minor=0,
            document_id=None,
            payment_id=row["id"],
        ),
    )


def _payment_refund_line(row: dict[str, Any]) -> _Line:
    return _Line(
        row["payment__currency"],
        row["id"],
        StatementEntry(
            on=row["refunded_on"],
            kind=EntryKind.PAYMENT_REFUND,
            number=row["payment__number"],
            # The invoice it made due again; none for retainer money.
            description=_describe(row["document__number"] or "", row["reference"]),
            debit_minor=row["amount_minor"],
            credit_minor=0,
            balance_minor=0,
            document_id=row["document_id"],
            payment_id=row["payment_id"],
        ),
    )


def _credit_refund_line(row: dict[str, Any]) -> _Line:
    return _Line(
        row["credit_note__currency"],
        row["id"],
        StatementEntry(
            on=row["used_on"],
            kind=EntryKind.CREDIT_REFUND,
            number=row["credit_note__number"],
            description=row["reference"],
            debit_minor=row["amount_minor"],
            credit_minor=0,
            balance_minor=0,
            document_id=row["credit_note_id"],
            payment_id=None,
        ),
    )
