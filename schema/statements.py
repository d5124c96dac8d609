"""The statement of accounts: a customer's ledger over a period, per currency."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.relay import to_base64

from auth.errors import BadUserInput
from auth.principals import portal_customer_of
from models.documents import SalesDocument as SalesDocumentRow
from pdf.links import statement_pdf_path
from resolvers import calendars, links, statements
from resolvers.document_visibility import hidden_kinds
from schema.context import Info
from schema.customers import Customer
from schema.documents import SalesDocumentNode
from schema.money import Money
from schema.payments import Payment
from schema.permissions import IsAuthenticated
from schema.relay import decode_id

StatementEntryKind = strawberry.enum(
    statements.EntryKind,
    name="StatementEntryKind",
    description="INVOICE and the refunds add to what the customer owes; PAYMENT and "
    "CREDIT_NOTE take off it. Entries of one day come in this order.",
)


StatementPeriod = strawberry.enum(
    calendars.Period,
    name="StatementPeriod",
    description="Whole months, quarters or years of the organization's calendar, counted "
    "from its today.",
)


@strawberry.type(description="One line of a statement of accounts.")
class StatementEntry:
    on: date = strawberry.field(name="date")
    kind: StatementEntryKind  # type: ignore[valid-type]
    number: str = strawberry.field(
        description="The document's number; for payments and payment refunds the payment's, "
        "for credit refunds the credit note's."
    )
    description: str = strawberry.field(
        description="Payments: the documents paid and the payment's reference. Payment "
        "refunds: the invoice due again and the refund's reference. Otherwise the reference."
    )
    debit: Money = strawberry.field(description="Adds to the balance; zero for a credit.")
    credit: Money = strawberry.field(description="Takes off the balance; zero for a debit.")
    balance: Money = strawberry.field(description="After this entry.")
    _entry: strawberry.Private[statements.StatementEntry]

    @strawberry.field(
        description="The invoice or credit note; for a payment refund the invoice due again. "
        "Null for payments, and for credit notes while the portal does not show them."
    )
    async def document(self, info: Info) -> SalesDocumentNode | None:
        if self._entry.document_id is None:
            return None
        row = await info.context.loaders.by_id(SalesDocumentRow).load(self._entry.document_id)
        # The amount stays on the statement, the document itself follows the preferences.
        if row is None or row.kind in await hidden_kinds(info.context.principal):
            return None
        return SalesDocumentNode.from_row(row)

    @strawberry.field(description="The payment, for payments and payment refunds.")
    async def payment(self, info: Info) -> Payment | None:
        return await Payment.load(info, self._entry.payment_id)

    @classmethod
    def of(cls, entry: statements.StatementEntry, currency: str) -> StatementEntry:
        return cls(
            on=entry.on,
            kind=entry.kind,
            number=entry.number,
            description=entry.description,
            debit=Money.of(entry.debit_minor, currency),
            credit=Money.of(entry.credit_minor, currency),
            balance=Money.of(entry.balance_minor, currency),
            _entry=entry,
        )


@strawberry.type(
    description="The statement in one currency: closing balance = opening balance + invoiced "
    "- paid - credited + refunded."
)
class CurrencyStatement:
    currency: str
    opening_balance: Money = strawberry.field(description="At the end of the day before `from`.")
    invoiced: Money
    paid: Money
    credited: Money = strawberry.field(description="Credit notes issued.")
    refunded: Money = strawberry.field(description="Given back from payments and credit notes.")
    closing_balance: Money = strawberry.field(description="At the end of `to`.")
    amount_due: Money = strawberry.field(
        description="The closing balance; below zero the customer is in credit."
    )
    entries: list[StatementEntry] = strawberry.field(description="In date order.")

    @classmethod
    def of(cls, section: statements.CurrencyStatement) -> CurrencyStatement:
        currency = section.currency

        def money(minor: int) -> Money:
            return Money.of(minor, currency)

        return cls(
            currency=currency,
            opening_balance=money(section.opening_minor),
            invoiced=money(section.invoiced_minor),
            paid=money(section.paid_minor),
            credited=money(section.credited_minor),
            refunded=money(section.refunded_minor),
            closing_balance=money(section.closing_minor),
            amount_due=money(section.closing_minor),
            entries=[StatementEntry.of(entry, currency) for entry in section.entries],
        )


@strawberry.type(description="What a customer was charged, paid, credited and refunded.")
class StatementOfAccounts:
    start: date = strawberry.field(name="from")
    end: date = strawberry.field(name="to", description="Inclusive.")
    currencies: list[CurrencyStatement] = strawberry.field(
        description="Each currency with an entry in the period or an opening balance."
    )
    _customer_id: strawberry.Private[int]

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        return await Customer.load(info, self._customer_id)

    @strawberry.field(
        description="The same statement as a PDF, downloaded with the same authentication."
    )
    def pdf_url(self) -> str:
        customer = to_base64("Customer", self._customer_id)
        return links.current().public_base_url + statement_pdf_path(customer, self.start, self.end)


@strawberry.type
class StatementQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A customer's statement of accounts for a `period` of the organization's "
        "calendar (this month when nothing is given), or from `from` to `to` (inclusive, at "
        "most ten years and 5,000 entries): invoices, payments, credit notes and refunds with a "
        "running balance. Credit notes and retainer money applied to invoices move money "
        "between documents and are not listed; retainer invoices count once paid, as "
        "payments. A portal contact or a customer-scoped key gets its own customer's; staff "
        "and other partner keys pass `customerId`; partner keys need documents:read and "
        "payments:read. Null for a customer the viewer does not see, as for any id that is not "
        "yours.",
    )
    async def statement_of_accounts(
        self,
        info: Info,
        customer_id: strawberry.ID | None = None,
        *,
        start: Annotated[date | None, strawberry.argument(name="from")] = None,
        end: Annotated[date | None, strawberry.argument(name="to")] = None,
        period: StatementPeriod | None = None,
    ) -> StatementOfAccounts | None:
        chosen = _customer_id(info, customer_id)
        principal = info.context.principal
        start, end = await statements.period_of(principal, start, end, period)
        sections = await statements.statement(principal, chosen, start, end)
        if sections is None:
            return None
        return StatementOfAccounts(
            start=start,
            end=end,
            currencies=[CurrencyStatement.of(section) for section in sections],
            _customer_id=chosen,
        )


def _customer_id(info: Info, customer_id: strawberry.ID | None) -> int:
    if customer_id is not None:
        return decode_id(customer_id, Customer)
    principal = info.context.principal
    own = portal_customer_of(principal)
    if own is not None:
        return own
    raise BadUserInput("Say whose statement: give `customerId`.")
