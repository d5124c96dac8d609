from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from tortoise.expressions import Q

from models.projects import BillingMethod as BillingMethodValue
from models.projects import Project as ProjectRow
from models.projects import ProjectStatus as ProjectStatusValue
from models.projects import TimeEntry as TimeEntryRow
from resolvers import portal_features, projects
from resolvers.pagination import Ordering
from schema.context import Info
from schema.customers import Customer
from schema.documents import Invoice
from schema.edge import LONG_TEXT_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.money import Money
from schema.permissions import IsAuthenticated, IsStaff
from schema.relay import Connection, ModelNode, PreferenceGated, connection, decode_id

BillingMethod = strawberry.enum(BillingMethodValue, description="How the project is charged.")
ProjectStatus = strawberry.enum(ProjectStatusValue, description="Whether time is still logged.")
SIXTY = Decimal(60)


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / SIXTY).quantize(Decimal("0.01"))


@strawberry.type
class TimeEntry:
    logged_on: date
    hours: Decimal
    notes: str
    billed: bool

    @classmethod
    def from_row(cls, row: TimeEntryRow) -> TimeEntry:
        return cls(
            logged_on=row.logged_on, hours=_hours(row.minutes), notes=row.notes, billed=row.billed
        )


@strawberry.type(description="Work done for a customer, with its logged time.")
class Project(PreferenceGated, ModelNode):
    model = ProjectRow
    feature = portal_features.PROJECTS

    id: strawberry.relay.NodeID[int]
    name: str
    description: str
    billing_method: BillingMethod  # type: ignore[valid-type]
    rate: Money = strawberry.field(description="The fixed cost, or the price of an hour.")
    status: ProjectStatus  # type: ignore[valid-type]
    _row: strawberry.Private[ProjectRow]

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        return await Customer.load(info, self._row.customer_id)

    @strawberry.field(description="All time logged, in hours.")
    async def logged_hours(self, info: Info) -> Decimal:
        return _hours((await self._hours(info)).logged_minutes)

    @strawberry.field
    async def billed_hours(self, info: Info) -> Decimal:
        return _hours((await self._hours(info)).billed_minutes)

    @strawberry.field
    async def unbilled_hours(self, info: Info) -> Decimal:
        return _hours((await self._hours(info)).unbilled_minutes)

    @strawberry.field(description="The timesheet, newest first.")
    async def time_entries(self, info: Info) -> list[TimeEntry]:
        loader = info.context.loaders.children(TimeEntryRow, "project_id", "-logged_on")
        return [TimeEntry.from_row(row) for row in await loader.load(self._row.id)]

    async def _hours(self, info: Info) -> projects.Hours:
        principal = info.context.principal
        loader = info.context.loaders.keyed(
            ("project-hours",), lambda ids: projects.hours_of(principal, ids)
        )
        return await loader.load(self._row.id)

    @classmethod
    def from_row(cls, row: ProjectRow) -> Project:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            billing_method=row.billing_method,
            rate=Money.of(row.rate_minor, row.currency),
            status=row.status,
            _row=row,
        )


@strawberry.input
class ProjectFilter:
    customer_id: strawberry.ID | None = None


@strawberry.type
class ProjectQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Portal contacts see their customer's while the portal shows projects.",
    )
    async def projects(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ProjectFilter | None = None,
    ) -> Connection[Project]:
        await Project.require_shown(info)
        where = Q()
        if filter and filter.customer_id:
            where = Q(customer_id=decode_id(filter.customer_id, Customer))
        newest_first = Ordering("id", descending=True)
        return await connection(
            info, Project, where=where, order_by=newest_first, first=first, after=after
        )


@strawberry.input
class CreateProjectInput:
    customer_id: strawberry.ID
    name: str
    description: str = limited(LONG_TEXT_LENGTH, default="")
    billing_method: BillingMethod  # type: ignore[valid-type]
    rate: Decimal = strawberry.field(
        default=Decimal(0), description="Fixed cost, or price per hour, in the customer's currency."
    )


@strawberry.type
class ProjectPayload:
    project: Project | None = None
    errors: list[UserError]


@strawberry.input
class LogTimeInput:
    project_id: strawberry.ID
    logged_on: date
    minutes: int
    notes: str = limited(LONG_TEXT_LENGTH, default="")


@strawberry.type
class LogTimePayload:
    project: Project | None = None
    errors: list[UserError]


@strawberry.input
class InvoiceProjectTimeInput:
    project_id: strawberry.ID
    up_to: date | None = strawberry.field(
        default=None,
        description="Bill only time logged on or before this day; by default all unbilled time.",
    )


@strawberry.type
class InvoiceProjectTimePayload:
    invoice: Invoice | None = strawberry.field(default=None, description="A draft, to send.")
    project: Project | None = None
    errors: list[UserError]


@strawberry.type
class ProjectMutations:
    @strawberry.mutation(permission_classes=[IsStaff])
    async def create_project(self, info: Info, input: CreateProjectInput) -> ProjectPayload:
        async def action() -> dict:
            row = await projects.create_project(
                info.context.staff,
                {
                    "customer_id": decode_id(input.customer_id, Customer),
                    "name": input.name,
                    "description": input.description,
                    "billing_method": input.billing_method,
                    "rate": input.rate,
                },
            )
            return {"project": Project.from_row(row)}

        return await payload_or_errors(ProjectPayload, action)

    @strawberry.mutation(permission_classes=[IsStaff], description="Adds time to a timesheet.")
    async def log_time(self, info: Info, input: LogTimeInput) -> LogTimePayload:
        async def action() -> dict:
            project_id = decode_id(input.project_id, Project)
            await projects.log_time(
                info.context.staff,
                project_id,
                logged_on=input.logged_on,
                minutes=input.minutes,
                notes=input.notes,
            )
            return {"project": await Project.load(info, project_id)}

        return await payload_or_errors(LogTimePayload, action)

    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="A draft invoice of an hourly project's unbilled time, which it bills: one "
        "line per time entry, oldest first, of its hours (to 4 decimals, rounded half up) at "
        "the project's rate, each line's amount rounded to the currency's minor unit. At most "
        "500 entries at once; the rest stays unbilled. Voiding the invoice unbills its time. "
        "NOTHING_TO_BILL when no time is left to bill.",
    )
    async def invoice_project_time(
        self, info: Info, input: InvoiceProjectTimeInput
    ) -> InvoiceProjectTimePayload:
        async def action() -> dict:
            invoice, project = await projects.invoice_time(
                info.context.staff, decode_id(input.project_id, Project), up_to=input.up_to
            )
            return {"invoice": Invoice.from_row(invoice), "project": Project.from_row(project)}

        return await payload_or_errors(InvoiceProjectTimePayload, action)
