"""What time alone does to a sent document: an unpaid invoice past its due date is overdue, and
a quote past its expiry date has expired. Neither is stored; both are read against the
organization's today (`calendars`).

Each rule is written twice, for a row and for a query, side by side so they cannot drift.
"""

from __future__ import annotations

from datetime import date

from tortoise.expressions import Q

from models.documents import DocumentKind, DocumentStatus, SalesDocument
from resolvers.balances import OPEN_FOR_PAYMENT
from resolvers.documents import PAYABLE

OVERDUE = "OVERDUE"
EXPIRED = "EXPIRED"


def is_overdue(row: SalesDocument, today: date) -> bool:
    return (
        row.kind in PAYABLE
        and row.status in OPEN_FOR_PAYMENT
        and row.due_date is not None
        and row.balance_minor > 0
        and row.due_date < today
    )


def overdue(today: date) -> Q:
    return Q(
        kind__in=list(PAYABLE),
        status__in=list(OPEN_FOR_PAYMENT),
        due_date__lt=today,
        balance_minor__gt=0,
    )


def is_expired(row: SalesDocument, today: date) -> bool:
    """A sent quote the customer can no longer accept."""
    return (
        row.kind == DocumentKind.QUOTE
        and row.status == DocumentStatus.SENT
        and row.due_date is not None
        and row.due_date < today
    )


def expired(today: date) -> Q:
    return Q(kind=DocumentKind.QUOTE, status=DocumentStatus.SENT, due_date__lt=today)


def status_of(row: SalesDocument, today: date) -> str:
    """The status a reader sees: OVERDUE or EXPIRED when time made it so, else the stored one."""
    if is_overdue(row, today):
        return OVERDUE
    if is_expired(row, today):
        return EXPIRED
    return row.status.value


def with_status(statuses: list[str], today: date) -> Q:
    """Documents a reader sees in one of `statuses` (as `status_of` gives them)."""
    query = Q(pk__in=[])
    stored = [DocumentStatus(s) for s in statuses if s not in (OVERDUE, EXPIRED)]
    if stored:
        query |= Q(status__in=stored) & ~overdue(today) & ~expired(today)
    if OVERDUE in statuses:
        query |= overdue(today)
    if EXPIRED in statuses:
        query |= expired(today)
    return query
