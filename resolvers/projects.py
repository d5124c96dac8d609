"""Projects with their timesheets: staff log the time, customers follow it in the portal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tortoise.functions import Sum

from auth.principals import Principal, StaffPrincipal
from auth.scoping import scoped
from models.customers import Customer
from models.documents import DocumentKind, SalesDocument
from models.money import from_minor
from models.projects import BillingMethod, Project, TimeEntry
from resolvers import documents, transactions
from resolvers.customers import get_customer
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker

MAX_MINUTES_PER_ENTRY = 24 * 60
SIXTY = Decimal(60)
# A line's quantity keeps 4 decimals (line_item.quantity): an hour to 0.36 seconds.
HOURS_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True)
class Hours:
    billed_minutes: int = 0
    unbilled_minutes: int = 0

    @property
    def logged_minutes(self) -> int:
        return self.billed_minutes + self.unbilled_minutes


async def create_project(principal: StaffPrincipal, data: dict[str, Any]) -> Project:
    customer = await get_customer(principal, data["customer_id"], field="customerId")
    checker = Checker()
    name = checker.text(data.get("name"), ["name"], max_length=200, required=True)
    description = checker.text(data.get("description"), ["description"], max_length=5000)
    rate = checker.amount(data.get("rate") or Decimal(0), customer.currency, ["rate"])
    checker.raise_if_any()
    return await Project.create(
        organization_id=principal.organization_id,
        customer=customer,
        name=name,
        description=description,
        billing_method=BillingMethod(data["billing_method"]),
        currency=customer.currency,
        rate_minor=rate,
    )


async def log_time(
    principal: StaffPrincipal, project_id: int, *, logged_on: date, minutes: int, notes: str
) -> TimeEntry:
    project = await scoped(Project, principal).get_or_none(id=project_id)
    if project is None:
        raise reject(ErrorCode.NOT_FOUND, "Project not found.", ["projectId"])
    checker = Checker()
    notes = checker.text(notes, ["notes"], max_length=500)
    if not 0 < minutes <= MAX_MINUTES_PER_ENTRY:
        checker.add(ErrorCode.INVALID, "Log between 1 minute and 24 hours.", ["minutes"])
    checker.raise_if_any()
    return await TimeEntry.create(
        organization_id=project.organization_id,
        customer_id=project.customer_id,
        project=project,
        staff_user_id=principal.user.id,
        logged_on=logged_on,
        minutes=minutes,
        notes=notes,
    )


async def hours_of(principal: Principal, project_ids: Sequence[int]) -> list[Hours]:
    """Billed and unbilled time of many projects in one grouped query."""
    rows = await (
        scoped(TimeEntry, principal)
        .filter(project_id__in=list(project_ids))
        .annotate(total=Sum("minutes"))
        .group_by("project_id", "billed")
        .values("project_id", "billed", "total")
    )
    found: dict[int, dict[bool, int]] = {}
    for row in rows:
        found.setdefault(row["project_id"], {})[bool(row["billed"])] = int(row["total"] or 0)
    return [
        Hours(found.get(pid, {}).get(True, 0), found.get(pid, {}).get(False, 0))
        for pid in project_ids
    ]


def billed_hours(minutes: int) -> Decimal:
    """The hours a line bills for `minutes`: to 4 decimals, rounded half up (10 min: 0.1667)."""
    return (Decimal(minutes) / SIXTY).quantize(HOURS_QUANTUM, rounding=ROUND_HALF_UP)


async def invoice_time(
    principal: StaffPrincipal, project_id: int, *, up_to: date | None
) -> tuple[SalesDocument, Project]:
    """A draft invoice of the project's unbilled time (logged on or before `up_to`, if given),
    one line per entry, oldest first: its hours (`billed_hours`) at the project's hourly rate,
    each line's amount rounded to the currency's minor unit as every line's is. The entries
    are billed by it in the same transaction; at most a document's worth of lines at once,
    the rest stays unbilled for the next invoice."""
    async with transactions.unit_of_work():
        # The project's row lock makes concurrent calls take turns: the second reads what is
        # still unbilled once the first has committed, so no entry is billed twice.
        project = await scoped(Project, principal).select_for_update().get_or_none(id=project_id)
        if project is None:
            raise reject(ErrorCode.NOT_FOUND, "Project not found.", ["projectId"])
        if project.billing_method != BillingMethod.HOURLY:
            raise reject(
                ErrorCode.NOT_BILLED_HOURLY,
                "A fixed-cost project is not billed by the hour.",
                ["projectId"],
            )
        unbilled = TimeEntry.filter(project_id=project.id, billed=False)
        if up_to is not None:
            unbilled = unbilled.filter(logged_on__lte=up_to)
        entries = await unbilled.order_by("logged_on", "id").limit(documents.MAX_LINES)
        if not entries:
            raise reject(ErrorCode.NOTHING_TO_BILL, "The project has no unbilled time to bill.")
        customer = await Customer.get(id=project.customer_id)
        invoice = await documents.create_draft(
            principal,
            customer,
            {"kind": DocumentKind.INVOICE, "line_items": _time_lines(project, entries)},
            project.currency,
        )
        await TimeEntry.filter(id__in=[entry.id for entry in entries]).update(
            billed=True, invoice_id=invoice.id
        )
    return invoice, project


def _time_lines(project: Project, entries: list[TimeEntry]) -> list[dict[str, Any]]:
    rate = from_minor(project.rate_minor, project.currency)
    return [
        {
            "name": project.name,
            "description": " - ".join(
                part for part in (entry.logged_on.isoformat(), entry.notes) if part
            ),
            "quantity": billed_hours(entry.minutes),
            "unit": "h",
            "rate": rate,
        }
        for entry in entries
    ]
