"""Payments staff record: balances and statuses follow, retainer money is held, applied and
refunded, and contacts see their customer's payments and nothing else."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from strawberry.relay import GlobalID

from auth.principals import StaffPrincipal
from models.documents import SalesDocument
from models.payments import Payment, PaymentAllocation, PaymentMode
from resolvers import payments
from resolvers.errors import Rejected
from tests.conftest import TODAY, World, gid, gql
from tests.test_documents import SEND, create

RECORD = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { id number kind status amount { amount currency } unusedAmount { amount } paidOn
    allocations { amount { amount } document { number status
      ... on Payable { balanceDue { amount } } } } }
  errors { code field } } }"""
APPLY = """mutation($p: ID!, $i: ID!, $amount: Decimal!) {
  applyRetainerPayment(input: {paymentId: $p, invoiceId: $i, amount: $amount}) {
    payment { unusedAmount { amount } } invoice { status balanceDue { amount } }
    errors { code field } } }"""
REFUND = """mutation($p: ID!, $amount: Decimal!) {
  refundPayment(input: {paymentId: $p, amount: $amount, mode: BANK_TRANSFER}) {
    payment { unusedAmount { amount } refundedAmount { amount }
      refunds { amount { amount } document { number status } } }
    errors { code field } } }"""
HOME = """{ portalHome { outstandingInvoices { amount } outstandingRetainerInvoices { amount }
  availableRetainerPayments { amount currency } lastPaymentMade { number paidOn
    amount { amount } } } }"""


async def issued(client, world: World, rate: str = "100", kind: str = "INVOICE", **more) -> dict:
    lines = [{"name": "Item", "quantity": "1", "rate": rate}]
    document = await create(client, world, kind=kind, lineItems=lines, **more)
    await gql(client, SEND, {"id": document["id"]}, token=world.tokens["staff"])
    return document


async def record(client, world: World, *allocations: tuple[dict, str], **more) -> dict:
    payment_input = {
        "customerId": gid("Customer", world.customer_a),
        "mode": "CHEQUE",
        "reference": "CHQ 1001",
        "allocations": [{"documentId": d["id"], "amount": amount} for d, amount in allocations],
        **more,
    }
    body = await gql(client, RECORD, {"input": payment_input}, token=world.tokens["staff"])
    return body["data"]["recordPayment"]


async def test_one_payment_settles_several_invoices(client, world: World) -> None:
    first, second = await issued(client, world), await issued(client, world, rate="50")
    result = await record(client, world, (first, "40"), (second, "50"))
    assert result["errors"] == []
    payment = result["payment"]
    assert payment["number"] == "PAY-000001"
    assert payment["kind"] == "INVOICE_PAYMENT"
    assert payment["status"] == "SUCCEEDED"
    assert payment["amount"] == {"amount": "90.00", "currency": "USD"}
    assert payment["paidOn"] == TODAY.isoformat()
    assert [(a["amount"]["amount"], a["document"]["status"], a["document"]["balanceDue"]["amount"])
            for a in payment["allocations"]] == [
        ("40.00", "PARTIALLY_PAID", "60.00"),
        ("50.00", "PAID", "0.00"),
    ]  # fmt: skip
    home = (await gql(client, HOME, token=world.tokens["contact_a"]))["data"]["portalHome"]
    assert home["outstandingInvoices"] == [{"amount": "60.00"}]
    assert home["lastPaymentMade"]["amount"] == {"amount": "90.00"}
    second_payment = await record(client, world, (first, "60"))
    assert second_payment["payment"]["number"] == "PAY-000002"
    detail = await gql(
        client,
        "query($id: ID!) { salesDocument(id: $id) { status ... on Payable { payments { "
        "amount { amount } payment { number } } } } }",
        {"id": first["id"]},
        token=world.tokens["contact_a"],
    )
    invoice = detail["data"]["salesDocument"]
    assert invoice["status"] == "PAID"
    assert [(p["payment"]["number"], p["amount"]["amount"]) for p in invoice["payments"]] == [
        ("PAY-000001", "40.00"),
        ("PAY-000002", "60.00"),
    ]


async def test_refused_payments_change_nothing(client, world: World) -> None:
    invoice = await issued(client, world)
    draft = await create(client, world)
    retainer = await issued(client, world, kind="RETAINER_INVOICE")
    others = await issued(client, world, customerId=gid("Customer", world.customer_b))
    future = (TODAY + timedelta(days=1)).isoformat()
    refusals = [
        (((invoice, "100.01"),), {}, "EXCEEDS_BALANCE", ["allocations", "0", "amount"]),
        (((invoice, "0"),), {}, "INVALID_AMOUNT", ["allocations", "0", "amount"]),
        (((invoice, "-5"),), {}, "INVALID_AMOUNT", ["allocations", "0", "amount"]),
        (((invoice, "1.001"),), {}, "INVALID_AMOUNT", ["allocations", "0", "amount"]),
        (((draft, "1"),), {}, "INVALID_TRANSITION", ["allocations", "0", "documentId"]),
        (((others, "1"),), {}, "INVALID", ["allocations", "0"]),
        (((invoice, "1"), (retainer, "1")), {}, "INVALID", ["allocations"]),
        (((invoice, "1"), (invoice, "2")), {}, "DUPLICATE", ["allocations"]),
        ((), {}, "REQUIRED", ["allocations"]),
        (((invoice, "1"),), {"paidOn": future}, "INVALID", ["paidOn"]),
        (((invoice, "1"),), {"reference": "x" * 101}, "TOO_LONG", ["reference"]),
    ]
    for allocations, more, code, field in refusals:
        result = await record(client, world, *allocations, **more)
        assert result["payment"] is None
        assert result["errors"] == [{"code": code, "field": field}], (allocations, more)
    assert await Payment.all().count() == 0
    assert await PaymentAllocation.all().count() == 0
    stored = await SalesDocument.get(id=int(GlobalID.from_id(invoice["id"]).node_id))
    assert (stored.balance_minor, stored.status) == (10000, "SENT")


async def test_amounts_follow_the_currency_exponent(client, world: World) -> None:
    from models.customers import Customer

    await Customer.filter(id=world.customer_a.id).update(currency="KWD")
    kwd = await issued(client, world, rate="10.5")
    result = await record(client, world, (kwd, "1.234"))
    assert result["payment"]["amount"] == {"amount": "1.234", "currency": "KWD"}
    assert result["payment"]["allocations"][0]["document"]["balanceDue"] == {"amount": "9.266"}
    await Customer.filter(id=world.customer_a.id).update(currency="JPY")
    jpy = await issued(client, world, rate="1000")
    finer = await record(client, world, (jpy, "0.5"))
    assert finer["errors"] == [{"code": "INVALID_AMOUNT", "field": ["allocations", "0", "amount"]}]
    mixed = await record(client, world, (kwd, "1"), (jpy, "1"))
    assert mixed["errors"][0]["code"] == "CURRENCY_MISMATCH"


async def test_retainer_money_is_held_applied_and_refunded(client, world: World) -> None:
    retainer = await issued(client, world, rate="500", kind="RETAINER_INVOICE")
    invoice = await issued(client, world, rate="300")
    result = await record(client, world, (retainer, "500"))
    payment = result["payment"]
    assert payment["kind"] == "RETAINER_PAYMENT"
    assert payment["unusedAmount"] == {"amount": "500.00"}
    assert payment["allocations"][0]["document"]["status"] == "PAID"
    home = (await gql(client, HOME, token=world.tokens["contact_a"]))["data"]["portalHome"]
    assert home["outstandingRetainerInvoices"] == []
    assert home["availableRetainerPayments"] == [{"amount": "500.00", "currency": "USD"}]
    staff = world.tokens["staff"]

    applied = await gql(client, APPLY, {"p": payment["id"], "i": invoice["id"], "amount": "200"},
                        token=staff)  # fmt: skip
    applied = applied["data"]["applyRetainerPayment"]
    assert applied["errors"] == []
    assert applied["payment"]["unusedAmount"] == {"amount": "300.00"}
    assert applied["invoice"] == {"status": "PARTIALLY_PAID", "balanceDue": {"amount": "100.00"}}
    too_much = await gql(client, APPLY, {"p": payment["id"], "i": invoice["id"],
                                         "amount": "100.01"}, token=staff)  # fmt: skip
    assert too_much["data"]["applyRetainerPayment"]["errors"] == [
        {"code": "EXCEEDS_BALANCE", "field": ["amount"]}
    ]

    refund = await gql(client, REFUND, {"p": payment["id"], "amount": "300"}, token=staff)
    refunded = refund["data"]["refundPayment"]
    assert refunded["errors"] == []
    assert refunded["payment"]["unusedAmount"] == {"amount": "0.00"}
    assert refunded["payment"]["refunds"] == [{"amount": {"amount": "300.00"}, "document": None}]
    home = (await gql(client, HOME, token=world.tokens["contact_a"]))["data"]["portalHome"]
    assert home["availableRetainerPayments"] == []
    # What is left of the payment now sits in the invoice: refunding it makes that due again.
    refund = await gql(client, REFUND, {"p": payment["id"], "amount": "50"}, token=staff)
    assert refund["data"]["refundPayment"]["payment"]["refunds"][-1] == {
        "amount": {"amount": "50.00"},
        "document": {"number": "INV-000001", "status": "PARTIALLY_PAID"},
    }
    stored = await SalesDocument.get(id=int(GlobalID.from_id(invoice["id"]).node_id))
    assert stored.balance_minor == 15000
    over = await gql(client, REFUND, {"p": payment["id"], "amount": "150.01"}, token=staff)
    assert over["data"]["refundPayment"]["errors"] == [
        {"code": "EXCEEDS_BALANCE", "field": ["amount"]}
    ]


async def test_refunding_an_invoice_payment_makes_the_invoices_due_again(
    client, world: World
) -> None:
    first, second = await issued(client, world), await issued(client, world)
    payment = (await record(client, world, (first, "100"), (second, "100")))["payment"]
    body = await gql(client, REFUND, {"p": payment["id"], "amount": "120"},
                     token=world.tokens["staff"])  # fmt: skip
    refunds = body["data"]["refundPayment"]["payment"]["refunds"]
    assert [(r["document"]["number"], r["amount"]["amount"], r["document"]["status"])
            for r in refunds] == [
        ("INV-000002", "100.00", "SENT"),
        ("INV-000001", "20.00", "PARTIALLY_PAID"),
    ]  # fmt: skip
    home = (await gql(client, HOME, token=world.tokens["contact_a"]))["data"]["portalHome"]
    assert home["outstandingInvoices"] == [{"amount": "120.00"}]


async def test_an_invoice_with_payments_cannot_be_voided(client, world: World) -> None:
    invoice = await issued(client, world)
    retainer = await issued(client, world, kind="RETAINER_INVOICE")
    await record(client, world, (invoice, "10"))
    await record(client, world, (retainer, "10"))
    void = """mutation($id: ID!) { voidSalesDocument(input: {id: $id}) {
      salesDocument { status } errors { code } } }"""
    for document in (invoice, retainer):
        body = await gql(client, void, {"id": document["id"]}, token=world.tokens["staff"])
        assert body["data"]["voidSalesDocument"]["errors"] == [{"code": "INVALID_TRANSITION"}]


async def test_contacts_list_their_customers_payments(client, world: World, count_queries) -> None:
    invoices = [await issued(client, world) for _ in range(3)]
    for invoice, amount in zip(invoices, ("30", "10", "20"), strict=True):
        await record(client, world, (invoice, amount))
    retainer = await issued(client, world, kind="RETAINER_INVOICE")
    await record(client, world, (retainer, "5"))
    theirs = await issued(client, world, customerId=gid("Customer", world.customer_b))
    await record(client, world, (theirs, "1"), customerId=gid("Customer", world.customer_b))

    query = """query($filter: PaymentFilter, $order: PaymentOrder, $first: Int) {
      payments(filter: $filter, orderBy: $order, first: $first) { totalCount nodes {
        amount { amount } allocations { document { number } } } } }"""
    contact = world.tokens["contact_a"]
    by_amount = await gql(client, query, {"order": {"field": "AMOUNT", "direction": "ASC"}},
                          token=contact)  # fmt: skip
    assert [n["amount"]["amount"] for n in by_amount["data"]["payments"]["nodes"]] == [
        "5.00", "10.00", "20.00", "30.00",
    ]  # fmt: skip
    invoice_payments = await gql(client, query, {"filter": {"kinds": ["INVOICE_PAYMENT"]}},
                                 token=contact)  # fmt: skip
    assert invoice_payments["data"]["payments"]["totalCount"] == 3
    search = await gql(client, query, {"filter": {"search": "PAY-000004"}}, token=contact)
    assert search["data"]["payments"]["totalCount"] == 1

    counts = []
    for first in (1, 4):
        count_queries.reset()
        body = await gql(client, query, {"first": first}, token=contact)
        assert len(body["data"]["payments"]["nodes"]) == first
        counts.append(count_queries.count)
    assert counts[0] == counts[1]


async def test_a_partner_key_needs_the_payments_scope(client, world: World) -> None:
    from auth.api_keys import ApiScope, issue_api_key

    invoice = await issued(client, world)
    await record(client, world, (invoice, "10"))
    token, _ = await issue_api_key(
        organization_id=world.org_a.id, name="Books", scopes=[ApiScope.PAYMENTS_READ],
        created_by_id=world.admin.id,
    )  # fmt: skip
    body = await gql(client, "{ payments { nodes { number internalNotes } } }", token=token)
    assert body["data"]["payments"]["nodes"] == [{"number": "PAY-000001", "internalNotes": ""}]
    staff_only = await gql(client, "{ payments { nodes { recordedBy { email } } } }", token=token)
    assert staff_only["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_concurrent_payments_never_take_more_than_the_balance(client, world: World) -> None:
    invoice = await issued(client, world)
    invoice_id = int(GlobalID.from_id(invoice["id"]).node_id)
    principal = StaffPrincipal(world.staff)

    async def attempt() -> bool:
        try:
            await payments.record_payment(
                principal,
                world.customer_a.id,
                [payments.Allocation(invoice_id, Decimal("40"))],
                payments.PaymentDetails(mode=PaymentMode.CASH),
            )
        except Rejected:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt() for _ in range(6)))
    assert outcomes.count(True) == 2  # 2 x 40 fit in 100, a third would not
    stored = await SalesDocument.get(id=invoice_id)
    assert stored.balance_minor == 2000
    assert sorted(p.number for p in await Payment.all()) == ["PAY-000001", "PAY-000002"]


async def test_staff_can_email_a_receipt_for_a_recorded_payment(client, world: World) -> None:
    from models.customers import ContactPerson
    from models.outbox import OutboxMessage

    document = await issued(client, world)
    result = await record(client, world, (document, "100"), sendReceipt=True)
    assert result["errors"] == []
    receipt = await OutboxMessage.get(template="payment_receipt")
    assert receipt.to_address == "ann@acorn.example"
    assert "PAY-000001" in receipt.subject
    await ContactPerson.filter(customer_id=world.customer_a.id).update(is_primary=False)
    other = await issued(client, world)
    refused = await record(client, world, (other, "100"), sendReceipt=True)
    assert refused["errors"] == [{"code": "NO_PRIMARY_CONTACT", "field": ["sendReceipt"]}]
    assert await Payment.all().count() == 1
