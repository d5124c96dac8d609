"""Customers' recurring plans, whose invoices the portal groups under them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from auth.principals import StaffPrincipal
from auth.scoping import scoped
from models.subscriptions import BillingInterval, CustomerSubscription, SubscriptionStatus
from resolvers import calendars
from resolvers.customers import get_customer
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker

MONTHS = {BillingInterval.MONTHLY: 1, BillingInterval.QUARTERLY: 3, BillingInterval.YEARLY: 12}


def next_billing(after: date, interval: BillingInterval) -> date:
    if interval == BillingInterval.WEEKLY:
        return after + timedelta(weeks=1)
    month = after.month - 1 + MONTHS[interval]
    year, month = after.year + month // 12, month % 12 + 1
    # The 31st of a short month bills on that month's last day.
    for day in (after.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


async def create_subscription(
    principal: StaffPrincipal, data: dict[str, Any]
) -> CustomerSubscription:
    customer = await get_customer(principal, data["customer_id"], field="customerId")
    checker = Checker()
    plan = checker.text(data.get("plan_name"), ["planName"], max_length=200, required=True)
    amount = checker.amount(data.get("amount") or Decimal(0), customer.currency, ["amount"])
    checker.raise_if_any()
    interval = BillingInterval(data["interval"])
    started = data.get("started_on") or await calendars.today(principal.organization_id)
    return await CustomerSubscription.create(
        organization_id=principal.organization_id,
        customer=customer,
        plan_name=plan,
        interval=interval,
        amount_minor=amount,
        currency=customer.currency,
        started_on=started,
        next_billing_on=next_billing(started, interval),
    )


async def set_status(
    principal: StaffPrincipal, subscription_id: int, status: SubscriptionStatus
) -> CustomerSubscription:
    subscription = await scoped(CustomerSubscription, principal).get_or_none(id=subscription_id)
    if subscription is None:
        raise reject(ErrorCode.NOT_FOUND, "Subscription not found.", ["id"])
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise reject(ErrorCode.INVALID_TRANSITION, "A cancelled subscription stays cancelled.")
    subscription.status = status
    if status == SubscriptionStatus.CANCELLED:
        subscription.next_billing_on = None
    await subscription.save(update_fields=["status", "next_billing_on"])
    return subscription
