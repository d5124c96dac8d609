"""What credits, retainer money and payments take off a document's balance, and what refunds
put back. Every change of an issued invoice's balance goes through `settle`, so its status
always follows what has been paid. Money that payments or refunds still in flight will move is
held: nothing else may take it until they end."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pypika_tortoise import Query, Table
from pypika_tortoise.queries import QueryBuilder
from tortoise.functions import Sum

from auth.prepared import PreparedQuery, PreparedStatement, padded
from auth.principals import Principal
from auth.scoping import conditions
from models.documents import DocumentKind, DocumentStatus, SalesDocument
from models.payments import PaymentAllocation, PaymentRefund, PaymentStatus, RefundStatus
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker

OPEN_FOR_PAYMENT = (DocumentStatus.SENT, DocumentStatus.PARTIALLY_PAID)
# Online payments not yet ended: processing, or pending like a bank debit.
IN_FLIGHT = (PaymentStatus.PROCESSING, PaymentStatus.PENDING)


def payment_status(total_minor: int, paid_minor: int) -> DocumentStatus:
    """An issued invoice's status follows what has been paid of it."""
    if paid_minor <= 0:
        return DocumentStatus.SENT
    return DocumentStatus.PAID if paid_minor >= total_minor else DocumentStatus.PARTIALLY_PAID


_SETTLED = ("balance_minor", "status", "version", "updated_at")


def _settle_statement(query: type[Query], documents: Table) -> QueryBuilder:
    update = query.update(documents)
    for name in _SETTLED:
        update = update.set(name, 0)
    return update.where(documents.id == 0)


_SETTLE = PreparedStatement(SalesDocument, _settle_statement)


async def settle(paid: Sequence[tuple[SalesDocument, int]]) -> None:
    """Takes each amount off its document's balance due (a negative amount, a refund, puts it
    back), for any number of documents in one statement. Call it inside a transaction."""
    for document, minor in paid:
        document.balance_minor -= minor
        document.status = payment_status(
            document.total_minor, document.total_minor - document.balance_minor
        )
        document.version += 1
    if paid:
        await _SETTLE.execute_many([_settled(document) for document, _ in paid])


def _settled(document: SalesDocument) -> list[Any]:
    # As Model.save writes them; updated_at stamps itself (auto_now).
    fields = document._meta.fields_map
    values = [fields[name].to_db_value(getattr(document, name), document) for name in _SETTLED]
    return [*values, document.id]


# Every payment, credit and refund locks its documents, and every payment asks what payments
# in flight hold of them: rendered to SQL once (auth.prepared), not on every request.
_LOCKED = PreparedQuery[list[SalesDocument]](
    lambda where, ids: (
        SalesDocument.filter(**where).filter(id__in=ids).order_by("id").select_for_update()
    )
)
_RESERVED = PreparedQuery[list[dict[str, Any]]](
    lambda ids: (
        PaymentAllocation.filter(document_id__in=ids, payment__status__in=list(IN_FLIGHT))
        .annotate(held=Sum("amount_minor"))
        .group_by("document_id")
        .values("document_id", "held")
    )
)


async def lock_documents(principal: Principal, ids: Iterable[int]) -> dict[int, SalesDocument]:
    """Locked in id order, so two writers touching the same documents never deadlock."""
    where = conditions(SalesDocument, principal)  # scoped(), as parameters
    rows = await _LOCKED.run(where=where, ids=padded(sorted(ids)))
    return {row.id: row for row in rows}


def of_kind(
    row: SalesDocument | None, kinds: Sequence[DocumentKind], field: Sequence[str]
) -> SalesDocument:
    if row is None or row.kind not in kinds:
        names = " or ".join(kind.lower().replace("_", " ") for kind in kinds)
        raise reject(ErrorCode.NOT_FOUND, f"No such {names}.", list(field))
    return row


def require_open(document: SalesDocument, field: Sequence[str]) -> None:
    if document.status not in OPEN_FOR_PAYMENT:
        raise reject(
            ErrorCode.INVALID_TRANSITION,
            f"{document.number} is {document.status.lower().replace('_', ' ')}, not open for "
            "payment.",
            list(field),
        )


def within(minor: int, available: int, what: str, field: Sequence[str] = ("amount",)) -> None:
    if minor > available:
        raise reject(ErrorCode.EXCEEDS_BALANCE, f"The amount is more than {what}.", list(field))


def refund_date(on: date, today: date, earliest: date, refunded: str) -> date:
    """A refund's date: not after the organization's today, not before what it refunds."""
    if on > today:
        raise reject(ErrorCode.INVALID, "A refund cannot be dated in the future.", ["refundedOn"])
    if on < earliest:
        raise reject(
            ErrorCode.INVALID, f"A refund cannot be dated before the {refunded}.", ["refundedOn"]
        )
    return on


def amount_in(amount: Decimal, currency: str, field: Sequence[str] = ("amount",)) -> int:
    """A positive amount in the currency's minor units, or a refusal."""
    checker = Checker()
    minor = checker.amount(amount, currency, field, minimum=1)
    checker.raise_if_any()
    return minor


async def reserved(document_ids: Iterable[int]) -> dict[int, int]:
    """What online payments still in flight (processing, or pending like a bank debit) hold of
    each document's balance: nothing else may take it until they end."""
    rows = await _RESERVED.run(ids=padded(sorted(document_ids)))
    return {row["document_id"]: int(row["held"]) for row in rows}


async def available(documents: Sequence[SalesDocument]) -> dict[int, int]:
    return unreserved(documents, await reserved(document.id for document in documents))


def unreserved(documents: Iterable[SalesDocument], held: dict[int, int]) -> dict[int, int]:
    """Each document's balance due less what payments in flight hold of it (`reserved`)."""
    return {d.id: d.balance_minor - held.get(d.id, 0) for d in documents}


@dataclass(frozen=True)
class RefundHold:
    """What the refunds of a payment still in flight will give back."""

    total_minor: int
    # The part of it that is retainer money not applied to invoices.
    unused_minor: int


async def held_by_refunds(payment_id: int) -> RefundHold:
    rows = await PaymentRefund.filter(
        payment_id=payment_id, status=RefundStatus.PROCESSING
    ).values_list("document_id", "amount_minor")
    return RefundHold(
        total_minor=sum(minor for _, minor in rows),
        unused_minor=sum(minor for document_id, minor in rows if document_id is None),
    )
