from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from tortoise.expressions import Q

from models.subscriptions import BillingInterval as BillingIntervalValue
from models.subscriptions import CustomerSubscription as SubscriptionRow
from models.subscriptions import SubscriptionStatus as SubscriptionStatusValue
from resolvers import portal_features, subscriptions
from resolvers.pagination import Ordering
from schema.context import Info
from schema.customers import Customer
from schema.documents import Invoice, SalesDocumentNode
from schema.errors import UserError, payload_or_errors
from schema.inputs import TODAY_BY_DEFAULT
from schema.money import Money
from schema.permissions import IsAuthenticated, IsStaff
from schema.relay import Connection, ModelNode, PreferenceGated, connection, decode_id

BillingInterval = strawberry.enum(BillingIntervalValue)
SubscriptionStatus = strawberry.enum(SubscriptionStatusValue, name="CustomerSubscriptionStatus")


@strawberry.type(description="A customer's recurring plan and the invoices that bill it.")
class CustomerSubscription(PreferenceGated, ModelNode):
    model = SubscriptionRow
    feature = portal_features.SUBSCRIPTIONS

    id: strawberry.relay.NodeID[int]
    plan_name: str
    interval: BillingInterval  # type: ignore[valid-type]
    amount: Money
    status: SubscriptionStatus  # type: ignore[valid-type]
    started_on: date
    next_billing_on: date | None
    _row: strawberry.Private[SubscriptionRow]

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        return await Customer.load(info, self._row.customer_id)

    @strawberry.field(description="Its invoices the viewer may see, oldest first.")
    async def invoices(self, info: Info) -> list[Invoice]:
        loader = info.context.loaders.children(SalesDocumentNode.model, "subscription_id", "id")
        rows = await loader.load(self._row.id)
        return [Invoice.from_row(row) for row in rows if row.kind == Invoice.kind_value]

    @classmethod
    def from_row(cls, row: SubscriptionRow) -> CustomerSubscription:
        return cls(
            id=row.id,
            plan_name=row.plan_name,
            interval=row.interval,
            amount=Money.of(row.amount_minor, row.currency),
            status=row.status,
            started_on=row.started_on,
            next_billing_on=row.next_billing_on,
            _row=row,
        )


@strawberry.input
class CustomerSubscriptionFilter:
    customer_id: strawberry.ID | None = None
    status: SubscriptionStatus | None = None  # type: ignore[valid-type]


@strawberry.type
class SubscriptionQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Portal contacts see their customer's while the portal shows subscriptions.",
    )
    async def customer_subscriptions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: CustomerSubscriptionFilter | None = None,
    ) -> Connection[CustomerSubscription]:
        await CustomerSubscription.require_shown(info)
        where = Q()
        if filter and filter.customer_id:
            where &= Q(customer_id=decode_id(filter.customer_id, Customer))
        if filter and filter.status:
            where &= Q(status=filter.status)
        newest_first = Ordering("id", descending=True)
        return await connection(
            info, CustomerSubscription, where=where, order_by=newest_first, first=first,
            after=after,
        )  # fmt: skip


@strawberry.input
class CreateCustomerSubscriptionInput:
    customer_id: strawberry.ID
    plan_name: str
    interval: BillingInterval  # type: ignore[valid-type]
    amount: Decimal
    started_on: date | None = strawberry.field(default=None, description=TODAY_BY_DEFAULT)


@strawberry.input
class SetCustomerSubscriptionStatusInput:
    id: strawberry.ID
    status: SubscriptionStatus  # type: ignore[valid-type]


@strawberry.type
class CustomerSubscriptionPayload:
    customer_subscription: CustomerSubscription | None = None
    errors: list[UserError]


@strawberry.type
class SubscriptionMutations:
    @strawberry.mutation(permission_classes=[IsStaff])
    async def create_customer_subscription(
        self, info: Info, input: CreateCustomerSubscriptionInput
    ) -> CustomerSubscriptionPayload:
        async def action() -> dict:
            row = await subscriptions.create_subscription(
                info.context.staff,
                {
                    "customer_id": decode_id(input.customer_id, Customer),
                    "plan_name": input.plan_name,
                    "interval": input.interval,
                    "amount": input.amount,
                    "started_on": input.started_on,
                },
            )
            return {"customer_subscription": CustomerSubscription.from_row(row)}

        return await payload_or_errors(CustomerSubscriptionPayload, action)

    @strawberry.mutation(permission_classes=[IsStaff], description="Pause, resume or cancel.")
    async def set_customer_subscription_status(
        self, info: Info, input: SetCustomerSubscriptionStatusInput
    ) -> CustomerSubscriptionPayload:
        async def action() -> dict:
            row = await subscriptions.set_status(
                info.context.staff, decode_id(input.id, CustomerSubscription), input.status
            )
            return {"customer_subscription": CustomerSubscription.from_row(row)}

        return await payload_or_errors(CustomerSubscriptionPayload, action)
