from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.relay import to_base64
from tortoise.expressions import Q

from auth.errors import Forbidden
from models.documents import CreditUse as CreditUseRow
from models.documents import DocumentKind as DocumentKindValue
from models.documents import DocumentStatus as DocumentStatusValue
from models.documents import InvoicingStatus as InvoicingStatusValue
from models.documents import SalesDocument as SalesDocumentRow
from models.documents import Shipment as ShipmentRow
from models.documents import ShippingStatus as ShippingStatusValue
from pdf.links import pdf_path
from resolvers import (
    calendars,
    credits,
    document_visibility,
    documents,
    due_dates,
    line_items,
    links,
    portal_documents,
    portal_features,
    shipments,
)
from resolvers.document_totals import margin_minor
from resolvers.line_items import LineRow
from resolvers.pagination import Ordering
from schema.context import Info
from schema.customers import ContactPerson, Customer
from schema.edge import LONG_TEXT_LENGTH, SEARCH_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.inputs import TODAY_BY_DEFAULT, changes_of
from schema.money import Money
from schema.permissions import (
    STAFF_ONLY,
    IsAuthenticated,
    IsContact,
    IsStaff,
    IsStaffOrPartner,
)
from schema.planned import PRELOADED_IN
from schema.relay import (
    Connection,
    ModelNode,
    OrderDirection,
    connection,
    decode_id,
    resolve_node,
    row_id,
)
from schema.selection import names_selected_in, selects

if TYPE_CHECKING:
    from schema.comments import Comment
    from schema.payments import PaymentAllocation

DocumentKind = strawberry.enum(DocumentKindValue, description="The kind of sales document.")

# The stored statuses, and those time gives (see resolvers.due_dates), derived when read.
DocumentStatus = strawberry.enum(
    Enum(
        "DocumentStatus",
        {
            **{s.name: s.value for s in DocumentStatusValue},
            due_dates.OVERDUE: due_dates.OVERDUE,
            due_dates.EXPIRED: due_dates.EXPIRED,
        },
    ),
    description="Where a document stands. OVERDUE: an invoice sent, not fully paid and past its "
    "due date. EXPIRED: a quote sent, unanswered and past its expiry date. Both as the "
    "organization's calendar has today.",
)


@strawberry.enum
class PaymentMethod(Enum):
    CARD = "card"
    ACH = "ach"


def line_margin(row: LineRow, currency: str) -> int | None:
    if row.cost_rate is None:
        return None
    return margin_minor(row.amount_minor, row.discount_minor, row.quantity, row.cost_rate, currency)


def status_of(row: SalesDocumentRow) -> DocumentStatus:
    return DocumentStatus(due_dates.status_of(row, calendars.today_known(row.organization_id)))


@strawberry.type
class LineItem:
    name: str
    description: str
    quantity: Decimal
    unit: str
    rate: Decimal
    discount_percent: Decimal
    tax_percent: Decimal
    amount: Money = strawberry.field(description="Quantity x rate, before discount and tax.")
    discount: Money
    _row: strawberry.Private[LineRow]
    _currency: strawberry.Private[str]

    @strawberry.field(
        permission_classes=[IsStaffOrPartner],
        description=f"What one unit costs the business. {STAFF_ONLY}",
    )
    def cost_rate(self) -> Decimal | None:
        return self._row.cost_rate

    @strawberry.field(
        permission_classes=[IsStaffOrPartner],
        description=f"Discounted amount less cost; null without a cost. {STAFF_ONLY}",
    )
    def margin(self) -> Money | None:
        minor = line_margin(self._row, self._currency)
        return None if minor is None else Money.of(minor, self._currency)


class LineItemOfRow(LineRow):
    """A LineItem that is its row: the fields are the row's, and an amount becomes Money only
    when asked for. One subclass per currency holds the currency, so that a line costs one
    tuple. LineItem implements no interface, so graphql-core completes any object that has
    its attributes: a page's 200 lines skip building a dataclass and two Money each."""

    __slots__ = ()
    _currency: ClassVar[str]

    @property
    def _row(self) -> LineRow:
        return self

    @property
    def amount(self) -> Money:
        return Money.of(self.amount_minor, self._currency)

    @property
    def discount(self) -> Money:
        return Money.of(self.discount_minor, self._currency)


@functools.cache  # one per currency in use
def _line_item_class(currency: str) -> type[LineItemOfRow]:
    return type(
        f"LineItemOfRow{currency}", (LineItemOfRow,), {"__slots__": (), "_currency": currency}
    )


@strawberry.interface(name="SalesDocument", description="What all kinds of document share.")
class SalesDocumentNode(ModelNode):
    model = SalesDocumentRow
    kind_value: ClassVar[DocumentKindValue]

    id: strawberry.relay.NodeID[int]
    number: str
    currency: str
    issue_date: date
    reference: str = strawberry.field(description="The customer's reference, e.g. a PO number.")
    customer_notes: str
    terms: str
    subtotal: Money
    discount: Money
    tax: Money
    total: Money
    sent_at: datetime | None
    created_at: datetime
    status: DocumentStatus
    _row: strawberry.Private[SalesDocumentRow]
    # Set when the page that holds the document loaded them with its other documents'.
    _line_items: strawberry.Private[list[LineItem] | None] = None

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        return await Customer.load(info, self._row.customer_id)

    @strawberry.field(
        description="In the order they appear on the document.",
        metadata={PRELOADED_IN: "_line_items"},
    )
    def line_items(self, info: Info) -> list[LineItem]:
        if self._line_items is not None:
            return self._line_items
        return self._load_line_items(info)  # type: ignore[return-value] - graphql-core awaits it

    async def _load_line_items(self, info: Info) -> list[LineItem]:
        await with_line_items(info, [self])
        return self._line_items or []

    @strawberry.field(
        description="The PDF: GET it with the same authentication as /graphql. Add "
        "`?disposition=inline` to show it in the browser, e.g. to print it."
    )
    def pdf_url(self) -> str:
        global_id = to_base64(type(self).__name__, self._row.id)
        return links.current().public_base_url + pdf_path(global_id)

    @strawberry.field(description="The quote or sales order this was converted from.")
    async def source(self, info: Info) -> SalesDocumentNode | None:
        if self._row.source_id is None:
            return None
        row = await info.context.loaders.by_id(SalesDocumentRow).load(self._row.source_id)
        return SalesDocumentNode.from_row(row) if row is not None else None

    @strawberry.field(
        description="Documents converted from this one, e.g. a fulfilled sales order's invoice."
    )
    async def converted_to(self, info: Info) -> list[SalesDocumentNode]:
        loader = info.context.loaders.children(SalesDocumentRow, "source_id", "id")
        return [SalesDocumentNode.from_row(row) for row in await loader.load(self._row.id)]

    @strawberry.field(
        description="The conversation about the document, oldest first. Portal contacts never "
        "see internal comments."
    )
    async def comments(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[Comment, strawberry.lazy("schema.comments")]]:
        from schema.comments import thread_of

        return await thread_of(info, self._row, first, after)

    @strawberry.field(permission_classes=[IsStaffOrPartner], description=STAFF_ONLY)
    def internal_notes(self) -> str:
        return self._row.internal_notes

    @strawberry.field(permission_classes=[IsStaffOrPartner], description=STAFF_ONLY)
    def first_viewed_at(self) -> datetime | None:
        return self._row.first_viewed_at

    @strawberry.field(
        permission_classes=[IsStaff],
        description="Internal: the contact who first opened it; staff only.",
    )
    async def first_viewed_by(self, info: Info) -> ContactPerson | None:
        return await ContactPerson.load(info, self._row.first_viewed_by_id)

    @strawberry.field(
        permission_classes=[IsStaffOrPartner],
        description="What the lines with a cost earn the business before tax; null when no "
        f"line has a cost. {STAFF_ONLY}",
    )
    async def margin(self, info: Info) -> Money | None:
        lines = await _line_rows(info).load(self._row.id)
        margins = [line_margin(row, self.currency) for row in lines]
        known = [minor for minor in margins if minor is not None]
        return Money.of(sum(known), self.currency) if known else None

    @classmethod
    def from_row(cls, row: SalesDocumentRow) -> SalesDocumentNode:
        node_type = TYPES[row.kind] if cls is SalesDocumentNode else cls
        status = status_of(row)
        money = {
            name: Money.of(getattr(row, f"{name}_minor"), row.currency)
            for name in ("subtotal", "discount", "tax", "total")
        }
        return node_type(
            id=row.id,
            number=row.number,
            currency=row.currency,
            issue_date=row.issue_date,
            reference=row.reference,
            customer_notes=row.customer_notes,
            terms=row.terms,
            sent_at=row.sent_at,
            created_at=row.created_at,
            status=status,
            _row=row,
            **money,
            **node_type.kind_fields(row, status),
        )

    @classmethod
    def kind_fields(cls, row: SalesDocumentRow, status: DocumentStatus) -> dict[str, Any]:
        """The values of the fields a kind of document adds."""
        return {}

    @classmethod
    async def load(cls, info: Info, row_id: int | None) -> Any:
        """A document another one refers to (the credit note that paid an invoice): refused
        where the portal hides its kind, as it is asked for by id."""
        node = await super().load(info, row_id)
        if node is not None:
            await document_visibility.require_visible(info.context.principal, [node._row.kind])
        return node

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[SalesDocumentNode | None]:
        await document_visibility.require_visible(info.context.principal, [cls.kind_value])
        ids = [row_id(node_id) for node_id in node_ids]
        rows = await info.context.loaders.by_id(SalesDocumentRow).load_many(ids)
        return [cls.from_row(r) if r is not None and r.kind == cls.kind_value else None
                for r in rows]  # fmt: skip


async def with_line_items(info: Info, documents: list[SalesDocumentNode]) -> None:
    """Loads the line items of all the documents at once (one statement for a page)."""
    lines = await _line_rows(info).load_many([document._row.id for document in documents])
    _set_line_items(documents, lines)


async def with_line_items_of_page(info: Info, documents: list[SalesDocumentNode]) -> None:
    """A page's line items, in one statement, with the columns its `lineItems` fields read."""
    columns = line_columns(names_selected_in(info, "lineItems"))
    ids = [document._row.id for document in documents]
    _set_line_items(documents, await line_items.lines_of(info.context.principal, ids, columns))


def _set_line_items(documents: list[SalesDocumentNode], lines: list[list[LineRow]]) -> None:
    for document, rows in zip(documents, lines, strict=True):
        line_item = _line_item_class(document.currency)
        document._line_items = [tuple.__new__(line_item, row) for row in rows]


# The columns each field of LineItem reads. A field not named here (one added later) reads
# every column: a page's lines are then read whole.
LINE_ITEM_COLUMNS: dict[str, tuple[str, ...]] = {
    "__typename": (),
    "name": ("name",),
    "description": ("description",),
    "quantity": ("quantity",),
    "unit": ("unit",),
    "rate": ("rate",),
    "discountPercent": ("discount_percent",),
    "taxPercent": ("tax_percent",),
    "amount": ("amount_minor",),
    "discount": ("discount_minor",),
    "costRate": ("cost_rate",),
    "margin": ("amount_minor", "discount_minor", "quantity", "cost_rate"),
}


def line_columns(names: Iterable[str]) -> tuple[str, ...]:
    needed: set[str] = set()
    for name in names:
        columns = LINE_ITEM_COLUMNS.get(name)
        if columns is None:
            return line_items.COLUMNS
        needed.update(columns)
    return tuple(column for column in line_items.COLUMNS if column in needed)


def _line_rows(info: Info) -> DataLoader[int, list[LineRow]]:
    principal = info.context.principal
    return info.context.loaders.keyed(
        ("line_rows",), lambda ids: line_items.lines_of(principal, ids)
    )


@strawberry.interface(name="Payable", description="A document the customer pays.")
class Payable:
    balance_due: Money = strawberry.field(description="What is left to pay.")
    due_date: date | None
    payment_terms_days: int | None
    allow_partial_payments: bool = strawberry.field(
        description="Whether the customer may pay part of the balance."
    )
    is_overdue: bool
    # Known without asking where the document takes no bank debit (see payment_methods).
    _payment_methods: strawberry.Private[list[PaymentMethod] | None] = None

    @classmethod
    def kind_fields(cls, row: SalesDocumentRow, status: DocumentStatus) -> dict[str, Any]:
        return {
            "balance_due": Money.of(row.balance_minor, row.currency),
            "due_date": row.due_date,
            "payment_terms_days": row.payment_terms_days,
            "allow_partial_payments": row.allow_partial_payments,
            "_payment_methods": None
            if portal_features.BANK_DEBIT in row.payment_methods
            else [PaymentMethod(method) for method in row.payment_methods],
            "is_overdue": status == DocumentStatus.OVERDUE,
        }

    @strawberry.field(
        description="How the customer may pay it online: what the document takes, less bank "
        "debits (ACH) while the customer may not pay by bank account.",
        metadata={PRELOADED_IN: "_payment_methods"},
    )
    def payment_methods(self, info: Info) -> list[PaymentMethod]:
        if self._payment_methods is not None:
            return self._payment_methods
        return self._offered_methods(info)  # type: ignore[return-value] - graphql-core awaits it

    async def _offered_methods(self, info: Info) -> list[PaymentMethod]:
        row = self._row  # type: ignore[attr-defined]
        loader = info.context.loaders.keyed(("bank-debits",), portal_features.bank_debits_allowed)
        bank_debits = await loader.load(row.customer_id)
        offered = portal_features.methods_offered(row.payment_methods, bank_debits=bank_debits)
        return [PaymentMethod(method) for method in offered]

    @strawberry.field(
        description="What has been paid toward it: payments, and retainer money applied."
    )
    async def payments(
        self, info: Info
    ) -> list[Annotated[PaymentAllocation, strawberry.lazy("schema.payments")]]:
        from schema.payments import payments_of_document

        return await payments_of_document(info, self._row)


@strawberry.enum
class CreditUseKind(Enum):
    APPLIED = "APPLIED"
    REFUNDED = "REFUNDED"


@strawberry.type(description="Part of a credit note's balance, applied to an invoice or refunded.")
class CreditUse:
    kind: CreditUseKind
    amount: Money
    used_on: date
    reference: str
    _credit_note_id: strawberry.Private[int]
    _invoice_id: strawberry.Private[int | None]

    @strawberry.field
    async def credit_note(self, info: Info) -> CreditNote | None:
        return await CreditNote.load(info, self._credit_note_id)

    @strawberry.field(description="The invoice it paid; null for a refund.")
    async def invoice(self, info: Info) -> Invoice | None:
        return await Invoice.load(info, self._invoice_id)

    @classmethod
    def from_row(cls, row: CreditUseRow, currency: str) -> CreditUse:
        return cls(
            kind=CreditUseKind(row.kind.value),
            amount=Money.of(row.amount_minor, currency),
            used_on=row.used_on,
            reference=row.reference,
            _credit_note_id=row.credit_note_id,
            _invoice_id=row.invoice_id,
        )


async def _credit_uses(info: Info, field: str, document: SalesDocumentRow) -> list[CreditUse]:
    loader = info.context.loaders.children(CreditUseRow, field, "id")
    return [CreditUse.from_row(row, document.currency) for row in await loader.load(document.id)]


@strawberry.type
class Invoice(Payable, SalesDocumentNode):
    model = SalesDocumentRow
    kind_value = DocumentKindValue.INVOICE

    @strawberry.field(description="Credit notes applied to this invoice.")
    async def credits_applied(self, info: Info) -> list[CreditUse]:
        return await _credit_uses(info, "invoice_id", self._row)


@strawberry.type(description="Payments of a retainer invoice become the customer's retainer.")
class RetainerInvoice(Payable, SalesDocumentNode):
    model = SalesDocumentRow
    kind_value = DocumentKindValue.RETAINER_INVOICE


@strawberry.type
class Quote(SalesDocumentNode):
    model = SalesDocumentRow
    kind_value = DocumentKindValue.QUOTE

    expiry_date: date | None = strawberry.field(
        description="The last day the customer may accept the quote."
    )
    is_expired: bool = strawberry.field(
        description="Sent, unanswered and past its expiry date: it can no longer be accepted."
    )

    @classmethod
    def kind_fields(cls, row: SalesDocumentRow, status: DocumentStatus) -> dict[str, Any]:
        return {"expiry_date": row.due_date, "is_expired": status == DocumentStatus.EXPIRED}


@strawberry.enum
class ShipmentStatus(Enum):
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"


@strawberry.type
class Shipment(ModelNode):
    model = ShipmentRow

    id: strawberry.relay.NodeID[int]
    carrier: str
    tracking_number: str
    status: ShipmentStatus
    shipped_on: date
    delivered_on: date | None

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ModelNode | None]:
        # Shipments belong to sales orders: hidden with them when the portal hides those.
        kinds = [DocumentKindValue.SALES_ORDER]
        await document_visibility.require_visible(info.context.principal, kinds)
        return await super().resolve_nodes(info=info, node_ids=node_ids, required=required)

    @classmethod
    def from_row(cls, row: ShipmentRow) -> Shipment:
        return cls(
            id=row.id,
            carrier=row.carrier,
            tracking_number=row.tracking_number,
            status=ShipmentStatus(row.status.value),
            shipped_on=row.shipped_on,
            delivered_on=row.delivered_on,
        )


InvoicingStatus = strawberry.enum(
    InvoicingStatusValue,
    description="How much of a sales order its invoices (not void, drafts included) bill.",
)
ShippingStatus = strawberry.enum(
    ShippingStatusValue,
    description="How far a sales order's goods have gone. DELIVERED: shipped in full and every "
    "shipment delivered.",
)


@strawberry.type(
    description="An order the customer placed. It is invoiced and shipped independently "
    "(`invoicingStatus`, `shippingStatus`); once confirmed, its `status` follows from both: "
    "CONFIRMED until something ships, SHIPPED, DELIVERED once shipped in full and delivered, "
    "FULFILLED once also invoiced in full."
)
class SalesOrder(SalesDocumentNode):
    model = SalesDocumentRow
    kind_value = DocumentKindValue.SALES_ORDER

    invoicing_status: InvoicingStatus  # type: ignore[valid-type]
    shipping_status: ShippingStatus  # type: ignore[valid-type]

    @classmethod
    def kind_fields(cls, row: SalesDocumentRow, status: DocumentStatus) -> dict[str, Any]:
        return {
            "invoicing_status": row.invoicing_status,
            "shipping_status": row.shipping_status,
        }

    @strawberry.field
    async def shipments(self, info: Info) -> list[Shipment]:
        loader = info.context.loaders.children(ShipmentRow, "sales_order_id", "id")
        return [Shipment.from_row(row) for row in await loader.load(self._row.id)]

    # A resolver rather than a plain field only to keep its place after `shipments` in the SDL.
    @strawberry.field
    def expected_shipment_date(self) -> date | None:
        return self._row.due_date


@strawberry.type
class CreditNote(SalesDocumentNode):
    model = SalesDocumentRow
    kind_value = DocumentKindValue.CREDIT_NOTE

    credits_remaining: Money = strawberry.field(
        description="What is left to apply to invoices or refund."
    )

    @classmethod
    def kind_fields(cls, row: SalesDocumentRow, status: DocumentStatus) -> dict[str, Any]:
        return {"credits_remaining": Money.of(row.balance_minor, row.currency)}

    @strawberry.field(description="Where its balance went: invoices and refunds.")
    async def uses(self, info: Info) -> list[CreditUse]:
        return await _credit_uses(info, "credit_note_id", self._row)


TYPES: dict[DocumentKindValue, type[SalesDocumentNode]] = {
    node_type.kind_value: node_type
    for node_type in (Invoice, RetainerInvoice, Quote, SalesOrder, CreditNote)
}


@strawberry.enum
class SalesDocumentOrderField(Enum):
    ISSUE_DATE = "issue_date"
    DUE_DATE = "due_date"
    NUMBER = "number"
    TOTAL = "total_minor"
    BALANCE = "balance_minor"


@strawberry.input
class SalesDocumentOrder:
    field: SalesDocumentOrderField = SalesDocumentOrderField.ISSUE_DATE
    direction: OrderDirection = OrderDirection.DESC


@strawberry.input
class SalesDocumentFilter:
    kinds: list[DocumentKind] | None = None  # type: ignore[valid-type]
    statuses: list[DocumentStatus] | None = None
    customer_id: strawberry.ID | None = None
    issued_from: date | None = None
    issued_to: date | None = strawberry.field(default=None, description="Inclusive.")
    due_from: date | None = None
    due_to: date | None = strawberry.field(default=None, description="Inclusive.")
    overdue: bool | None = None
    subscription_id: strawberry.ID | None = strawberry.field(
        default=None, description="Invoices billing one customer subscription."
    )
    viewed_by_customer: bool | None = strawberry.field(
        default=None, description="Staff only: opened by a contact of the customer, or not."
    )
    search: str | None = limited(SEARCH_LENGTH, default=None, description="Part of the number.")


def _where(
    filter: SalesDocumentFilter | None, hidden: frozenset[DocumentKindValue], today: date
) -> Q:
    query = Q(kind__not_in=list(hidden)) if hidden else Q()
    if filter is None:
        return query
    if filter.kinds:
        query &= Q(kind__in=list(filter.kinds))
    if filter.statuses:
        query &= due_dates.with_status([s.value for s in filter.statuses], today)
    if filter.customer_id:
        query &= Q(customer_id=decode_id(filter.customer_id, Customer))
    for name, lookup in (("issued_from", "issue_date__gte"), ("issued_to", "issue_date__lte"),
                         ("due_from", "due_date__gte"), ("due_to", "due_date__lte")):  # fmt: skip
        if getattr(filter, name):
            query &= Q(**{lookup: getattr(filter, name)})
    if filter.overdue is not None:
        overdue = due_dates.overdue(today)
        query &= overdue if filter.overdue else ~overdue
    if filter.subscription_id:
        query &= Q(subscription_id=decode_id(filter.subscription_id, "CustomerSubscription"))
    if filter.viewed_by_customer is not None:
        query &= Q(first_viewed_at__isnull=not filter.viewed_by_customer)
    if filter.search:
        query &= Q(number__icontains=filter.search.strip())
    return query


NO_DUE_DATE = date(9999, 12, 31)


def _ordering(order_by: SalesDocumentOrder | None) -> Ordering:
    order_by = order_by or SalesDocumentOrder()
    field = order_by.field.value
    return Ordering(
        field,
        descending=order_by.direction == OrderDirection.DESC,
        null_as=NO_DUE_DATE if field == "due_date" else None,
    )


@strawberry.type
class DocumentQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Staff see every document; partner keys need documents:read; a portal "
        "contact sees its customer's sent documents, and sales orders and credit notes only "
        "while the portal shows them.",
    )
    async def sales_documents(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: SalesDocumentFilter | None = None,
        order_by: SalesDocumentOrder | None = None,
    ) -> Connection[SalesDocumentNode]:
        principal = info.context.principal
        if filter and filter.kinds:
            await document_visibility.require_visible(principal, filter.kinds)
        if filter and filter.viewed_by_customer is not None and not info.context.is_staff:
            raise Forbidden("Only staff can filter by what the customer viewed.")
        hidden = await document_visibility.hidden_kinds(principal)
        where = _where(filter, hidden, await calendars.today(principal.organization_id))
        page = await connection(
            info, SalesDocumentNode, where=where, order_by=_ordering(order_by),
            first=first, after=after,
        )  # fmt: skip
        if selects(info, "lineItems"):
            await with_line_items_of_page(info, [edge.node for edge in page.edges])
        return page

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="One document, as its detail page shows it. The first time a portal "
        "contact opens an invoice, quote or sales order, staff are told.",
    )
    async def sales_document(self, info: Info, id: strawberry.ID) -> SalesDocumentNode | None:
        node = await resolve_node(info, id)
        if not isinstance(node, SalesDocumentNode):
            return None
        await portal_documents.open_document(info.context.principal, node._row)
        return node


@strawberry.input
class LineItemInput:
    name: str
    description: str = limited(LONG_TEXT_LENGTH, default="")
    quantity: Decimal
    unit: str = ""
    rate: Decimal
    discount_percent: Decimal = Decimal(0)
    tax_percent: Decimal = Decimal(0)
    cost_rate: Decimal | None = strawberry.field(
        default=None, description="Internal: what one unit costs the business."
    )


@strawberry.input
class CreateSalesDocumentInput:
    kind: DocumentKind  # type: ignore[valid-type]
    customer_id: strawberry.ID
    line_items: list[LineItemInput]
    issue_date: date | None = strawberry.field(default=None, description=TODAY_BY_DEFAULT)
    due_date: date | None = strawberry.field(
        default=None, description="Due, expiry or expected shipment date."
    )
    payment_terms_days: int | None = strawberry.field(
        default=None, description="Sets the due date from the issue date when none is given."
    )
    reference: str = ""
    customer_notes: str = limited(LONG_TEXT_LENGTH, default="")
    terms: str = limited(LONG_TEXT_LENGTH, default="")
    internal_notes: str = limited(LONG_TEXT_LENGTH, default="")
    allow_partial_payments: bool = False
    payment_methods: list[PaymentMethod] = strawberry.field(default_factory=list)
    subscription_id: strawberry.ID | None = strawberry.field(
        default=None, description="For an invoice that bills a customer subscription."
    )


@strawberry.input
class UpdateSalesDocumentInput:
    id: strawberry.ID
    line_items: list[LineItemInput] | None = strawberry.UNSET
    issue_date: date | None = strawberry.UNSET
    due_date: date | None = strawberry.UNSET
    payment_terms_days: int | None = strawberry.UNSET
    reference: str | None = strawberry.UNSET
    customer_notes: str | None = limited(LONG_TEXT_LENGTH, default=strawberry.UNSET)
    terms: str | None = limited(LONG_TEXT_LENGTH, default=strawberry.UNSET)
    internal_notes: str | None = limited(LONG_TEXT_LENGTH, default=strawberry.UNSET)
    allow_partial_payments: bool | None = strawberry.UNSET
    payment_methods: list[PaymentMethod] | None = strawberry.UNSET


@strawberry.input
class SalesDocumentIdInput:
    id: strawberry.ID


@strawberry.type
class SalesDocumentPayload:
    sales_document: SalesDocumentNode | None = None
    errors: list[UserError]


def document_id(value: strawberry.ID) -> int:
    """Any kind's global id: the kind is checked against the row by the use case."""
    for node_type in TYPES.values():
        row_id = decode_id(value, node_type)
        if row_id:
            return row_id
    return 0


@strawberry.input
class AnswerQuoteInput:
    id: strawberry.ID
    accept: bool = strawberry.field(description="true accepts the quote, false declines it.")
    comment: str = limited(LONG_TEXT_LENGTH, default="")


@strawberry.type
class AnswerQuotePayload:
    quote: Quote | None = None
    errors: list[UserError]


@strawberry.type
class PortalDocumentMutations:
    @strawberry.mutation(
        permission_classes=[IsContact],
        description="A portal contact accepts or declines a sent quote, once; staff are told.",
    )
    async def answer_quote(self, info: Info, input: AnswerQuoteInput) -> AnswerQuotePayload:
        async def action() -> dict:
            row = await portal_documents.answer_quote(
                info.context.contact,
                decode_id(input.id, Quote),
                accept=input.accept,
                comment=input.comment,
            )
            return {"quote": Quote.from_row(row)}

        return await payload_or_errors(AnswerQuotePayload, action)


@strawberry.input
class ConvertSalesDocumentInput:
    id: strawberry.ID = strawberry.field(description="A quote or a sales order.")
    to: DocumentKind = strawberry.field(  # type: ignore[valid-type]
        description="SALES_ORDER or INVOICE for a quote; INVOICE for a sales order."
    )


@strawberry.input
class ApplyCreditInput:
    credit_note_id: strawberry.ID
    invoice_id: strawberry.ID
    amount: Decimal


@strawberry.type
class ApplyCreditPayload:
    credit_note: CreditNote | None = None
    invoice: Invoice | None = None
    errors: list[UserError]


@strawberry.input
class RefundCreditInput:
    credit_note_id: strawberry.ID
    amount: Decimal
    reference: str = ""
    refunded_on: date | None = strawberry.field(
        default=None, description="From the credit note's date to today. " + TODAY_BY_DEFAULT
    )


@strawberry.type
class RefundCreditPayload:
    credit_note: CreditNote | None = None
    errors: list[UserError]


@strawberry.type
class CreditMutations:
    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="Pays part or all of an open invoice from a credit note of its customer.",
    )
    async def apply_credit(self, info: Info, input: ApplyCreditInput) -> ApplyCreditPayload:
        async def action() -> dict:
            credit, invoice = await credits.apply_credit(
                info.context.staff,
                decode_id(input.credit_note_id, CreditNote),
                decode_id(input.invoice_id, Invoice),
                input.amount,
            )
            return {
                "credit_note": CreditNote.from_row(credit),
                "invoice": Invoice.from_row(invoice),
            }

        return await payload_or_errors(ApplyCreditPayload, action)

    @strawberry.mutation(permission_classes=[IsStaff], description="Records a refund of credit.")
    async def refund_credit(self, info: Info, input: RefundCreditInput) -> RefundCreditPayload:
        async def action() -> dict:
            credit = await credits.refund_credit(
                info.context.staff,
                decode_id(input.credit_note_id, CreditNote),
                input.amount,
                input.reference,
                input.refunded_on,
            )
            return {"credit_note": CreditNote.from_row(credit)}

        return await payload_or_errors(RefundCreditPayload, action)


@strawberry.input
class RecordShipmentInput:
    sales_order_id: strawberry.ID
    carrier: str
    tracking_number: str = ""
    shipped_on: date | None = strawberry.field(default=None, description=TODAY_BY_DEFAULT)
    partial: bool = strawberry.field(
        default=False,
        description="A part of the order: it is PARTIALLY_SHIPPED until a shipment that is not "
        "partial ships the rest.",
    )


@strawberry.input
class MarkShipmentDeliveredInput:
    id: strawberry.ID
    delivered_on: date | None = strawberry.field(default=None, description=TODAY_BY_DEFAULT)


@strawberry.type
class ShipmentPayload:
    shipment: Shipment | None = None
    sales_order: SalesOrder | None = strawberry.field(
        default=None, description="The order as the shipment left it."
    )
    errors: list[UserError]


@strawberry.type
class ShipmentMutations:
    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="Ships a confirmed sales order, invoiced or not, that has not shipped in "
        "full: it becomes SHIPPED (PARTIALLY_SHIPPED with `partial`).",
    )
    async def record_shipment(self, info: Info, input: RecordShipmentInput) -> ShipmentPayload:
        async def action() -> dict:
            row, order = await shipments.record_shipment(
                info.context.staff,
                decode_id(input.sales_order_id, SalesOrder),
                carrier=input.carrier,
                tracking_number=input.tracking_number,
                shipped_on=input.shipped_on,
                partial=input.partial,
            )
            return {"shipment": Shipment.from_row(row), "sales_order": SalesOrder.from_row(order)}

        return await payload_or_errors(ShipmentPayload, action)

    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="The shipment arrived. With the last of an order shipped in full, the "
        "order is DELIVERED (FULFILLED if invoiced in full).",
    )
    async def mark_shipment_delivered(
        self, info: Info, input: MarkShipmentDeliveredInput
    ) -> ShipmentPayload:
        async def action() -> dict:
            row, order = await shipments.mark_delivered(
                info.context.staff, decode_id(input.id, Shipment), input.delivered_on
            )
            return {"shipment": Shipment.from_row(row), "sales_order": SalesOrder.from_row(order)}

        return await payload_or_errors(ShipmentPayload, action)


@strawberry.type
class DocumentMutations:
    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="A new draft with the same customer and lines, linked to its source.",
    )
    async def convert_sales_document(
        self, info: Info, input: ConvertSalesDocumentInput
    ) -> SalesDocumentPayload:
        async def action() -> dict:
            row = await documents.convert_document(
                info.context.staff, document_id(input.id), DocumentKindValue(input.to.value)
            )
            return {"sales_document": SalesDocumentNode.from_row(row)}

        return await payload_or_errors(SalesDocumentPayload, action)

    @strawberry.mutation(permission_classes=[IsStaff], description="Creates a draft.")
    async def create_sales_document(
        self, info: Info, input: CreateSalesDocumentInput
    ) -> SalesDocumentPayload:
        async def action() -> dict:
            data = changes_of(input)
            data["customer_id"] = decode_id(input.customer_id, Customer)
            if input.subscription_id:
                data["subscription_id"] = decode_id(input.subscription_id, "CustomerSubscription")
            row = await documents.create_document(info.context.staff, data)
            return {"sales_document": SalesDocumentNode.from_row(row)}

        return await payload_or_errors(SalesDocumentPayload, action)

    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="Drafts and issued documents not yet settled; totals and balance follow.",
    )
    async def update_sales_document(
        self, info: Info, input: UpdateSalesDocumentInput
    ) -> SalesDocumentPayload:
        async def action() -> dict:
            changes = changes_of(input)
            row = await documents.update_document(
                info.context.staff, document_id(input.id), changes
            )
            return {"sales_document": SalesDocumentNode.from_row(row)}

        return await payload_or_errors(SalesDocumentPayload, action)

    @strawberry.mutation(
        permission_classes=[IsStaff], description="Issues a draft; the portal shows it from now on."
    )
    async def send_sales_document(
        self, info: Info, input: SalesDocumentIdInput
    ) -> SalesDocumentPayload:
        async def action() -> dict:
            row = await documents.send_document(info.context.staff, document_id(input.id))
            return {"sales_document": SalesDocumentNode.from_row(row)}

        return await payload_or_errors(SalesDocumentPayload, action)

    @strawberry.mutation(permission_classes=[IsStaff])
    async def void_sales_document(
        self, info: Info, input: SalesDocumentIdInput
    ) -> SalesDocumentPayload:
        async def action() -> dict:
            row = await documents.void_document(info.context.staff, document_id(input.id))
            return {"sales_document": SalesDocumentNode.from_row(row)}

        return await payload_or_errors(SalesDocumentPayload, action)
