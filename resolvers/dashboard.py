"""The portal home's figures for one customer, summed in SQL, one amount per currency."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.functions import Count, Sum

from auth.principals import Principal
from auth.scoping import scoped
from models.documents import DocumentKind, DocumentStatus, SalesDocument
from models.payments import Payment, PaymentKind, PaymentStatus
from resolvers.document_visibility import hidden_kinds

OPEN = (DocumentStatus.SENT, DocumentStatus.PARTIALLY_PAID)
CREDIT_OPEN = (DocumentStatus.SENT,)


@dataclass(frozen=True)
class Amount:
    minor: int
    currency: str


async def outstanding(principal: Principal, customer_id: int, kind: DocumentKind) -> list[Amount]:
    statuses = CREDIT_OPEN if kind == DocumentKind.CREDIT_NOTE else OPEN
    rows = await (
        scoped(SalesDocument, principal)
        .filter(customer_id=customer_id, kind=kind, status__in=statuses, balance_minor__gt=0)
        .annotate(amount=Sum("balance_minor"))
        .group_by("currency")
        .order_by("currency")
        .values("currency", "amount")
    )
    return [Amount(int(row["amount"]), row["currency"]) for row in rows]


async def sales_order_counts(principal: Principal, customer_id: int) -> dict[str, int] | None:
    """None when the portal does not show sales orders to this viewer."""
    if DocumentKind.SALES_ORDER in await hidden_kinds(principal):
        return None
    rows = await (
        scoped(SalesDocument, principal)
        .filter(customer_id=customer_id, kind=DocumentKind.SALES_ORDER)
        .exclude(status=DocumentStatus.DRAFT)
        .annotate(count=Count("id"))
        .group_by("status")
        .order_by("status")
        .values("status", "count")
    )
    return {str(row["status"]): int(row["count"]) for row in rows}


async def unused_retainers(principal: Principal, customer_id: int) -> list[Amount]:
    rows = await (
        scoped(Payment, principal)
        .filter(
            customer_id=customer_id,
            kind=PaymentKind.RETAINER_PAYMENT,
            status=PaymentStatus.SUCCEEDED,
            unused_minor__gt=0,
        )
        .annotate(amount=Sum("unused_minor"))
        .group_by("currency")
        .order_by("currency")
        .values("currency", "amount")
    )
    return [Amount(int(row["amount"]), row["currency"]) for row in rows]


async def last_payment(principal: Principal, customer_id: int) -> Payment | None:
    return await (
        scoped(Payment, principal)
        .filter(customer_id=customer_id, status=PaymentStatus.SUCCEEDED)
        .order_by("-paid_on", "-id")
        .first()
    )
