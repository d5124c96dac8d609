from __future__ import annotations

import asyncio
from decimal import Decimal

from strawberry.relay import GlobalID

from auth.principals import StaffPrincipal
from models.documents import CreditUse, DocumentStatus, SalesDocument
from resolvers import credits
from resolvers.errors import Rejected
from tests.conftest import World, gql
from tests.test_documents import SEND, create

APPLY = """mutation($credit: ID!, $invoice: ID!, $amount: Decimal!) {
  applyCredit(input: {creditNoteId: $credit, invoiceId: $invoice, amount: $amount}) {
    creditNote { status creditsRemaining { amount } }
    invoice { status balanceDue { amount } creditsApplied { amount { amount } } }
    errors { code field } } }"""
LINES = [{"name": "Item", "quantity": "1", "rate": "100"}]


async def issued(client, world: World, kind: str, **overrides) -> dict:
    document = await create(client, world, kind=kind, lineItems=LINES, **overrides)
    await gql(client, SEND, {"id": document["id"]}, token=world.tokens["staff"])
    return document


async def test_apply_part_then_the_rest(client, world: World) -> None:
    credit = await issued(client, world, "CREDIT_NOTE")
    invoice = await issued(client, world, "INVOICE")
    staff = world.tokens["staff"]
    body = await gql(client, APPLY, {"credit": credit["id"], "invoice": invoice["id"],
                                     "amount": "30.00"}, token=staff)  # fmt: skip
    result = body["data"]["applyCredit"]
    assert result["errors"] == []
    assert result["creditNote"] == {"status": "SENT", "creditsRemaining": {"amount": "70.00"}}
    assert result["invoice"]["status"] == "PARTIALLY_PAID"
    assert result["invoice"]["balanceDue"] == {"amount": "70.00"}
    too_much = await gql(client, APPLY, {"credit": credit["id"], "invoice": invoice["id"],
                                         "amount": "70.01"}, token=staff)  # fmt: skip
    assert too_much["data"]["applyCredit"]["errors"] == [
        {"code": "EXCEEDS_BALANCE", "field": ["amount"]}
    ]
    finer = await gql(client, APPLY, {"credit": credit["id"], "invoice": invoice["id"],
                                      "amount": "0.001"}, token=staff)  # fmt: skip
    assert finer["data"]["applyCredit"]["errors"][0]["code"] == "INVALID_AMOUNT"
    body = await gql(client, APPLY, {"credit": credit["id"], "invoice": invoice["id"],
                                     "amount": "70"}, token=staff)  # fmt: skip
    result = body["data"]["applyCredit"]
    assert result["creditNote"]["status"] == "CLOSED"
    assert result["invoice"]["status"] == "PAID"
    assert [u["amount"]["amount"] for u in result["invoice"]["creditsApplied"]] == [
        "30.00",
        "70.00",
    ]


async def test_credit_only_meets_the_same_customer_and_currency(client, world: World) -> None:
    from models.customers import Customer
    from tests.conftest import gid

    credit = await issued(client, world, "CREDIT_NOTE")
    other = await issued(client, world, "INVOICE", customerId=gid("Customer", world.customer_b))
    staff = world.tokens["staff"]
    body = await gql(client, APPLY, {"credit": credit["id"], "invoice": other["id"],
                                     "amount": "1"}, token=staff)  # fmt: skip
    assert body["data"]["applyCredit"]["errors"] == [{"code": "INVALID", "field": None}]
    await Customer.filter(id=world.customer_a.id).update(currency="EUR")
    euro = await issued(client, world, "INVOICE")
    body = await gql(client, APPLY, {"credit": credit["id"], "invoice": euro["id"],
                                     "amount": "1"}, token=staff)  # fmt: skip
    assert body["data"]["applyCredit"]["errors"] == [{"code": "CURRENCY_MISMATCH", "field": None}]
    assert await CreditUse.all().count() == 0


async def test_concurrent_applications_never_overdraw(client, world: World) -> None:
    credit = await issued(client, world, "CREDIT_NOTE")
    invoices = [await issued(client, world, "INVOICE") for _ in range(4)]
    principal = StaffPrincipal(world.staff)
    ids = [int(GlobalID.from_id(invoice["id"]).node_id) for invoice in invoices]
    credit_id = int(GlobalID.from_id(credit["id"]).node_id)

    async def attempt(invoice_id: int) -> bool:
        try:
            await credits.apply_credit(principal, credit_id, invoice_id, Decimal("40"))
        except Rejected:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt(i) for i in ids))
    assert outcomes.count(True) == 2  # 2 x 40 fit in 100, a third would not
    stored = await SalesDocument.get(id=credit_id)
    assert stored.balance_minor == 2000
    assert sum(u.amount_minor for u in await CreditUse.all()) == 8000


async def test_refunds_use_up_credit_and_contacts_see_where_it_went(client, world: World) -> None:
    credit = await issued(client, world, "CREDIT_NOTE")
    refund = """mutation($id: ID!) { refundCredit(input: {creditNoteId: $id, amount: "100",
      reference: "Cheque 1042"}) { creditNote { status creditsRemaining { amount } }
      errors { code } } }"""
    body = await gql(client, refund, {"id": credit["id"]}, token=world.tokens["staff"])
    assert body["data"]["refundCredit"]["creditNote"] == {
        "status": "CLOSED",
        "creditsRemaining": {"amount": "0.00"},
    }
    seen = """query($id: ID!) { salesDocument(id: $id) { ... on CreditNote {
      uses { kind amount { amount } reference invoice { number } } } } }"""
    mine = await gql(client, seen, {"id": credit["id"]}, token=world.tokens["contact_a"])
    assert mine["data"]["salesDocument"]["uses"] == [
        {"kind": "REFUNDED", "amount": {"amount": "100.00"}, "reference": "Cheque 1042",
         "invoice": None}
    ]  # fmt: skip
    other = await gql(client, seen, {"id": credit["id"]}, token=world.tokens["contact_b"])
    assert other["data"]["salesDocument"] is None
    again = await gql(client, refund, {"id": credit["id"]}, token=world.tokens["staff"])
    assert again["data"]["refundCredit"]["errors"] == [{"code": "INVALID_TRANSITION"}]
    assert (await SalesDocument.get(number="CN-000001")).status == DocumentStatus.CLOSED


async def test_a_used_credit_note_cannot_be_voided(client, world: World) -> None:
    credit = await issued(client, world, "CREDIT_NOTE")
    invoice = await issued(client, world, "INVOICE")
    await gql(client, APPLY, {"credit": credit["id"], "invoice": invoice["id"], "amount": "10"},
              token=world.tokens["staff"])  # fmt: skip
    void = await gql(
        client,
        "mutation($id: ID!) { voidSalesDocument(input: {id: $id}) { errors { code } } }",
        {"id": credit["id"]},
        token=world.tokens["staff"],
    )
    assert void["data"]["voidSalesDocument"]["errors"] == [{"code": "INVALID_TRANSITION"}]


async def test_a_hidden_credit_note_is_not_shown_through_the_invoice_it_paid(
    client, world: World
) -> None:
    """With credit notes hidden, the contact still sees what was credited on the invoice, but
    the credit note itself is refused there as it is by id."""
    credit = await issued(client, world, "CREDIT_NOTE")
    invoice = await issued(client, world, "INVOICE")
    await gql(client, APPLY, {"credit": credit["id"], "invoice": invoice["id"], "amount": "30"},
              token=world.tokens["staff"])  # fmt: skip
    query = """query($id: ID!) { salesDocument(id: $id) { ... on Invoice {
      creditsApplied { amount { amount } creditNote { number total { amount } } } } } }"""
    contact = world.tokens["contact_a"]
    shown = await gql(client, query, {"id": invoice["id"]}, token=contact)
    assert shown["data"]["salesDocument"]["creditsApplied"] == [
        {"amount": {"amount": "30.00"}, "creditNote": {"number": "CN-000001",
                                                       "total": {"amount": "100.00"}}}
    ]  # fmt: skip
    await gql(client, "mutation { updatePortalPreferences(input: {showCreditNotes: false}) "
              "{ errors { code } } }", token=world.tokens["admin"])  # fmt: skip
    hidden = await gql(client, query, {"id": invoice["id"]}, token=contact)
    assert hidden["data"]["salesDocument"]["creditsApplied"] == [
        {"amount": {"amount": "30.00"}, "creditNote": None}
    ]
    assert [e["extensions"]["code"] for e in hidden["errors"]] == ["FORBIDDEN"]
    assert hidden["errors"][0]["path"] == ["salesDocument", "creditsApplied", 0, "creditNote"]
    staff = await gql(client, query, {"id": invoice["id"]}, token=world.tokens["staff"])
    assert staff["data"]["salesDocument"]["creditsApplied"][0]["creditNote"]["number"] == (
        "CN-000001"
    )
