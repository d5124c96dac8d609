from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import strawberry
from strawberry.relay import to_base64
from tortoise.expressions import Q

from auth.scoping import scoped
from integrations.gateways.base import ChargeStatus
from models.documents import SalesDocument as SalesDocumentRow
from models.payments import MethodKind as MethodKindValue
from models.payments import Payment as PaymentRow
from models.payments import PaymentAllocation as PaymentAllocationRow
from models.payments import PaymentKind as PaymentKindValue
from models.payments import PaymentMode as PaymentModeValue
from models.payments import PaymentRefund as PaymentRefundRow
from models.payments import PaymentStatus as PaymentStatusValue
from models.payments import RefundStatus as RefundStatusValue
from models.payments import SavedPaymentMethod as SavedPaymentMethodRow
from pdf.links import receipt_pdf_path
from resolvers import links, online_payments, payment_methods, payments, refunds
from resolvers.errors import ErrorCode
from schema.context import Info
from schema.customers import Customer
from schema.documents import Invoice, SalesDocumentNode, document_id
from schema.edge import LONG_TEXT_LENGTH, SEARCH_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.inputs import TODAY_BY_DEFAULT
from schema.money import Money
from schema.permissions import (
    STAFF_ONLY,
    IsAdmin,
    IsAuthenticated,
    IsContact,
    IsStaff,
    IsStaffOrPartner,
)
from schema.relay import Connection, ModelNode, OrderDirection, connection, decode_id
from schema.staff import StaffUser

PaymentKind = strawberry.enum(
    PaymentKindValue,
    description="INVOICE_PAYMENT pays invoices; RETAINER_PAYMENT pays a retainer invoice and "
    "its money is held for the customer until applied to invoices or refunded.",
)
PaymentMode = strawberry.enum(PaymentModeValue, description="How the money was paid.")
PaymentStatus = strawberry.enum(
    PaymentStatusValue,
    description="PROCESSING while the gateway is being asked; PENDING until the money has "
    "arrived, e.g. a bank debit.",
)
RefundStatus = strawberry.enum(
    RefundStatusValue,
    description="PROCESSING while the gateway gives the money back (nothing is applied yet, "
    "but the amount is held: no other refund can take it); SUCCEEDED once given back; FAILED "
    "when the gateway gave nothing back, which changed nothing.",
)


@strawberry.type(description="Money received from a customer and what it paid.")
class Payment(ModelNode):
    model = PaymentRow

    id: strawberry.relay.NodeID[int]
    number: str
    kind: PaymentKind  # type: ignore[valid-type]
    mode: PaymentMode  # type: ignore[valid-type]
    status: PaymentStatus  # type: ignore[valid-type]
    amount: Money
    unused_amount: Money = strawberry.field(
        description="Retainer money not yet applied to invoices or refunded."
    )
    refunded_amount: Money
    paid_on: date
    reference: str = strawberry.field(description="e.g. the cheque or transfer number.")
    notes: str
    created_at: datetime
    _row: strawberry.Private[PaymentRow]

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        return await Customer.load(info, self._row.customer_id)

    @strawberry.field(description="The invoices and retainer invoices it paid, oldest first.")
    async def allocations(self, info: Info) -> list[PaymentAllocation]:
        loader = info.context.loaders.children(PaymentAllocationRow, "payment_id", "id")
        return [PaymentAllocation.from_row(row, self._row.currency)
                for row in await loader.load(self._row.id)]  # fmt: skip

    @strawberry.field(
        description="Every refund asked for, oldest first, in progress and failed ones too "
        "(see status); refundedAmount counts those that succeeded."
    )
    async def refunds(self, info: Info) -> list[PaymentRefund]:
        loader = info.context.loaders.children(PaymentRefundRow, "payment_id", "id")
        return [PaymentRefund.from_row(row, self._row.currency)
                for row in await loader.load(self._row.id)]  # fmt: skip

    @strawberry.field(
        description="The receipt PDF, once the payment has succeeded: GET it with the same "
        "authentication as /graphql."
    )
    def receipt_pdf_url(self) -> str | None:
        if self._row.status != PaymentStatusValue.SUCCEEDED:
            return None
        global_id = to_base64(type(self).__name__, self._row.id)
        return links.current().public_base_url + receipt_pdf_path(global_id)

    @strawberry.field(description="Why an online payment failed; empty otherwise.")
    def failure_reason(self) -> str:
        return self._row.failure_reason

    @strawberry.field(description="The saved card or bank account it was paid with, if any.")
    async def payment_method(self, info: Info) -> SavedPaymentMethod | None:
        return await SavedPaymentMethod.load(info, self._row.payment_method_id)

    @strawberry.field(permission_classes=[IsStaffOrPartner], description=STAFF_ONLY)
    def internal_notes(self) -> str:
        return self._row.internal_notes

    @strawberry.field(
        permission_classes=[IsStaffOrPartner],
        description=f"The gateway's id for the charge. {STAFF_ONLY}",
    )
    def gateway_reference(self) -> str:
        return self._row.gateway_reference

    @strawberry.field(
        permission_classes=[IsStaff],
        description="Internal: the staff user who recorded it; staff only.",
    )
    async def recorded_by(self, info: Info) -> StaffUser | None:
        return await StaffUser.load(info, self._row.recorded_by_id)

    @classmethod
    def from_row(cls, row: PaymentRow) -> Payment:
        money = {
            name: Money.of(getattr(row, f"{column}_minor"), row.currency)
            for name, column in (("amount", "amount"), ("unused_amount", "unused"),
                                 ("refunded_amount", "refunded"))
        }  # fmt: skip
        return cls(
            id=row.id,
            number=row.number,
            kind=row.kind,
            mode=row.mode,
            status=row.status,
            paid_on=row.paid_on,
            reference=row.reference,
            notes=row.notes,
            created_at=row.created_at,
            _row=row,
            **money,
        )


MethodKind = strawberry.enum(MethodKindValue, description="A card, or a bank account (ACH).")


@strawberry.type(
    description="A saved card or bank account: what may be shown of it, never the number."
)
class SavedPaymentMethod(ModelNode):
    model = SavedPaymentMethodRow

    id: strawberry.relay.NodeID[int]
    kind: MethodKind  # type: ignore[valid-type]
    brand: str = strawberry.field(description="Cards: visa, mastercard, ...")
    last4: str
    exp_month: int | None
    exp_year: int | None
    bank_name: str
    is_default: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: SavedPaymentMethodRow) -> SavedPaymentMethod:
        return cls(
            id=row.id,
            kind=row.kind,
            brand=row.brand,
            last4=row.last4,
            exp_month=row.exp_month,
            exp_year=row.exp_year,
            bank_name=row.bank_name,
            is_default=row.is_default,
            created_at=row.created_at,
        )


async def _document(info: Info, document_id: int | None) -> SalesDocumentNode | None:
    if document_id is None:
        return None
    row = await info.context.loaders.by_id(SalesDocumentRow).load(document_id)
    return SalesDocumentNode.from_row(row) if row is not None else None


@strawberry.type(description="Part of a payment that went to one invoice or retainer invoice.")
class PaymentAllocation:
    amount: Money
    applied_on: date
    _payment_id: strawberry.Private[int]
    _document_id: strawberry.Private[int]

    @strawberry.field
    async def payment(self, info: Info) -> Payment | None:
        return await Payment.load(info, self._payment_id)

    @strawberry.field
    async def document(self, info: Info) -> SalesDocumentNode | None:
        return await _document(info, self._document_id)

    @classmethod
    def from_row(cls, row: PaymentAllocationRow, currency: str) -> PaymentAllocation:
        return cls(
            amount=Money.of(row.amount_minor, currency),
            applied_on=row.applied_on,
            _payment_id=row.payment_id,
            _document_id=row.document_id,
        )


@strawberry.type(
    description="Money given back from a payment: from one invoice, or from unused retainer "
    "money. A refund that takes from several invoices is one of these for each."
)
class PaymentRefund:
    amount: Money
    refunded_on: date
    mode: PaymentMode = strawberry.field(  # type: ignore[valid-type]
        description="The payment's own mode (CARD, ACH) for a payment taken online: given back "
        "through the gateway. Any other: given back by the business itself."
    )
    reference: str
    status: RefundStatus  # type: ignore[valid-type]
    _row: strawberry.Private[PaymentRefundRow]

    @strawberry.field(description="The invoice that is due again; null for retainer money.")
    async def document(self, info: Info) -> SalesDocumentNode | None:
        return await _document(info, self._row.document_id)

    @strawberry.field(
        permission_classes=[IsStaffOrPartner],
        description=f"Why the gateway gave nothing back; empty otherwise. {STAFF_ONLY}",
    )
    def failure_reason(self) -> str:
        return self._row.failure_reason

    @strawberry.field(
        permission_classes=[IsStaffOrPartner],
        description=f"The gateway's id for the refund. {STAFF_ONLY}",
    )
    def gateway_reference(self) -> str:
        return self._row.gateway_reference

    @classmethod
    def from_row(cls, row: PaymentRefundRow, currency: str) -> PaymentRefund:
        return cls(
            amount=Money.of(row.amount_minor, currency),
            refunded_on=row.refunded_on,
            mode=row.mode,
            reference=row.reference,
            status=row.status,
            _row=row,
        )


async def payments_of_document(info: Info, document: SalesDocumentRow) -> list[PaymentAllocation]:
    principal = info.context.principal
    loader = info.context.loaders.keyed(
        ("payments of documents",), lambda ids: payments.allocations_of(principal, ids)
    )
    return [PaymentAllocation.from_row(row, document.currency)
            for row in await loader.load(document.id)]  # fmt: skip


@strawberry.enum
class PaymentOrderField(Enum):
    PAID_ON = "paid_on"
    AMOUNT = "amount_minor"
    NUMBER = "number"


@strawberry.input
class PaymentOrder:
    field: PaymentOrderField = PaymentOrderField.PAID_ON
    direction: OrderDirection = OrderDirection.DESC


@strawberry.input
class PaymentFilter:
    kinds: list[PaymentKind] | None = None  # type: ignore[valid-type]
    statuses: list[PaymentStatus] | None = None  # type: ignore[valid-type]
    modes: list[PaymentMode] | None = None  # type: ignore[valid-type]
    customer_id: strawberry.ID | None = None
    paid_from: date | None = None
    paid_to: date | None = strawberry.field(default=None, description="Inclusive.")
    search: str | None = limited(
        SEARCH_LENGTH, default=None, description="Part of number or reference."
    )


def _where(filter: PaymentFilter | None) -> Q:
    query = Q()
    if filter is None:
        return query
    for name, lookup in (("kinds", "kind__in"), ("statuses", "status__in"), ("modes", "mode__in"),
                         ("paid_from", "paid_on__gte"), ("paid_to", "paid_on__lte")):  # fmt: skip
        if getattr(filter, name):
            query &= Q(**{lookup: getattr(filter, name)})
    if filter.customer_id:
        query &= Q(customer_id=decode_id(filter.customer_id, Customer))
    if filter.search and filter.search.strip():
        text = filter.search.strip()
        query &= Q(number__icontains=text) | Q(reference__icontains=text)
    return query


@strawberry.type
class PaymentQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Payments made: staff see all, partner keys need payments:read, a portal "
        "contact sees its customer's.",
    )
    async def payments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: PaymentFilter | None = None,
        order_by: PaymentOrder | None = None,
    ) -> Connection[Payment]:
        return await connection(
            info, Payment, where=_where(filter), order_by=order_by or PaymentOrder(),
            first=first, after=after,
        )  # fmt: skip

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Saved cards and bank accounts, default first: a portal contact's own "
        "customer's; staff give the customer.",
    )
    async def saved_payment_methods(
        self, info: Info, customer_id: strawberry.ID | None = None
    ) -> list[SavedPaymentMethod]:
        query = scoped(SavedPaymentMethodRow, info.context.principal)
        if customer_id is not None:
            query = query.filter(customer_id=decode_id(customer_id, Customer))
        rows = await query.order_by("-is_default", "-id").limit(100)
        return [SavedPaymentMethod.from_row(row) for row in rows]


@strawberry.input
class PaymentAllocationInput:
    document_id: strawberry.ID = strawberry.field(description="An invoice or retainer invoice.")
    amount: Decimal


@strawberry.input
class RecordPaymentInput:
    customer_id: strawberry.ID
    mode: PaymentMode  # type: ignore[valid-type]
    allocations: list[PaymentAllocationInput] = strawberry.field(
        description="Open invoices of the customer, or one retainer invoice, and how much of "
        "each is paid; the payment's amount is their sum."
    )
    paid_on: date | None = strawberry.field(default=None, description=TODAY_BY_DEFAULT)
    reference: str = ""
    notes: str = limited(LONG_TEXT_LENGTH, default="", description="Shown to the customer.")
    internal_notes: str = limited(LONG_TEXT_LENGTH, default="")
    send_receipt: bool = strawberry.field(
        default=False, description="Email a receipt to the customer's primary contact."
    )
    request_review: bool = strawberry.field(
        default=False,
        description="Also ask the customer for a review, as requestReview does, in the same "
        "transaction: if the request cannot be made, no payment is recorded.",
    )


@strawberry.type
class PaymentPayload:
    payment: Payment | None = None
    errors: list[UserError]


@strawberry.input
class ApplyRetainerPaymentInput:
    payment_id: strawberry.ID = strawberry.field(description="A retainer payment.")
    invoice_id: strawberry.ID
    amount: Decimal


@strawberry.type
class ApplyRetainerPaymentPayload:
    payment: Payment | None = None
    invoice: Invoice | None = None
    errors: list[UserError]


@strawberry.input
class RefundPaymentInput:
    payment_id: strawberry.ID
    amount: Decimal
    mode: PaymentMode = strawberry.field(  # type: ignore[valid-type]
        description="How the money goes back. A payment taken online goes back through its "
        "gateway when refunded in its own mode (CARD, ACH); CASH, CHEQUE, BANK_TRANSFER or "
        "OTHER record money the business gave back itself, and the gateway is not asked."
    )
    refunded_on: date | None = strawberry.field(
        default=None,
        description="From the payment's date to today. " + TODAY_BY_DEFAULT,
    )
    reference: str = ""


@strawberry.enum(description="How the test gateway settles a bank debit.")
class SettlementOutcome(Enum):
    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"


@strawberry.input
class SettleTestPaymentInput:
    payment_id: strawberry.ID
    outcome: SettlementOutcome | None = strawberry.field(
        default=None, description="Default: as the test token dictates."
    )


@strawberry.type
class ReconcilePaymentsPayload:
    changed: int = strawberry.field(description="How many payments the gateway's answer ended.")
    changed_refunds: int = strawberry.field(
        description="How many refunds the gateway's answer ended."
    )
    errors: list[UserError]


@strawberry.type
class PaymentMutations:
    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="Test gateway only, for demos: settles a pending bank debit now and sends "
        "its webhook, as the bank would after a few days.",
    )
    async def settle_test_payment(
        self, info: Info, input: SettleTestPaymentInput
    ) -> PaymentPayload:
        async def action() -> dict:
            outcome = ChargeStatus(input.outcome.value) if input.outcome else None
            row = await online_payments.settle_test_payment(
                info.context.staff, decode_id(input.payment_id, Payment), outcome
            )
            return {"payment": Payment.from_row(row)}

        return await payload_or_errors(PaymentPayload, action)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Asks the gateways now about payments and refunds left in flight for a "
        "minute or more (Portico also does this every 30 seconds and at start-up).",
    )
    async def reconcile_payments(self, info: Info) -> ReconcilePaymentsPayload:
        return ReconcilePaymentsPayload(
            changed=await online_payments.reconcile(),
            changed_refunds=await refunds.reconcile(),
            errors=[],
        )

    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="Records money received outside the portal; the invoices' balances and "
        "statuses follow.",
    )
    async def record_payment(self, info: Info, input: RecordPaymentInput) -> PaymentPayload:
        async def action() -> dict:
            allocations = [
                payments.Allocation(document_id(a.document_id), a.amount) for a in input.allocations
            ]
            row = await payments.record_payment(
                info.context.staff,
                decode_id(input.customer_id, Customer),
                allocations,
                payments.PaymentDetails(
                    mode=PaymentModeValue(input.mode.value),
                    paid_on=input.paid_on,
                    reference=input.reference,
                    notes=input.notes,
                    internal_notes=input.internal_notes,
                    send_receipt=input.send_receipt,
                    request_review=input.request_review,
                ),
            )
            return {"payment": Payment.from_row(row)}

        return await payload_or_errors(PaymentPayload, action)

    @strawberry.mutation(
        permission_classes=[IsStaff], description="Pays an invoice from unused retainer money."
    )
    async def apply_retainer_payment(
        self, info: Info, input: ApplyRetainerPaymentInput
    ) -> ApplyRetainerPaymentPayload:
        async def action() -> dict:
            payment, invoice = await payments.apply_retainer(
                info.context.staff,
                decode_id(input.payment_id, Payment),
                decode_id(input.invoice_id, Invoice),
                input.amount,
            )
            return {"payment": Payment.from_row(payment), "invoice": Invoice.from_row(invoice)}

        return await payload_or_errors(ApplyRetainerPaymentPayload, action)

    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="Gives money back: unused retainer money first, then what it paid of its "
        "invoices, newest first; those invoices are due again once the money is given back. "
        "Through the gateway, the refund may answer PROCESSING with REFUND_IN_PROGRESS (the "
        "gateway has not answered; Portico asks it again within minutes) or FAILED with "
        "GATEWAY_ERROR (nothing was given back and nothing changed).",
    )
    async def refund_payment(self, info: Info, input: RefundPaymentInput) -> PaymentPayload:
        problems: list[UserError] = []

        async def action() -> dict:
            refunded = await refunds.refund_payment(
                info.context.staff,
                decode_id(input.payment_id, Payment),
                refunds.RefundDetails(
                    amount=input.amount,
                    mode=PaymentModeValue(input.mode.value),
                    refunded_on=input.refunded_on,
                    reference=input.reference,
                ),
            )
            if (problem := refunded.problem()) is not None:
                problems.append(UserError.from_problem(problem))
            return {"payment": Payment.from_row(refunded.payment)}

        payload = await payload_or_errors(PaymentPayload, action)
        payload.errors.extend(problems)
        return payload


@strawberry.input
class PayInvoicesInput:
    idempotency_key: str = strawberry.field(
        description="Unique per payment the contact means to make (8-100 characters): sending "
        "the same request again with it returns the first result, as it stands then, and "
        "never charges twice. Kept for at least 24 hours."
    )
    allocations: list[PaymentAllocationInput] = strawberry.field(
        description="The invoices, or one retainer invoice, and how much of each to pay: the "
        "whole balance, or less where the invoice allows partial payments."
    )
    payment_method_id: strawberry.ID | None = strawberry.field(
        default=None, description="A saved card or bank account; or give a token."
    )
    token: str | None = strawberry.field(
        default=None, description="A card or bank account token from the payment gateway."
    )
    save_payment_method: bool = strawberry.field(
        default=False, description="Keep the token's card or bank account for next time."
    )


@strawberry.input
class PayAllOutstandingInput:
    idempotency_key: str = strawberry.field(description="As payInvoices takes it.")
    currency: str | None = strawberry.field(
        default=None,
        description="Needed only when invoices are outstanding in more than one currency.",
    )
    payment_method_id: strawberry.ID | None = strawberry.field(
        default=None, description="A saved card or bank account; or give a token."
    )
    token: str | None = strawberry.field(
        default=None, description="A card or bank account token from the payment gateway."
    )
    save_payment_method: bool = strawberry.field(
        default=False, description="Keep the token's card or bank account for next time."
    )


@strawberry.input
class AddPaymentMethodInput:
    token: str = strawberry.field(description="A card or bank account token from the gateway.")


@strawberry.input
class PaymentMethodIdInput:
    id: strawberry.ID


@strawberry.type
class SavedPaymentMethodPayload:
    saved_payment_method: SavedPaymentMethod | None = None
    errors: list[UserError]


@strawberry.type
class RemovePaymentMethodPayload:
    removed_id: strawberry.ID | None = None
    errors: list[UserError]


IN_PROGRESS = (
    "The payment is still with the gateway. Send the same request again (same idempotency key) "
    "or read the payment by id until it has ended; it is never charged twice."
)


async def _pay(
    info: Info,
    input: PayInvoicesInput | PayAllOutstandingInput,
    *,
    allocations: list[payments.Allocation] | None = None,
    all_outstanding: bool = False,
    currency: str | None = None,
) -> PaymentPayload:
    async def action() -> dict:
        request = online_payments.PayRequest(
            idempotency_key=input.idempotency_key,
            allocations=allocations or [],
            payment_method_id=decode_id(input.payment_method_id, SavedPaymentMethod)
            if input.payment_method_id is not None
            else None,
            token=input.token,
            save_payment_method=input.save_payment_method,
            all_outstanding=all_outstanding,
            currency=currency,
        )
        row = await online_payments.pay(info.context.contact, request)
        return {"payment": Payment.from_row(row)}

    payload = await payload_or_errors(PaymentPayload, action)
    row = payload.payment._row if payload.payment is not None else None
    if row is not None and row.status == PaymentStatusValue.FAILED:
        code = ErrorCode.PAYMENT_DECLINED if row.declined else ErrorCode.PAYMENT_NOT_COMPLETED
        payload.errors.append(UserError(field=None, message=row.failure_reason, code=code))
    if row is not None and row.status == PaymentStatusValue.PROCESSING:
        payload.errors.append(
            UserError(field=None, message=IN_PROGRESS, code=ErrorCode.PAYMENT_IN_PROGRESS)
        )
    return payload


@strawberry.type
class PortalPaymentMutations:
    @strawberry.mutation(
        permission_classes=[IsContact],
        description="Pays one or several invoices (bulk, while the portal allows it) in one "
        "payment by card or bank account. A card payment completes at once; a bank debit stays "
        "PENDING until the bank settles it. A failed payment is kept as FAILED and returned "
        "with an error: PAYMENT_DECLINED when the bank said no, PAYMENT_NOT_COMPLETED when it "
        "may be tried again with a new idempotency key. A payment the gateway has not answered "
        "for yet is returned PROCESSING with PAYMENT_IN_PROGRESS, at once, also to a repeated "
        "request: send it again or read the payment until it has ended.",
    )
    async def pay_invoices(self, info: Info, input: PayInvoicesInput) -> PaymentPayload:
        return await _pay(info, input, allocations=[
            payments.Allocation(document_id(a.document_id), a.amount) for a in input.allocations
        ])  # fmt: skip

    @strawberry.mutation(
        permission_classes=[IsContact],
        description="Pays every invoice the customer has outstanding in one payment, each for "
        "its whole balance, oldest due first, as payInvoices would with one allocation each "
        "(while the portal allows bulk payments: BULK_PAYMENTS_OFF otherwise). Invoices a "
        "payment in progress holds are left out, as are those that do not take the card or bank "
        "account given. NOTHING_OUTSTANDING when there is nothing to pay; the payment's "
        "allocations say what it paid.",
    )
    async def pay_all_outstanding(
        self, info: Info, input: PayAllOutstandingInput
    ) -> PaymentPayload:
        return await _pay(info, input, all_outstanding=True, currency=input.currency)

    @strawberry.mutation(
        permission_classes=[IsContact],
        description="Saves a card or bank account for the customer; the first is the default.",
    )
    async def add_payment_method(
        self, info: Info, input: AddPaymentMethodInput
    ) -> SavedPaymentMethodPayload:
        async def action() -> dict:
            row = await payment_methods.save(info.context.contact, input.token)
            return {"saved_payment_method": SavedPaymentMethod.from_row(row)}

        return await payload_or_errors(SavedPaymentMethodPayload, action)

    @strawberry.mutation(permission_classes=[IsContact])
    async def set_default_payment_method(
        self, info: Info, input: PaymentMethodIdInput
    ) -> SavedPaymentMethodPayload:
        async def action() -> dict:
            row = await payment_methods.set_default(
                info.context.contact, decode_id(input.id, SavedPaymentMethod)
            )
            return {"saved_payment_method": SavedPaymentMethod.from_row(row)}

        return await payload_or_errors(SavedPaymentMethodPayload, action)

    @strawberry.mutation(permission_classes=[IsContact])
    async def remove_payment_method(
        self, info: Info, input: PaymentMethodIdInput
    ) -> RemovePaymentMethodPayload:
        async def action() -> dict:
            await payment_methods.remove(
                info.context.contact, decode_id(input.id, SavedPaymentMethod)
            )
            return {"removed_id": input.id}

        return await payload_or_errors(RemovePaymentMethodPayload, action)
