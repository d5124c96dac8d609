"""Projects with their timesheets: staff log the time, customers follow it in the portal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from tortoise.functions import Sum

from auth.principals import Principal, StaffPrincipal
from auth.scoping import scoped
from models.projects import BillingMethod, Project, TimeEntry
from resolvers.customers import get_customer
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker

MAX_MINUTES_PER_ENTRY = 24 * 60


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
