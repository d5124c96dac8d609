"""The portal home's figures for one customer, summed in SQL, one amount per currency.

A `Dashboard` lives for one request. Figures come in families, each one grouped query; the
schema loads the families its selection reads before the fields resolve. A new family is a
loader function beside `_document_figures`, an entry in `FAMILIES` and a property.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.expressions import Case, F, Q, When
from tortoise.functions import Count, Sum

from auth.prepared import PreparedQuery
from auth.principals import Principal
from auth.scoping import conditions
from models.documents import DocumentKind, DocumentStatus, SalesDocument
from models.payments import Payment, PaymentKind, PaymentStatus
from resolvers import calendars
from resolvers.document_visibility import hidden_kinds

OPEN = (DocumentStatus.SENT, DocumentStatus.PARTIALLY_PAID)
CREDIT_OPEN = (DocumentStatus.SENT,)
OUTSTANDING_KINDS = (DocumentKind.INVOICE, DocumentKind.RETAINER_INVOICE, DocumentKind.CREDIT_NOTE)


@dataclass(frozen=True)
class Amount:
    minor: int
    currency: str


@dataclass(frozen=True)
class DocumentFigures:
    # Per kind in OUTSTANDING_KINDS, ordered by currency; credit notes None while hidden.
    outstanding: dict[DocumentKind, list[Amount] | None]
    # Sent sales orders per status; None while the portal does not show sales orders.
    sales_order_counts: dict[str, int] | None
    # Unpaid balance of invoices past their due date, ordered by currency.
    overdue: list[Amount]


class Dashboard:
    def __init__(self, principal: Principal, customer_id: int | None) -> None:
        self.principal = principal
        self.customer_id = customer_id
        self._loaded: dict[str, Any] = {}

    async def load(self, families: Iterable[str]) -> None:
        for family in families:
            try:
                self._loaded[family] = await FAMILIES[family](self.principal, self.customer_id)
            except Exception as exc:  # raised by each field that reads the family
                self._loaded[family] = exc

    @property
    def documents(self) -> DocumentFigures:
        return self._read("documents")

    @property
    def payments(self) -> PaymentFigures:
        return self._read("payments")

    @property
    def overdue(self) -> list[Amount]:
        return self.documents.overdue

    def _read(self, family: str) -> Any:
        figures = self._loaded[family]
        if isinstance(figures, Exception):
            raise figures
        return figures


def _figures_query(where: dict[str, Any], customer_id: int, today: date) -> Any:
    payable = Q(kind__in=[DocumentKind.INVOICE, DocumentKind.RETAINER_INVOICE], status__in=OPEN)
    credit = Q(kind=DocumentKind.CREDIT_NOTE, status__in=CREDIT_OPEN)
    sales_orders = Q(kind=DocumentKind.SALES_ORDER) & ~Q(status=DocumentStatus.DRAFT)
    # An open invoice with a balance (as every payable row here is) past its due date.
    overdue = When(Q(kind=DocumentKind.INVOICE, due_date__lt=today), then=F("balance_minor"))
    return (
        SalesDocument.filter(**where)  # scoped(), with the principal's conditions as parameters
        .filter(((payable | credit) & Q(balance_minor__gt=0)) | sales_orders)
        .filter(customer_id=customer_id)
        .annotate(
            amount=Sum("balance_minor"), count=Count("id"), overdue=Sum(Case(overdue, default=0))
        )
        .group_by("kind", "currency", "status")
        .values("kind", "currency", "status", "amount", "count", "overdue")
    )


_FIGURES = PreparedQuery[list[dict[str, Any]]](_figures_query)


async def _document_figures(principal: Principal, customer_id: int | None) -> DocumentFigures:
    rows = []
    if customer_id is not None:  # None: staff looking at no customer in particular
        where = conditions(SalesDocument, principal)
        today = await calendars.today(principal.organization_id)
        rows = await _FIGURES.run(where=where, customer_id=customer_id, today=today)
    amounts: dict[DocumentKind, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    overdue: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        if row["kind"] == DocumentKind.SALES_ORDER:
            counts[str(row["status"])] += int(row["count"])
        else:  # the open statuses of one kind and currency add up
            amounts[row["kind"]][row["currency"]] += int(row["amount"])
            overdue[row["currency"]] += int(row["overdue"])
    hidden = await hidden_kinds(principal)
    outstanding = {
        kind: None if kind in hidden else _by_currency(amounts[kind]) for kind in OUTSTANDING_KINDS
    }
    shown_counts = None if DocumentKind.SALES_ORDER in hidden else dict(sorted(counts.items()))
    return DocumentFigures(outstanding, shown_counts, _by_currency(overdue))


def _by_currency(minors: dict[str, int]) -> list[Amount]:
    return [Amount(minor, currency) for currency, minor in sorted(minors.items()) if minor]


@dataclass(frozen=True)
class PaymentFigures:
    # Retainer money paid and not yet applied or refunded, ordered by currency.
    unused_retainers: list[Amount]
    last_payment: Payment | None


def _retainers_query(where: dict[str, Any], customer_id: int) -> Any:
    return (
        Payment.filter(**where)
        .filter(customer_id=customer_id, status=PaymentStatus.SUCCEEDED)
        .filter(kind=PaymentKind.RETAINER_PAYMENT, unused_minor__gt=0)
        .annotate(amount=Sum("unused_minor"))
        .group_by("currency")
        .order_by("currency")
        .values("currency", "amount")
    )


def _last_payment_query(where: dict[str, Any], customer_id: int) -> Any:
    return (
        Payment.filter(**where)
        .filter(customer_id=customer_id, status=PaymentStatus.SUCCEEDED)
        .order_by("-paid_on", "-id")
        .first()
    )


_RETAINERS = PreparedQuery[list[dict[str, Any]]](_retainers_query)
_LAST_PAYMENT = PreparedQuery[Payment | None](_last_payment_query)


async def _payment_figures(principal: Principal, customer_id: int | None) -> PaymentFigures:
    if customer_id is None:
        return PaymentFigures([], None)
    where = conditions(Payment, principal)
    rows = await _RETAINERS.run(where=where, customer_id=customer_id)
    last = await _LAST_PAYMENT.run(where=where, customer_id=customer_id)
    return PaymentFigures([Amount(int(row["amount"]), row["currency"]) for row in rows], last)


FAMILIES: dict[str, Callable[[Principal, int | None], Awaitable[Any]]] = {
    "documents": _document_figures,
    "payments": _payment_figures,
}
