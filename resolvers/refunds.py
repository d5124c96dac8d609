"""Giving money back from a payment, as staff ask with refundPayment: unused retainer money
first, then what the payment paid of its invoices, newest first; those invoices are due again.

A payment taken through a gateway goes back through it in three steps, as it came: the refund
is committed first (PROCESSING: its rows hold what they give back, so no other refund can take
it), then the gateway refunds the sum under the refund's own key, at most once, then the
outcome is written. Only a refund that succeeded gives back retainer money and reopens
invoices; one the gateway refused ends FAILED and changes nothing. A crash in between leaves a
PROCESSING refund that `reconcile` ends by asking the gateway, which cancels a key never used,
so a call still under way can no longer give money back.

Money the business gives back itself (cash, cheque, a bank transfer), and any refund of a
payment staff recorded, is only recorded, at once: the gateway is not asked.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from auth.principals import StaffPrincipal
from integrations.gateways.base import GatewayError
from integrations.gateways.base import Refund as GatewayRefund
from integrations.gateways.base import RefundStatus as GatewayRefundStatus
from integrations.gateways.registry import gateway as gateway_named
from models.activity import ActivityKind
from models.documents import DocumentKind, SalesDocument
from models.payments import (
    Payment,
    PaymentAllocation,
    PaymentMode,
    PaymentRefund,
    PaymentStatus,
    RefundStatus,
)
from models.staff import StaffUser
from resolvers import activity, calendars, transactions
from resolvers.balances import (
    RefundHold,
    amount_in,
    held_by_refunds,
    lock_documents,
    refund_date,
    settle,
    within,
)
from resolvers.crash_safety import STALE_AFTER, crash_point
from resolvers.errors import ErrorCode, UserError, reject
from resolvers.payments import locked_payment
from resolvers.validation import Checker

logger = logging.getLogger("portico.refunds")

# How a gateway takes payments: a refund in the payment's own mode goes back through it.
GATEWAY_MODES = {PaymentMode.CARD: "card", PaymentMode.ACH: "bank account"}
NOTHING_GIVEN_BACK = "The gateway gave nothing back."


@dataclass(frozen=True)
class RefundDetails:
    amount: Decimal
    # The payment's own gateway mode goes back through the gateway; any other mode records
    # money the business gave back itself.
    mode: PaymentMode
    refunded_on: date | None = None
    reference: str = ""


@dataclass(frozen=True)
class Refunded:
    """A refund as it stands when refundPayment answers."""

    payment: Payment
    status: RefundStatus
    failure_reason: str = ""

    def problem(self) -> UserError | None:
        """What the answer must tell staff beside the payment: a refund that did not complete."""
        if self.status == RefundStatus.FAILED:
            message = f"The gateway refused the refund: {self.failure_reason}"
            return UserError(ErrorCode.GATEWAY_ERROR, message)
        if self.status == RefundStatus.PROCESSING:
            return UserError(
                ErrorCode.REFUND_IN_PROGRESS,
                "The gateway has not answered yet; the refund completes or fails once Portico "
                "has asked it again, within a few minutes.",
            )
        return None


async def refund_payment(
    principal: StaffPrincipal, payment_id: int, details: RefundDetails
) -> Refunded:
    checker = Checker()
    reference = checker.text(details.reference, ["reference"], max_length=100)
    checker.raise_if_any()
    today = await calendars.today(principal.organization_id)
    async with transactions.unit_of_work():
        payment = await locked_payment(principal, payment_id)
        if payment.status != PaymentStatus.SUCCEEDED:
            raise reject(ErrorCode.INVALID_TRANSITION, "Only a completed payment is refunded.")
        through_gateway = _through_gateway(payment, details.mode)
        refunded_on = refund_date(details.refunded_on or today, today, payment.paid_on, "payment")
        minor = amount_in(details.amount, payment.currency)
        held = await held_by_refunds(payment.id)
        left = payment.amount_minor - payment.refunded_minor - held.total_minor
        within(minor, left, _what_is_left(held))
        key = f"ref_{uuid.uuid4().hex}" if through_gateway else None
        planned = await _plan(principal, payment, minor, held)
        parts = [
            await PaymentRefund.create(
                organization_id=payment.organization_id, customer_id=payment.customer_id,
                payment=payment, document=document, amount_minor=part, refunded_on=refunded_on,
                mode=details.mode, reference=reference, created_by_id=principal.user.id,
                status=RefundStatus.PROCESSING if key else RefundStatus.SUCCEEDED,
                refund_key=key,
            )
            for document, part in planned
        ]  # fmt: skip
        if key is None:
            documents = {document.id: document for document, _ in planned if document}
            await _give_back(payment, parts, documents, principal)
    if key is None:
        return Refunded(payment, RefundStatus.SUCCEEDED)
    crash_point("refund-before-call")
    answer = await _ask_gateway(payment, key, minor)
    crash_point("refund-after-call")
    refund = parts[0] if answer is None else await resolve(key, answer)
    crash_point("refund-after-commit")
    return Refunded(await Payment.get(id=payment.id), refund.status, refund.failure_reason)


def _through_gateway(payment: Payment, mode: PaymentMode) -> bool:
    """Whether the gateway gives the money back: it does for a payment it took, refunded the
    way it was paid. Money the business gave back another way is only recorded, so the
    customer is never paid back twice."""
    if not payment.gateway_reference:
        return False
    if mode == payment.mode:
        return True
    if mode in GATEWAY_MODES:
        raise reject(
            ErrorCode.INVALID,
            f"This payment goes back to the {GATEWAY_MODES[payment.mode]} it was paid with "
            f"({payment.mode}), or is recorded as given back another way (cash, cheque, bank "
            "transfer, other).",
            ["mode"],
        )
    return False


def _what_is_left(held: RefundHold) -> str:
    if held.total_minor:
        return "what is left of it once the refunds in progress complete"
    return "what is left of it"


async def _plan(
    principal: StaffPrincipal, payment: Payment, minor: int, held: RefundHold
) -> list[tuple[SalesDocument | None, int]]:
    """Where a refund of `minor` takes the money from: unused retainer money first (None), then
    the documents the payment paid, newest allocation first, as locked documents."""
    from_unused = min(minor, payment.unused_minor - held.unused_minor)
    parts: list[tuple[SalesDocument | None, int]] = [(None, from_unused)] if from_unused else []
    minor -= from_unused
    if minor == 0:
        return parts
    allocated = await PaymentAllocation.filter(payment_id=payment.id).order_by("-id")
    # Refunds in progress hold what they take; failed ones took nothing.
    taken = await PaymentRefund.filter(payment_id=payment.id, document_id__isnull=False).exclude(
        status=RefundStatus.FAILED
    )
    left: dict[int, int] = {}
    for allocation in allocated:
        left[allocation.document_id] = left.get(allocation.document_id, 0) + allocation.amount_minor
    for row in taken:
        left[row.document_id] -= row.amount_minor
    # A retainer invoice was paid by this payment, but its money now sits in the invoices it
    # was applied to; it is never reopened.
    locked = await lock_documents(principal, left)
    for document_id in left:
        document = locked[document_id]
        if document.kind != DocumentKind.INVOICE or minor == 0:
            continue
        part = min(minor, left[document_id])
        if part > 0:
            parts.append((document, part))
            minor -= part
    return parts


async def _give_back(
    payment: Payment,
    parts: Sequence[PaymentRefund],
    documents: dict[int, SalesDocument],
    actor: StaffPrincipal | None,
) -> None:
    """Applies a refund that succeeded: the retainer money is spent, the invoices are due
    again, and the payment says what it has given back."""
    await settle(
        [(documents[p.document_id], -p.amount_minor) for p in parts if p.document_id is not None]
    )
    minor = sum(part.amount_minor for part in parts)
    payment.unused_minor -= sum(part.amount_minor for part in parts if part.document_id is None)
    payment.refunded_minor += minor
    await payment.save(update_fields=["unused_minor", "refunded_minor", "updated_at"])
    activity.record(
        ActivityKind.PAYMENT_REFUNDED,
        actor=actor,
        organization_id=payment.organization_id,
        customer_id=payment.customer_id,
        document=("PAYMENT", payment.id, payment.number),
        data={"amount_minor": minor, "currency": payment.currency},
    )


async def _ask_gateway(payment: Payment, key: str, minor: int) -> GatewayRefund | None:
    """The gateway's answer; None when it is unknown (the reconciler will ask again)."""
    try:
        return await gateway_named(payment.gateway).refund(
            key=key, charge_reference=payment.gateway_reference, amount_minor=minor
        )
    except GatewayError:
        logger.exception(
            "Refunding %s failed; it stays PROCESSING until reconciled", payment.number
        )
        return None


async def resolve(refund_key: str, answer: GatewayRefund) -> PaymentRefund:
    """Writes what the gateway says became of a refund; returns its first row. Ended refunds
    stay as they are, so a late or repeated answer changes nothing."""
    async with transactions.unit_of_work():
        first = await PaymentRefund.filter(refund_key=refund_key).order_by("id").first()
        if first is None:
            raise LookupError(f"No refund has the key {refund_key!r}")
        payment = await Payment.select_for_update().get(id=first.payment_id)
        parts = await PaymentRefund.filter(refund_key=refund_key).order_by("id")
        if parts[0].status != RefundStatus.PROCESSING:
            return parts[0]
        rows = PaymentRefund.filter(refund_key=refund_key)
        if answer.status == GatewayRefundStatus.SUCCEEDED:
            documents = await _locked_documents([p.document_id for p in parts if p.document_id])
            await _give_back(payment, parts, documents, await _staff(parts[0].created_by_id))
            await rows.update(status=RefundStatus.SUCCEEDED, gateway_reference=answer.reference)
        else:
            reason = answer.failure_reason or NOTHING_GIVEN_BACK
            await rows.update(status=RefundStatus.FAILED, failure_reason=reason)
    return await PaymentRefund.get(id=parts[0].id)


async def _locked_documents(ids: list[int]) -> dict[int, SalesDocument]:
    rows = await SalesDocument.filter(id__in=ids).order_by("id").select_for_update()
    return {row.id: row for row in rows}


async def _staff(user_id: int | None) -> StaffPrincipal | None:
    """Who asked for a refund, to name in the activity its outcome records."""
    user = await StaffUser.get_or_none(id=user_id) if user_id is not None else None
    return StaffPrincipal(user) if user is not None else None


async def reconcile(older_than: timedelta = STALE_AFTER) -> int:
    """Ends refunds left in between by a crash or a lost answer by asking the gateway. Returns
    how many refunds changed."""
    cutoff = datetime.now(UTC) - older_than
    stale = await (
        PaymentRefund.filter(status=RefundStatus.PROCESSING, created_at__lte=cutoff)
        .order_by("id")
        .values_list("refund_key", "payment__gateway", "payment__number")
    )
    changed = 0
    for key, gateway, number in dict.fromkeys(stale):
        try:
            answer = await gateway_named(gateway).lookup_or_cancel_refund(key)
        except GatewayError:
            logger.exception("Could not reconcile a refund of %s; trying again later", number)
            continue
        if (await resolve(key, answer)).status != RefundStatus.PROCESSING:
            changed += 1
    return changed
