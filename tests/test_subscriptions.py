from __future__ import annotations

from datetime import date

from models.subscriptions import BillingInterval
from resolvers.subscriptions import next_billing
from tests.conftest import World, error_codes, gid, gql
from tests.test_documents import SEND, create

CREATE = """mutation($customer: ID!) { createCustomerSubscription(input: {customerId: $customer,
  planName: "Support Gold", interval: MONTHLY, amount: "49.00", startedOn: "2026-01-31"}) {
  customerSubscription { id planName status amount { amount } nextBillingOn }
  errors { code } } }"""
LIST = """{ customerSubscriptions { totalCount nodes { planName invoices { number } } } }"""


def test_next_billing_keeps_the_day_or_the_months_last() -> None:
    assert next_billing(date(2026, 1, 31), BillingInterval.MONTHLY) == date(2026, 2, 28)
    assert next_billing(date(2026, 11, 15), BillingInterval.QUARTERLY) == date(2027, 2, 15)
    assert next_billing(date(2024, 2, 29), BillingInterval.YEARLY) == date(2025, 2, 28)
    assert next_billing(date(2026, 12, 28), BillingInterval.WEEKLY) == date(2027, 1, 4)


async def test_subscriptions_and_their_invoices(client, world: World) -> None:
    staff = world.tokens["staff"]
    body = await gql(client, CREATE, {"customer": gid("Customer", world.customer_a)}, token=staff)
    subscription = body["data"]["createCustomerSubscription"]["customerSubscription"]
    assert subscription["nextBillingOn"] == "2026-02-28" and subscription["status"] == "LIVE"
    invoice = await create(client, world, subscriptionId=subscription["id"])
    await gql(client, SEND, {"id": invoice["id"]}, token=staff)
    await create(client, world, subscriptionId=subscription["id"])  # a draft
    other = await gql(client, CREATE, {"customer": gid("Customer", world.customer_b)}, token=staff)
    foreign = other["data"]["createCustomerSubscription"]["customerSubscription"]["id"]
    wrong = await gql(client, """mutation($input: CreateSalesDocumentInput!) {
      createSalesDocument(input: $input) { errors { code field } } }""",
      {"input": {"kind": "INVOICE", "customerId": gid("Customer", world.customer_a),
                 "subscriptionId": foreign, "lineItems": [{"name": "X", "quantity": "1",
                 "rate": "1"}]}}, token=staff)  # fmt: skip
    assert wrong["data"]["createSalesDocument"]["errors"] == [
        {"code": "NOT_FOUND", "field": ["subscriptionId"]}
    ]

    by_subscription = await gql(
        client,
        """query($id: ID) { salesDocuments(filter:
      {subscriptionId: $id}) { totalCount } }""",
        {"id": subscription["id"]},
        token=staff,
    )
    assert by_subscription["data"]["salesDocuments"]["totalCount"] == 2
    hidden = await gql(client, LIST, token=world.tokens["contact_a"])
    assert error_codes(hidden) == ["FORBIDDEN"]
    await gql(client, "mutation { updatePortalPreferences(input: {showSubscriptions: true}) "
              "{ errors { code } } }", token=world.tokens["admin"])  # fmt: skip
    mine = await gql(client, LIST, token=world.tokens["contact_a"])
    assert mine["data"]["customerSubscriptions"]["nodes"] == [
        {"planName": "Support Gold", "invoices": [{"number": "INV-000001"}]}
    ]
    cancel = """mutation($id: ID!) { setCustomerSubscriptionStatus(input: {id: $id,
      status: CANCELLED}) { customerSubscription { status nextBillingOn } errors { code } } }"""
    body = await gql(client, cancel, {"id": subscription["id"]}, token=staff)
    assert body["data"]["setCustomerSubscriptionStatus"]["customerSubscription"] == {
        "status": "CANCELLED",
        "nextBillingOn": None,
    }
    again = await gql(client, cancel, {"id": subscription["id"]}, token=staff)
    assert again["data"]["setCustomerSubscriptionStatus"]["errors"] == [
        {"code": "INVALID_TRANSITION"}
    ]
