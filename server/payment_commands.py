"""What `portico payments ...` does, inside an open database."""

from __future__ import annotations

from datetime import timedelta

from integrations.gateways.base import ChargeStatus
from models.payments import Payment, PaymentStatus
from resolvers import online_payments, refunds
from resolvers.errors import Rejected


async def reconcile(older_than_seconds: float) -> tuple[int, int]:
    """How many payments, and how many refunds, the gateways' answers ended."""
    older_than = timedelta(seconds=max(older_than_seconds, 0))
    return await online_payments.reconcile(older_than), await refunds.reconcile(older_than)


async def settle(
    numbers: list[str], portal_name: str | None, outcome: str | None
) -> list[tuple[str, str]]:
    pending = Payment.filter(status=PaymentStatus.PENDING, gateway="test")
    if numbers:
        pending = pending.filter(number__in=numbers)
    if portal_name:
        pending = pending.filter(organization__portal_name=portal_name)
    results = []
    for payment in await pending.order_by("id"):
        try:
            settled = await online_payments.settle_on_test_gateway(
                payment, ChargeStatus(outcome) if outcome else None
            )
        except Rejected as refused:
            results.append((payment.number, str(refused)))
            continue
        results.append((payment.number, settled.status.value))
    return results
