"""Contacts paying in the portal through the test gateway: money is never lost, never taken
twice and never more than the balance."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from datetime import timedelta

import pytest
from strawberry.relay import GlobalID

from integrations.gateways import registry
from integrations.gateways.base import GatewayError
from models.customers import Customer
from models.documents import SalesDocument
from models.outbox import OutboxMessage
from models.payments import Payment, PaymentStatus
from resolvers import online_payments
from tests.conftest import World, gql
from tests.test_documents import SEND, create

PAY = """mutation($input: PayInvoicesInput!) { payInvoices(input: $input) {
  payment { id number status mode failureReason amount { amount }
    allocations { amount { amount } document { number status
      ... on Payable { balanceDue { amount } } } } }
  errors { code field message } } }"""
SETTLE = """mutation($id: ID!, $outcome: SettlementOutcome) {
  settleTestPayment(input: {paymentId: $id, outcome: $outcome}) {
    payment { status } errors { code } } }"""


def gateway():
    return registry.gateway("test")


def row_id(global_id: str) -> int:
    return int(GlobalID.from_id(global_id).node_id)


async def invoice(client, world: World, rate: str = "100", **more) -> dict:
    lines = [{"name": "Item", "quantity": "1", "rate": rate}]
    document = await create(client, world, lineItems=lines, **more)
    await gql(client, SEND, {"id": document["id"]}, token=world.tokens["staff"])
    return document


async def pay(
    client, world: World, *parts: tuple[dict, str], key: str | None = None,
    token: str | None = "tok_visa", contact: str = "contact_a", **more: object,
) -> dict:  # fmt: skip
    payment_input = {
        "idempotencyKey": key or uuid.uuid4().hex,
        "allocations": [{"documentId": d["id"], "amount": amount} for d, amount in parts],
        **({"token": token} if token else {}),
        **more,
    }
    body = await gql(client, PAY, {"input": payment_input}, token=world.tokens[contact])
    assert "errors" not in body, body
    return body["data"]["payInvoices"]


async def charges_for(*payment_ids: str) -> list:
    keys = {p.charge_key for p in await Payment.filter(id__in=[row_id(i) for i in payment_ids])}
    return [charge for charge in await gateway().ledger() if charge.key in keys]


async def test_a_card_payment_pays_the_invoice_and_sends_a_receipt(client, world: World) -> None:
    document = await invoice(client, world)
    result = await pay(client, world, (document, "100"))
    assert result["errors"] == []
    payment = result["payment"]
    assert (payment["status"], payment["mode"]) == ("SUCCEEDED", "CARD")
    assert payment["allocations"][0]["document"]["status"] == "PAID"
    [charge] = await charges_for(payment["id"])
    assert (charge.amount_minor, charge.currency, charge.status) == (10000, "USD", "SUCCEEDED")
    receipt = await OutboxMessage.get(to_address="ann@acorn.example", template="payment_receipt")
    assert payment["number"] in receipt.subject
    feed = await gql(client, "{ activities { nodes { kind } } }", token=world.tokens["staff"])
    assert "PAYMENT_MADE" in [n["kind"] for n in feed["data"]["activities"]["nodes"]]


async def test_declined_and_retry_cards(client, world: World) -> None:
    document = await invoice(client, world)
    declined = await pay(client, world, (document, "100"), token="tok_declined")
    assert declined["payment"]["status"] == "FAILED"
    assert declined["errors"][0]["code"] == "PAYMENT_DECLINED"
    assert declined["payment"]["failureReason"]
    stored = await SalesDocument.get(id=row_id(document["id"]))
    assert (stored.balance_minor, stored.status) == (10000, "SENT")
    paid_toward = await gql(
        client,
        "query($id: ID!) { salesDocument(id: $id) { ... on Payable { payments { "
        "amount { amount } } } } }",
        {"id": document["id"]},
        token=world.tokens["contact_a"],
    )
    assert paid_toward["data"]["salesDocument"]["payments"] == []  # a decline paid nothing
    retry_card = "tok_retry"  # the test gateway fails the token's first charge only
    first = await pay(client, world, (document, "100"), token=retry_card)
    assert first["payment"]["status"] == "FAILED"
    assert first["errors"][0]["code"] == "PAYMENT_NOT_COMPLETED"  # may be tried again
    second = await pay(client, world, (document, "100"), token=retry_card)
    assert second["payment"]["status"] == "SUCCEEDED"
    stored = await SalesDocument.get(id=row_id(document["id"]))
    assert (stored.balance_minor, stored.status) == (0, "PAID")


async def test_partial_payments_follow_the_invoice_and_add_up(client, world: World) -> None:
    whole_only = await invoice(client, world)
    refused = await pay(client, world, (whole_only, "40"))
    assert refused["errors"] == [{"code": "PARTIAL_PAYMENT_NOT_ALLOWED",
                                  "field": ["allocations", "0", "amount"],
                                  "message": "INV-000001 must be paid in full."}]  # fmt: skip
    partial = await invoice(client, world, rate="100.01", allowPartialPayments=True)
    for amount in ("33.33", "33.33", "33.35"):
        result = await pay(client, world, (partial, amount))
        assert result["errors"] == [], result
    stored = await SalesDocument.get(id=row_id(partial["id"]))
    assert (stored.balance_minor, stored.status) == (0, "PAID")
    over = await pay(client, world, (partial, "0.01"))
    assert over["errors"][0]["code"] == "INVALID_TRANSITION"
    fresh = await invoice(client, world, rate="10", allowPartialPayments=True)
    for amount, code in (("10.01", "EXCEEDS_BALANCE"), ("0", "INVALID_AMOUNT"),
                         ("0.001", "INVALID_AMOUNT")):  # fmt: skip
        result = await pay(client, world, (fresh, amount))
        assert result["errors"][0]["code"] == code
    assert await Payment.filter(status=PaymentStatus.SUCCEEDED).count() == 3


async def test_bulk_payment_across_invoices_in_two_states(client, world: World) -> None:
    first = await invoice(client, world, rate="50", allowPartialPayments=True)
    await pay(client, world, (first, "20"))  # now partially paid
    second, third = await invoice(client, world, rate="70"), await invoice(client, world, rate="5")
    result = await pay(client, world, (first, "30"), (second, "70"), (third, "5"))
    assert result["errors"] == []
    assert result["payment"]["amount"] == {"amount": "105.00"}
    assert [a["document"]["status"] for a in result["payment"]["allocations"]] == ["PAID"] * 3
    assert len(await charges_for(result["payment"]["id"])) == 1

    await gql(client, "mutation { updatePortalPreferences(input: {allowBulkPayments: false}) "
              "{ errors { code } } }", token=world.tokens["admin"])  # fmt: skip
    fourth, fifth = await invoice(client, world), await invoice(client, world)
    refused = await pay(client, world, (fourth, "100"), (fifth, "100"))
    assert refused["errors"][0]["code"] == "BULK_PAYMENTS_OFF"


async def test_bank_debits_stay_pending_and_block_duplicates(client, world: World) -> None:
    document = await invoice(client, world)
    refused = await pay(client, world, (document, "100"), token="tok_ach")
    assert refused["errors"][0]["code"] == "METHOD_NOT_ACCEPTED"
    await Customer.filter(id=world.customer_a.id).update(allow_ach=True)
    pending = await pay(client, world, (document, "100"), token="tok_ach")
    assert (pending["payment"]["status"], pending["payment"]["mode"]) == ("PENDING", "ACH")
    assert pending["payment"]["allocations"][0]["document"]["status"] == "SENT"
    blocked = await pay(client, world, (document, "100"))
    assert blocked["errors"][0]["code"] == "PAYMENT_IN_PROGRESS"
    settled = await gql(client, SETTLE, {"id": pending["payment"]["id"]},
                        token=world.tokens["staff"])  # fmt: skip
    assert settled["data"]["settleTestPayment"]["payment"] == {"status": "SUCCEEDED"}
    assert (await SalesDocument.get(id=row_id(document["id"]))).status == "PAID"

    other = await invoice(client, world)
    failing = await pay(client, world, (other, "100"), token="tok_ach_fails")
    settled = await gql(client, SETTLE, {"id": failing["payment"]["id"]},
                        token=world.tokens["staff"])  # fmt: skip
    assert settled["data"]["settleTestPayment"]["payment"] == {"status": "FAILED"}
    again = await pay(client, world, (other, "100"))
    assert again["payment"]["status"] == "SUCCEEDED"


async def test_without_duplicate_prevention_pending_money_is_still_held(
    client, world: World
) -> None:
    await gql(client, "mutation { updatePortalPreferences(input: {preventDuplicatePayments: "
              "false}) { errors { code } } }", token=world.tokens["admin"])  # fmt: skip
    await Customer.filter(id=world.customer_a.id).update(allow_ach=True)
    document = await invoice(client, world, allowPartialPayments=True)
    await pay(client, world, (document, "60"), token="tok_ach")
    too_much = await pay(client, world, (document, "40.01"))
    assert too_much["errors"][0]["code"] == "EXCEEDS_BALANCE"
    rest = await pay(client, world, (document, "40"))
    assert rest["payment"]["status"] == "SUCCEEDED"


async def test_an_idempotency_key_returns_the_first_result(client, world: World) -> None:
    document = await invoice(client, world, allowPartialPayments=True)
    first = await pay(client, world, (document, "10"), key="order-7781-attempt")
    again = await pay(client, world, (document, "10"), key="order-7781-attempt")
    assert again["payment"]["id"] == first["payment"]["id"]
    assert len(await charges_for(first["payment"]["id"])) == 1
    different = await pay(client, world, (document, "11"), key="order-7781-attempt")
    assert different["errors"] == [{"code": "IDEMPOTENCY_KEY_REUSED", "field": ["idempotencyKey"],
                                     "message": different["errors"][0]["message"]}]  # fmt: skip
    short = await pay(client, world, (document, "1"), key="abc")
    assert short["errors"][0]["field"] == ["idempotencyKey"]
    stored = await SalesDocument.get(id=row_id(document["id"]))
    assert stored.balance_minor == 9000


async def test_fifty_concurrent_payments_of_the_whole_balance(client, world: World) -> None:
    document = await invoice(client, world)
    results = await asyncio.gather(*(pay(client, world, (document, "100")) for _ in range(50)))
    succeeded = [r for r in results if r["payment"] and r["payment"]["status"] == "SUCCEEDED"]
    assert len(succeeded) == 1
    refused = {r["errors"][0]["code"] for r in results if r["payment"] is None}
    assert refused <= {"PAYMENT_IN_PROGRESS", "EXCEEDS_BALANCE", "INVALID_TRANSITION"}
    assert await Payment.all().count() == 1  # refused attempts never reached the gateway
    assert len(await charges_for(succeeded[0]["payment"]["id"])) == 1
    stored = await SalesDocument.get(id=row_id(document["id"]))
    assert (stored.balance_minor, stored.status) == (0, "PAID")


async def test_fifty_concurrent_requests_with_one_key(client, world: World) -> None:
    document = await invoice(client, world)
    results = await asyncio.gather(
        *(pay(client, world, (document, "100"), key="same-key-for-all") for _ in range(50))
    )
    assert {r["payment"]["id"] for r in results} == {results[0]["payment"]["id"]}
    # Repeats answer at once: those that came while the first was with the gateway say so.
    answers = {(r["payment"]["status"], tuple(e["code"] for e in r["errors"])) for r in results}
    assert answers <= {("SUCCEEDED", ()), ("PROCESSING", ("PAYMENT_IN_PROGRESS",))}
    assert ("SUCCEEDED", ()) in answers
    again = await pay(client, world, (document, "100"), key="same-key-for-all")
    assert (again["payment"]["status"], again["errors"]) == ("SUCCEEDED", [])
    assert len(await charges_for(results[0]["payment"]["id"])) == 1


async def test_webhooks_replayed_out_of_order_or_forged_change_nothing(
    client, world: World
) -> None:
    await Customer.filter(id=world.customer_a.id).update(allow_ach=True)
    document = await invoice(client, world)
    pending = (await pay(client, world, (document, "100"), token="tok_ach"))["payment"]
    key = (await Payment.get(id=row_id(pending["id"]))).charge_key
    forged_headers, forged_body = gateway().signed_webhook("charge.updated", key)
    await gateway().settle(key)
    tampered = forged_body.replace(b"charge.updated", b"charge.succeeded")
    stale_headers, stale_body = gateway().signed_webhook(
        "charge.updated", key, timestamp=int(gateway().clock()) - 301
    )
    for headers, body in ((forged_headers, tampered), (stale_headers, stale_body),
                          ({}, forged_body)):  # fmt: skip
        response = await client.post("/webhooks/gateways/test", headers=headers, content=body)
        assert response.status_code == 400
        assert (await Payment.get(id=row_id(pending["id"]))).status == "PENDING"

    events = [gateway().signed_webhook("charge.updated", key) for _ in range(3)]
    for headers, body in [*reversed(events), *events * 3]:  # ten deliveries, out of order
        response = await client.post("/webhooks/gateways/test", headers=headers, content=body)
        assert response.status_code == 200
    assert (await Payment.get(id=row_id(pending["id"]))).status == "SUCCEEDED"
    stored = await SalesDocument.get(id=row_id(document["id"]))
    assert (stored.balance_minor, stored.status) == (0, "PAID")
    assert len(await charges_for(pending["id"])) == 1
    unknown = await client.post("/webhooks/gateways/nope", content=json.dumps({}).encode())
    assert unknown.status_code == 404


async def test_saved_payment_methods(client, world: World) -> None:
    add = """mutation($token: String!) { addPaymentMethod(input: {token: $token}) {
      savedPaymentMethod { id kind brand last4 expMonth expYear isDefault } errors { code } } }"""
    contact = world.tokens["contact_a"]
    visa = (await gql(client, add, {"token": "tok_visa"}, token=contact))["data"]
    visa = visa["addPaymentMethod"]["savedPaymentMethod"]
    assert {k: visa[k] for k in ("kind", "brand", "last4", "isDefault")} == {
        "kind": "CARD", "brand": "visa", "last4": "4242", "isDefault": True,
    }  # fmt: skip
    master = (await gql(client, add, {"token": "tok_mastercard"}, token=contact))["data"]
    master = master["addPaymentMethod"]["savedPaymentMethod"]
    assert master["isDefault"] is False
    for token, code in (("tok_ach", "METHOD_NOT_ACCEPTED"), ("4242424242424242", "INVALID_TOKEN")):
        body = await gql(client, add, {"token": token}, token=contact)
        assert body["data"]["addPaymentMethod"]["errors"] == [{"code": code}]
    await gql(client, "mutation($id: ID!) { setDefaultPaymentMethod(input: {id: $id}) "
              "{ errors { code } } }", {"id": master["id"]}, token=contact)  # fmt: skip
    listed = await gql(client, "{ savedPaymentMethods { last4 isDefault } }", token=contact)
    assert listed["data"]["savedPaymentMethods"] == [
        {"last4": "4444", "isDefault": True}, {"last4": "4242", "isDefault": False},
    ]  # fmt: skip
    theirs = await gql(client, "{ savedPaymentMethods { last4 } }", token=world.tokens["contact_b"])
    assert theirs["data"]["savedPaymentMethods"] == []

    document = await invoice(client, world)
    stolen = await pay(client, world, (document, "100"), token=None, contact="contact_b",
                       paymentMethodId=master["id"])  # fmt: skip
    assert stolen["errors"][0]["code"] in {"NOT_FOUND", "INVALID"}
    paid = await pay(client, world, (document, "100"), token=None, paymentMethodId=master["id"])
    assert paid["payment"]["status"] == "SUCCEEDED"
    remove = """mutation($id: ID!) { removePaymentMethod(input: {id: $id}) { removedId
      errors { code } } }"""
    await gql(client, remove, {"id": master["id"]}, token=contact)
    listed = await gql(client, "{ savedPaymentMethods { last4 isDefault } }", token=contact)
    assert listed["data"]["savedPaymentMethods"] == [{"last4": "4242", "isDefault": True}]


async def test_paying_can_save_the_card(client, world: World) -> None:
    document = await invoice(client, world)
    await pay(client, world, (document, "100"), token="tok_mastercard", savePaymentMethod=True)
    listed = await gql(client, "{ savedPaymentMethods { last4 } }", token=world.tokens["contact_a"])
    assert listed["data"]["savedPaymentMethods"] == [{"last4": "4444"}]


@pytest.mark.parametrize("charged", [True, False], ids=["charged", "never-charged"])
async def test_reconcile_ends_attempts_whose_answer_was_lost(
    client, world: World, monkeypatch, charged: bool
) -> None:
    document = await invoice(client, world)
    real_charge = gateway().charge

    async def lost_answer(**kwargs):
        if charged:
            await real_charge(**kwargs)
        raise GatewayError("connection reset")

    monkeypatch.setattr(gateway(), "charge", lost_answer)
    result = await pay(client, world, (document, "100"))
    assert result["payment"]["status"] == "PROCESSING"
    monkeypatch.undo()
    assert await online_payments.reconcile(older_than=timedelta(0)) == 1
    payment = await Payment.get(id=row_id(result["payment"]["id"]))
    stored = await SalesDocument.get(id=row_id(document["id"]))
    if charged:
        assert (payment.status, stored.status) == ("SUCCEEDED", "PAID")
    else:
        assert (payment.status, stored.status) == ("FAILED", "SENT")
        late = await real_charge(key=payment.charge_key, token="tok_visa", amount_minor=10000,
                                 currency="USD", description=payment.number)  # fmt: skip
        assert late.status == "CANCELLED"  # a call still under way can no longer charge
    assert await online_payments.reconcile(older_than=timedelta(0)) == 0


async def test_a_repeat_while_the_payment_is_with_the_gateway_answers_at_once(
    client, world: World, monkeypatch, clock
) -> None:
    document = await invoice(client, world)
    real_charge = gateway().charge

    async def lost_answer(**kwargs):
        await real_charge(**kwargs)
        raise GatewayError("connection reset")

    monkeypatch.setattr(gateway(), "charge", lost_answer)
    first = await pay(client, world, (document, "100"), key="order-in-flight")
    monkeypatch.undo()
    assert first["payment"]["status"] == "PROCESSING"
    assert [e["code"] for e in first["errors"]] == ["PAYMENT_IN_PROGRESS"]
    started = asyncio.get_running_loop().time()
    repeat = await pay(client, world, (document, "100"), key="order-in-flight")
    # No waiting for an answer that may never come (proxies cut requests at 30 s).
    assert asyncio.get_running_loop().time() - started < 5
    assert repeat["payment"]["id"] == first["payment"]["id"]
    assert repeat["payment"]["status"] == "PROCESSING"
    assert [e["code"] for e in repeat["errors"]] == ["PAYMENT_IN_PROGRESS"]
    polled = await gql(client, "query($id: ID!) { node(id: $id) { ... on Payment { status } } }",
                       {"id": first["payment"]["id"]}, token=world.tokens["contact_a"])  # fmt: skip
    assert polled["data"]["node"] == {"status": "PROCESSING"}
    # Once no gateway call can still be under way, a repeat ends the attempt itself.
    clock.shift(timedelta(seconds=61))
    ended = await pay(client, world, (document, "100"), key="order-in-flight")
    assert (ended["payment"]["status"], ended["errors"]) == ("SUCCEEDED", [])
    assert len(await charges_for(first["payment"]["id"])) == 1
    assert (await SalesDocument.get(id=row_id(document["id"]))).status == "PAID"


async def test_a_repeat_after_the_payer_died_saves_the_card_once(
    client, world: World, monkeypatch
) -> None:
    document = await invoice(client, world)

    def die_after_commit(name: str) -> None:
        if name == "after-commit":
            raise RuntimeError("the worker died")

    monkeypatch.setattr(online_payments, "crash_point", die_after_commit)
    payment_input = {"idempotencyKey": "save-after-crash", "token": "tok_mastercard",
                     "savePaymentMethod": True,
                     "allocations": [{"documentId": document["id"], "amount": "100"}]}  # fmt: skip
    died = await gql(client, PAY, {"input": payment_input}, token=world.tokens["contact_a"])
    assert died["data"] is None or died["data"]["payInvoices"] is None
    monkeypatch.undo()
    saved = "{ savedPaymentMethods { last4 } }"
    for _ in range(2):
        again = await pay(client, world, (document, "100"), key="save-after-crash",
                          token="tok_mastercard", savePaymentMethod=True)  # fmt: skip
        assert (again["payment"]["status"], again["errors"]) == ("SUCCEEDED", [])
        listed = await gql(client, saved, token=world.tokens["contact_a"])
        assert listed["data"]["savedPaymentMethods"] == [{"last4": "4444"}]
    payment = await Payment.get(id=row_id(again["payment"]["id"]))
    assert payment.payment_method_id is not None


async def test_refunding_a_card_payment_goes_back_through_the_gateway(client, world: World) -> None:
    document = await invoice(client, world)
    paid = (await pay(client, world, (document, "100")))["payment"]
    refund = """mutation($p: ID!, $amount: Decimal!) { refundPayment(input: {paymentId: $p,
      amount: $amount, mode: CARD}) { payment { refundedAmount { amount } } errors { code } } }"""
    staff = world.tokens["staff"]
    body = await gql(client, refund, {"p": paid["id"], "amount": "30"}, token=staff)
    assert body["data"]["refundPayment"]["payment"] == {"refundedAmount": {"amount": "30.00"}}
    stored = await SalesDocument.get(id=row_id(document["id"]))
    assert (stored.balance_minor, stored.status) == (3000, "PARTIALLY_PAID")
    payment = await Payment.get(id=row_id(paid["id"]))
    with sqlite3.connect(gateway().ledger_path) as ledger:
        refunded = ledger.execute(
            "SELECT SUM(amount_minor) FROM refunds WHERE charge_reference = ?",
            (payment.gateway_reference,),
        ).fetchone()[0]
    assert refunded == 3000
    over = await gql(client, refund, {"p": paid["id"], "amount": "70.01"}, token=staff)
    assert over["data"]["refundPayment"]["errors"] == [{"code": "EXCEEDS_BALANCE"}]


async def test_an_invoice_being_paid_can_be_neither_voided_nor_cut(client, world: World) -> None:
    await Customer.filter(id=world.customer_a.id).update(allow_ach=True)
    document = await invoice(client, world)
    await pay(client, world, (document, "100"), token="tok_ach")
    staff = world.tokens["staff"]
    void = await gql(client, "mutation($id: ID!) { voidSalesDocument(input: {id: $id}) "
                     "{ errors { code } } }", {"id": document["id"]}, token=staff)  # fmt: skip
    assert void["data"]["voidSalesDocument"]["errors"] == [{"code": "PAYMENT_IN_PROGRESS"}]
    cut = await gql(
        client,
        'mutation($id: ID!) { updateSalesDocument(input: {id: $id, lineItems: [{name: "X", '
        'quantity: "1", rate: "1"}]}) { errors { code } } }',
        {"id": document["id"]},
        token=staff,
    )
    assert cut["data"]["updateSalesDocument"]["errors"] == [{"code": "BELOW_AMOUNT_PAID"}]
    stored = await SalesDocument.get(id=row_id(document["id"]))
    assert (stored.total_minor, stored.status) == (10000, "SENT")
