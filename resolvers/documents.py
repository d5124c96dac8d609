"""Sales documents as staff create and change them: drafts, sending, editing, voiding."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from auth.principals import StaffPrincipal
from auth.scoping import scoped
from models.activity import ActivityKind
from models.customers import Customer
from models.documents import (
    DocumentKind,
    DocumentStatus,
    InvoicingStatus,
    LineItem,
    SalesDocument,
)
from models.money import MAX_MINOR
from models.projects import TimeEntry
from models.subscriptions import CustomerSubscription
from resolvers import activity, calendars, sales_orders, transactions
from resolvers.balances import payment_status, reserved
from resolvers.customers import get_customer
from resolvers.document_totals import Line, Totals, document_totals
from resolvers.errors import ErrorCode, reject
from resolvers.numbering import next_number
from resolvers.validation import Checker, camel_case

PREFIX = {
    DocumentKind.INVOICE: "INV",
    DocumentKind.RETAINER_INVOICE: "RET",
    DocumentKind.QUOTE: "QT",
    DocumentKind.SALES_ORDER: "SO",
    DocumentKind.CREDIT_NOTE: "CN",
}
# The status a document takes when it is sent, i.e. issued to the customer.
ISSUED = {kind: DocumentStatus.SENT for kind in DocumentKind} | {
    DocumentKind.SALES_ORDER: DocumentStatus.CONFIRMED
}
EDITABLE = frozenset(
    {
        DocumentStatus.DRAFT,
        DocumentStatus.SENT,
        DocumentStatus.CONFIRMED,
        DocumentStatus.PARTIALLY_PAID,
        DocumentStatus.PAID,
    }
)
PAYABLE = frozenset({DocumentKind.INVOICE, DocumentKind.RETAINER_INVOICE})
PAYMENT_METHODS = frozenset({"card", "ach"})
MAX_LINES = 500
HUNDRED = Decimal(100)


async def create_document(principal: StaffPrincipal, data: dict[str, Any]) -> SalesDocument:
    customer = await get_customer(principal, data["customer_id"], field="customerId")
    return await create_draft(principal, customer, data, customer.currency)


async def create_draft(
    principal: StaffPrincipal, customer: Customer, data: dict[str, Any], currency: str
) -> SalesDocument:
    """A draft of the customer's, checked as one staff create; joins the caller's unit of work."""
    kind = DocumentKind(data["kind"])
    issued = data.get("issue_date") or await calendars.today(principal.organization_id)
    values, lines = _clean({**data, "issue_date": issued}, currency, creating=True)
    if data.get("subscription_id"):
        values["subscription_id"] = await _subscription_of(customer, data["subscription_id"])
    totals = _totals(lines, currency)
    async with transactions.unit_of_work():
        document = await SalesDocument.create(
            organization_id=principal.organization_id,
            customer=customer,
            kind=kind,
            number=await next_number(principal.organization_id, kind, PREFIX[kind]),
            currency=currency,
            **values,
            **_totals_fields(totals, paid_minor=0),
        )
        await _save_lines(document, lines, totals)
    return document


async def update_document(
    principal: StaffPrincipal, document_id: int, changes: dict[str, Any]
) -> SalesDocument:
    async with transactions.unit_of_work():
        document = await _locked(principal, document_id)
        if document.status not in EDITABLE:
            raise reject(
                ErrorCode.INVALID_TRANSITION,
                f"A {document.status.lower().replace('_', ' ')} document cannot be edited.",
            )
        values, lines = _clean(changes, document.currency, creating=False)
        if values.get("issue_date") or values.get("due_date"):
            _check_dates(values.get("issue_date") or document.issue_date, values.get("due_date"))
        document.update_from_dict(values)
        if lines is not None:
            totals = _totals(lines, document.currency)
            paid = document.total_minor - document.balance_minor
            if totals.total_minor < paid + await _held(document):
                raise reject(
                    ErrorCode.BELOW_AMOUNT_PAID,
                    "The new total is less than what the customer has paid or is paying.",
                    ["lineItems"],
                )
            document.update_from_dict(_totals_fields(totals, paid_minor=paid))
            if document.kind in PAYABLE and document.status != DocumentStatus.DRAFT:
                document.status = payment_status(document.total_minor, paid)
            await LineItem.filter(document=document).delete()
            await _save_lines(document, lines, totals)
        document.version += 1
        await document.save()
        if lines is not None:
            await _refresh_invoicing(document)
    return document


async def _refresh_invoicing(document: SalesDocument) -> None:
    """A sales order's invoicing after its total or one of its invoices changed."""
    if document.kind == DocumentKind.SALES_ORDER:
        if document.status in sales_orders.IN_PROGRESS:
            await sales_orders.refresh_invoicing(document)
    else:
        await sales_orders.refresh_invoicing_of_source(document)


async def send_document(principal: StaffPrincipal, document_id: int) -> SalesDocument:
    """Issues a draft: from now on the customer's contacts see it in the portal."""
    async with transactions.unit_of_work():
        document = await _locked(principal, document_id)
        if document.status != DocumentStatus.DRAFT:
            raise reject(ErrorCode.INVALID_TRANSITION, "Only a draft can be sent.")
        document.status = ISSUED[document.kind]
        document.sent_at = datetime.now(UTC)
        document.version += 1
        await document.save()
        activity.record(
            ActivityKind.DOCUMENT_SHARED,
            actor=principal,
            organization_id=document.organization_id,
            customer_id=document.customer_id,
            document=(document.kind.value, document.id, document.number),
            data={"amount_minor": document.total_minor, "currency": document.currency},
        )
    return document


async def void_document(principal: StaffPrincipal, document_id: int) -> SalesDocument:
    async with transactions.unit_of_work():
        document = await _locked(principal, document_id)
        paid = document.total_minor - document.balance_minor
        if document.status == DocumentStatus.VOID:
            raise reject(ErrorCode.INVALID_TRANSITION, "The document is void already.")
        if document.kind in PAYABLE and paid > 0:
            raise reject(
                ErrorCode.INVALID_TRANSITION, "Refund or remove its payments before voiding."
            )
        if document.kind == DocumentKind.CREDIT_NOTE and paid > 0:
            raise reject(
                ErrorCode.INVALID_TRANSITION,
                "Part of this credit note was applied or refunded; it can no longer be voided.",
            )
        if await _held(document):
            raise reject(
                ErrorCode.PAYMENT_IN_PROGRESS,
                "A payment of it is in progress; void it once that payment has ended.",
            )
        document.status = DocumentStatus.VOID
        document.voided_at = datetime.now(UTC)
        document.balance_minor = 0
        document.version += 1
        await document.save()
        await _refresh_invoicing(document)
        # The time it billed is to bill again.
        await TimeEntry.filter(invoice_id=document.id).update(billed=False, invoice_id=None)
    return document


async def _held(document: SalesDocument) -> int:
    """What online payments in flight hold of the document: it must stay payable for them."""
    return (await reserved([document.id])).get(document.id, 0)


async def _subscription_of(customer: Customer, subscription_id: int) -> int:
    subscription = await CustomerSubscription.get_or_none(
        id=subscription_id, customer_id=customer.id
    )
    if subscription is None:
        raise reject(
            ErrorCode.NOT_FOUND, "No such subscription of this customer.", ["subscriptionId"]
        )
    return subscription.id


async def _locked(principal: StaffPrincipal, document_id: int) -> SalesDocument:
    document = await (
        scoped(SalesDocument, principal).select_for_update().get_or_none(id=document_id)
    )
    if document is None:
        raise reject(ErrorCode.NOT_FOUND, "Document not found.", ["id"])
    return document


def _totals(lines: list[tuple[Line, dict[str, Any]]], currency: str) -> Totals:
    totals = document_totals([line for line, _ in lines], currency)
    if totals.subtotal_minor > MAX_MINOR:  # every line's amount, and the tax, are less
        raise reject(ErrorCode.INVALID_AMOUNT, "The document's total is too large.", ["lineItems"])
    return totals


def _totals_fields(totals: Totals, *, paid_minor: int) -> dict[str, int]:
    return {
        "subtotal_minor": totals.subtotal_minor,
        "discount_minor": totals.discount_minor,
        "tax_minor": totals.tax_minor,
        "total_minor": totals.total_minor,
        "balance_minor": totals.total_minor - paid_minor,
    }


async def _save_lines(
    document: SalesDocument, lines: list[tuple[Line, dict[str, Any]]], totals: Totals
) -> None:
    await LineItem.bulk_create(
        [
            LineItem(
                document=document,
                position=position,
                quantity=line.quantity,
                rate=line.rate,
                discount_percent=line.discount_percent,
                tax_percent=line.tax_percent,
                amount_minor=computed.amount_minor,
                discount_minor=computed.discount_minor,
                **text,
            )
            for position, ((line, text), computed) in enumerate(
                zip(lines, totals.lines, strict=True)
            )
        ]
    )


def _clean(
    data: dict[str, Any], currency: str, *, creating: bool
) -> tuple[dict[str, Any], list[tuple[Line, dict[str, Any]]] | None]:
    checker = Checker()
    values: dict[str, Any] = {}
    for name, limit in (("reference", 100), ("customer_notes", 5000), ("terms", 5000),
                        ("internal_notes", 5000)):  # fmt: skip
        if name in data:
            values[name] = checker.text(data[name], [camel_case(name)], max_length=limit)
    if "allow_partial_payments" in data:
        values["allow_partial_payments"] = bool(data["allow_partial_payments"])
    if "payment_methods" in data:
        values["payment_methods"] = _methods(checker, data["payment_methods"] or [])
    issue_date = data.get("issue_date")
    if issue_date:
        values["issue_date"] = issue_date
    terms = data.get("payment_terms_days")
    if terms is not None:
        if not 0 <= terms <= 365:
            checker.add(ErrorCode.INVALID, "Use 0 to 365 days.", ["paymentTermsDays"])
        values["payment_terms_days"] = terms
    due = data.get("due_date")
    if due is None and terms is not None and issue_date:
        due = issue_date + timedelta(days=terms)
    if due is not None:
        values["due_date"] = due
    lines = None
    if "line_items" in data or creating:
        lines = _lines(checker, data.get("line_items") or [], currency)
    checker.raise_if_any()
    if creating:
        _check_dates(values["issue_date"], values.get("due_date"))
    return values, lines


def _check_dates(issue_date: date, due_date: date | None) -> None:
    if due_date is not None and due_date < issue_date:
        raise reject(ErrorCode.INVALID, "The due date is before the issue date.", ["dueDate"])


def _methods(checker: Checker, methods: list[str]) -> list[str]:
    unknown = [m for m in methods if m not in PAYMENT_METHODS]
    if unknown:
        checker.add(ErrorCode.INVALID, f"Unknown payment methods: {unknown}.", ["paymentMethods"])
    return list(dict.fromkeys(m for m in methods if m in PAYMENT_METHODS))  # in the given order


def _lines(
    checker: Checker, items: list[dict[str, Any]], currency: str
) -> list[tuple[Line, dict[str, Any]]]:
    if not items:
        checker.add(ErrorCode.REQUIRED, "Add at least one line item.", ["lineItems"])
    if len(items) > MAX_LINES:
        checker.add(ErrorCode.INVALID, f"At most {MAX_LINES} line items.", ["lineItems"])
    lines = []
    for index, item in enumerate(items[:MAX_LINES]):
        field = ["lineItems", str(index)]
        text = {
            "name": checker.text(item.get("name"), [*field, "name"], max_length=200,
                                 required=True),
            "description": checker.text(item.get("description"), [*field, "description"],
                                        max_length=2000),
            "unit": checker.text(item.get("unit"), [*field, "unit"], max_length=20),
        }  # fmt: skip
        if item.get("cost_rate") is not None:
            text["cost_rate"] = _decimal(checker, item["cost_rate"], [*field, "costRate"])
        line = Line(
            quantity=_decimal(checker, item.get("quantity"), [*field, "quantity"], positive=True),
            rate=_decimal(checker, item.get("rate"), [*field, "rate"]),
            discount_percent=_percent(
                checker, item.get("discount_percent"), [*field, "discountPercent"]
            ),
            tax_percent=_percent(checker, item.get("tax_percent"), [*field, "taxPercent"]),
        )
        lines.append((line, text))
    return lines


def _decimal(checker: Checker, value: Any, field: list[str], *, positive: bool = False) -> Decimal:
    amount = Decimal(value if value is not None else 0)
    if not amount.is_finite() or amount < 0 or (positive and amount == 0):
        checker.add(ErrorCode.INVALID_AMOUNT, "Use a positive number.", field)
        return Decimal(0)
    if amount != amount.quantize(Decimal("0.000001")) or amount >= Decimal("1e12"):
        checker.add(ErrorCode.INVALID_AMOUNT, "Too many digits.", field)
        return Decimal(0)
    return amount


def _percent(checker: Checker, value: Any, field: list[str]) -> Decimal:
    percent = _decimal(checker, value, field)
    if percent > HUNDRED or percent != percent.quantize(Decimal("0.0001")):
        checker.add(ErrorCode.INVALID, "Use a percentage from 0 to 100.", field)
        return Decimal(0)
    return percent


# What each kind may be converted to, and the status its source takes when it is (None: a
# sales order's, which its invoicing progression gives; see resolvers.sales_orders).
CONVERSIONS = {
    (DocumentKind.QUOTE, DocumentKind.SALES_ORDER): DocumentStatus.INVOICED,
    (DocumentKind.QUOTE, DocumentKind.INVOICE): DocumentStatus.INVOICED,
    (DocumentKind.SALES_ORDER, DocumentKind.INVOICE): None,
}
CONVERTIBLE_FROM = frozenset(
    {DocumentStatus.SENT, DocumentStatus.ACCEPTED, DocumentStatus.CONFIRMED,
     DocumentStatus.SHIPPED, DocumentStatus.DELIVERED}
)  # fmt: skip


async def convert_document(
    principal: StaffPrincipal, source_id: int, target: DocumentKind
) -> SalesDocument:
    """A new draft of `target` with the source's customer, lines and notes, linked to it."""
    async with transactions.unit_of_work():
        source = await _locked(principal, source_id)
        if (source.kind, target) not in CONVERSIONS:
            raise reject(
                ErrorCode.INVALID_TRANSITION,
                f"A {_label(source.kind)} cannot become a {_label(target)}.",
                ["kind"],
            )
        if source.status not in CONVERTIBLE_FROM:
            raise reject(
                ErrorCode.INVALID_TRANSITION,
                f"A {_label(source.status)} {_label(source.kind)} cannot be converted.",
            )
        if source.invoicing_status == InvoicingStatus.INVOICED:
            raise reject(ErrorCode.INVALID_TRANSITION, "The sales order is invoiced in full.")
        lines = await LineItem.filter(document=source).order_by("position")
        document = await SalesDocument.create(
            organization_id=source.organization_id,
            customer_id=source.customer_id,
            kind=target,
            number=await next_number(source.organization_id, target, PREFIX[target]),
            currency=source.currency,
            issue_date=await calendars.today(source.organization_id),
            reference=source.reference,
            customer_notes=source.customer_notes,
            terms=source.terms,
            source=source,
            subtotal_minor=source.subtotal_minor,
            discount_minor=source.discount_minor,
            tax_minor=source.tax_minor,
            total_minor=source.total_minor,
            balance_minor=source.total_minor,
        )
        await LineItem.bulk_create(
            [LineItem(**_line_copy(line), document=document) for line in lines]
        )
        outcome = CONVERSIONS[(source.kind, target)]
        if outcome is None:
            await sales_orders.refresh_invoicing(source)
        else:
            source.status = outcome
            source.version += 1
            await source.save(update_fields=["status", "version", "updated_at"])
    return document


def _line_copy(line: LineItem) -> dict[str, Any]:
    fields = ("position", "name", "description", "quantity", "unit", "rate",
              "discount_percent", "tax_percent", "amount_minor", "discount_minor",
              "cost_rate")  # fmt: skip
    return {name: getattr(line, name) for name in fields}


def _label(value: str) -> str:
    return value.lower().replace("_", " ")
