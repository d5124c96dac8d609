"""Staff giving money back from payments: a refund of a payment taken online goes back through
the gateway under its own key and is committed before the gateway is asked, so a lost answer or
a refused refund never leaves Portico and the gateway disagreeing; money the business gave back
itself is only recorded."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from integrations.gateways.base import GatewayError, Refund, RefundStatus
from models.documents import SalesDocument
from models.payments import Payment, PaymentRefund
from resolvers import refunds
from tests.conftest import TODAY, World, gid, gql
from tests.test_online_payments import gateway, invoice, pay, row_id

REFUND = """mutation($input: RefundPaymentInput!) { refundPayment(input: $input) {
  payment { refundedAmount { amount } unusedAmount { amount }
    refunds { amount { amount } mode status failureReason document { number status } } }
  errors { code field message } } }"""
REFUND_CREDIT = """mutation($input: RefundCreditInput!) { refundCredit(input: $input) {
  creditNote { creditsRemaining { amount } } errors { code field } } }"""
APPLY = """mutation($p: ID!, $i: ID!, $amount: Decimal!) {
  applyRetainerPayment(input: {paymentId: $p, invoiceId: $i, amount: $amount}) {
    payment { unusedAmount { amount } } errors { code } } }"""
RECORD = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { id } errors { code } } }"""


async def refund(client, world: World, payment: dict, amount: str, mode: str = "CARD", **more):
    refund_input = {"paymentId": payment["id"], "amount": amount, "mode": mode, **more}
    body = await gql(client, REFUND, {"input": refund_input}, token=world.tokens["staff"])
    assert "errors" not in body, body
    return body["data"]["refundPayment"]


async def paid_by_card(client, world: World, rate: str = "100", **more) -> tuple[dict, dict]:
    document = await invoice(client, world, rate=rate, **more)
    payment = (await pay(client, world, (document, rate)))["payment"]
    assert payment["status"] == "SUCCEEDED"
    return document, payment


async def given_back(payment: dict) -> list[Refund]:
    """What the gateway gave back of the payment's charge."""
    reference = (await Payment.get(id=row_id(payment["id"]))).gateway_reference
    return [r for r in await gateway().refund_ledger() if r.charge_reference == reference]


async def invoice_state(document: dict) -> tuple[int, str]:
    stored = await SalesDocument.get(id=row_id(document["id"]))
    return stored.balance_minor, stored.status


async def test_each_refund_goes_back_under_its_own_key(client, world: World) -> None:
    document, payment = await paid_by_card(client, world)
    first = await refund(client, world, payment, "50")
    assert first["errors"] == []
    assert first["payment"]["refundedAmount"] == {"amount": "50.00"}
    assert [(r["status"], r["document"]["status"]) for r in first["payment"]["refunds"]] == [
        ("SUCCEEDED", "PARTIALLY_PAID")
    ]
    second = await refund(client, world, payment, "40")
    assert second["errors"] == []
    assert second["payment"]["refundedAmount"] == {"amount": "90.00"}
    keys = [row.refund_key for row in await PaymentRefund.all().order_by("id")]
    assert all(re.fullmatch(r"ref_[0-9a-f]{32}", key or "") for key in keys)
    assert [(r.key, r.amount_minor) for r in await given_back(payment)] == [
        (keys[0], 5000), (keys[1], 4000),
    ]  # fmt: skip
    assert await invoice_state(document) == (9000, "PARTIALLY_PAID")


@pytest.mark.parametrize("refunded", [True, False], ids=["given-back", "never-given-back"])
async def test_a_refund_whose_answer_was_lost_is_reconciled(
    client, world: World, monkeypatch, refunded: bool
) -> None:
    document, payment = await paid_by_card(client, world)
    real_refund = gateway().refund

    async def lost_answer(**kwargs):
        if refunded:
            await real_refund(**kwargs)
        raise GatewayError("connection reset")

    monkeypatch.setattr(gateway(), "refund", lost_answer)
    in_flight = await refund(client, world, payment, "50")
    monkeypatch.undo()
    # Committed before the gateway was asked: staff see it in progress, nothing applied yet.
    assert [e["code"] for e in in_flight["errors"]] == ["REFUND_IN_PROGRESS"]
    assert in_flight["payment"]["refundedAmount"] == {"amount": "0.00"}
    assert [r["status"] for r in in_flight["payment"]["refunds"]] == ["PROCESSING"]
    assert await invoice_state(document) == (0, "PAID")
    # What it gives back is held: no other refund can take it meanwhile.
    too_much = await refund(client, world, payment, "50.01")
    assert [e["code"] for e in too_much["errors"]] == ["EXCEEDS_BALANCE"]

    assert await refunds.reconcile(older_than=timedelta(0)) == 1
    assert await refunds.reconcile(older_than=timedelta(0)) == 0
    stored = await Payment.get(id=row_id(payment["id"]))
    [row] = await PaymentRefund.all()
    if refunded:
        assert (row.status, stored.refunded_minor) == ("SUCCEEDED", 5000)
        assert row.gateway_reference == (await given_back(payment))[0].reference
        assert await invoice_state(document) == (5000, "PARTIALLY_PAID")
    else:
        assert (row.status, stored.refunded_minor) == ("FAILED", 0)
        assert await invoice_state(document) == (0, "PAID")
        late = await real_refund(key=row.refund_key, charge_reference=stored.gateway_reference,
                                 amount_minor=5000)  # fmt: skip
        assert late.status == RefundStatus.CANCELLED  # a call still under way gives nothing
    # The next refund has a key of its own: it is not mistaken for the first.
    rest = await refund(client, world, payment, "50" if refunded else "100")
    assert rest["errors"] == []
    assert sum(r.amount_minor for r in await given_back(payment)) == 10000
    assert (await Payment.get(id=row_id(payment["id"]))).refunded_minor == 10000
    assert await invoice_state(document) == (10000, "SENT")


async def test_a_refund_the_gateway_refuses_changes_nothing(client, world: World) -> None:
    document, payment = await paid_by_card(client, world)
    charge = (await Payment.get(id=row_id(payment["id"]))).gateway_reference
    # Given back at the gateway outside Portico: the charge has less left than Portico thinks.
    await gateway().refund(key="refund-by-hand", charge_reference=charge, amount_minor=8000)
    refused = await refund(client, world, payment, "30")
    assert [e["code"] for e in refused["errors"]] == ["GATEWAY_ERROR"]
    assert "exceed" in refused["errors"][0]["message"]
    assert refused["payment"]["refundedAmount"] == {"amount": "0.00"}
    [row] = refused["payment"]["refunds"]
    assert (row["status"], row["failureReason"]) == (
        "FAILED",
        "The refunds would exceed the charge.",
    )
    assert await invoice_state(document) == (0, "PAID")
    # A failed refund holds nothing: what the charge has left can still go back.
    fits = await refund(client, world, payment, "20")
    assert fits["errors"] == []
    assert fits["payment"]["refundedAmount"] == {"amount": "20.00"}
    contact = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Payment { refunds { status failureReason } } } }",
        {"id": payment["id"]},
        token=world.tokens["contact_a"],
    )
    assert contact["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_retainer_money_being_refunded_cannot_be_applied(
    client, world: World, monkeypatch
) -> None:
    retainer = await invoice(client, world, rate="500", kind="RETAINER_INVOICE")
    payment = (await pay(client, world, (retainer, "500")))["payment"]
    other = await invoice(client, world, rate="400")

    async def lost_answer(**kwargs):
        raise GatewayError("connection reset")

    monkeypatch.setattr(gateway(), "refund", lost_answer)
    await refund(client, world, payment, "300")
    monkeypatch.undo()
    staff = world.tokens["staff"]
    apply = {"p": payment["id"], "i": other["id"]}
    too_much = await gql(client, APPLY, {**apply, "amount": "200.01"}, token=staff)
    assert too_much["data"]["applyRetainerPayment"]["errors"] == [{"code": "EXCEEDS_BALANCE"}]
    fits = await gql(client, APPLY, {**apply, "amount": "200"}, token=staff)
    assert fits["data"]["applyRetainerPayment"]["payment"] == {"unusedAmount": {"amount": "300.00"}}
    assert await refunds.reconcile(older_than=timedelta(0)) == 1
    stored = await Payment.get(id=row_id(payment["id"]))
    # Never given back, so the retainer money is the customer's again.
    assert (stored.unused_minor, stored.refunded_minor) == (30000, 0)


async def test_money_given_back_another_way_is_only_recorded(client, world: World) -> None:
    document, payment = await paid_by_card(client, world)
    cash = await refund(client, world, payment, "20", mode="CASH", reference="Till 2")
    assert cash["errors"] == []
    assert [(r["mode"], r["status"]) for r in cash["payment"]["refunds"]] == [("CASH", "SUCCEEDED")]
    assert cash["payment"]["refundedAmount"] == {"amount": "20.00"}
    assert await given_back(payment) == []  # the customer is not paid back twice
    assert await invoice_state(document) == (2000, "PARTIALLY_PAID")
    card = await refund(client, world, payment, "80")
    assert card["errors"] == []
    assert [r.amount_minor for r in await given_back(payment)] == [8000]
    # A card payment cannot go back to a bank account through the gateway.
    other_document, other = await paid_by_card(client, world)
    wrong = await refund(client, world, other, "10", mode="ACH")
    assert [(e["code"], e["field"]) for e in wrong["errors"]] == [("INVALID", ["mode"])]
    assert await invoice_state(other_document) == (0, "PAID")


async def test_refunds_are_dated_from_the_payment_to_today(client, world: World) -> None:
    document = await invoice(client, world)
    recorded = await gql(
        client,
        RECORD,
        {"input": {"customerId": gid("Customer", world.customer_a), "mode": "CHEQUE",
                   "paidOn": "2026-11-10",
                   "allocations": [{"documentId": document["id"], "amount": "100"}]}},
        token=world.tokens["staff"],
    )  # fmt: skip
    payment = recorded["data"]["recordPayment"]["payment"]
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    for on, message in (("2099-01-01", "in the future"), (tomorrow, "in the future"),
                        ("2026-11-09", "before the payment")):  # fmt: skip
        refused = await refund(client, world, payment, "10", mode="CHEQUE", refundedOn=on)
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", ["refundedOn"])]
        assert message in refused["errors"][0]["message"]
    for on in ("2026-11-10", TODAY.isoformat()):
        done = await refund(client, world, payment, "10", mode="CHEQUE", refundedOn=on)
        assert done["errors"] == []
    assert await PaymentRefund.all().count() == 2


async def test_credit_refunds_are_dated_from_the_credit_note_to_today(client, world: World) -> None:
    from tests.test_credits import issued

    credit = await issued(client, world, "CREDIT_NOTE", issueDate="2026-11-10")

    async def refund_credit(on: str) -> dict:
        refund_input = {"creditNoteId": credit["id"], "amount": "10", "refundedOn": on}
        body = await gql(
            client, REFUND_CREDIT, {"input": refund_input}, token=world.tokens["staff"]
        )
        return body["data"]["refundCredit"]

    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    for on in ("2099-01-01", tomorrow, "2026-11-09"):
        refused = await refund_credit(on)
        assert refused["errors"] == [{"code": "INVALID", "field": ["refundedOn"]}], on
    done = await refund_credit("2026-11-10")
    assert done["creditNote"] == {"creditsRemaining": {"amount": "90.00"}}
