"""Payment receipts: the contact who paid gets one, in their language, with what it paid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from auth.principals import StaffPrincipal
from models.customers import ContactPerson, Customer
from models.documents import SalesDocument
from models.organizations import Organization
from models.outbox import OutboxMessage
from models.payments import (
    MethodKind,
    Payment,
    PaymentAllocation,
    PaymentKind,
    PaymentMode,
    PaymentStatus,
    SavedPaymentMethod,
)
from resolvers import links, transactions
from resolvers.balances import settle
from resolvers.documents import create_document, send_document
from resolvers.receipts import enqueue_receipt
from tests.conftest import QueryCounter, World, email_body

PAID_ON = date(2026, 4, 2)


async def invoice(world: World, rate: str) -> SalesDocument:
    staff = StaffPrincipal(world.staff)
    line = {"name": "Consulting", "quantity": 1, "rate": Decimal(rate)}
    document = await create_document(
        staff, {"customer_id": world.customer_a.id, "kind": "INVOICE", "line_items": [line]}
    )
    await send_document(staff, document.id)
    return await SalesDocument.get(id=document.id)


async def card(world: World, **details: Any) -> SavedPaymentMethod:
    values = {"kind": MethodKind.CARD, "brand": "visa", "last4": "4242", **details}
    return await SavedPaymentMethod.create(
        organization_id=world.org_a.id, customer_id=world.customer_a.id, gateway="test",
        token=f"tok_{values['last4']}", **values,
    )  # fmt: skip


async def pay(
    world: World, *allocations: tuple[SalesDocument, int], **more: Any
) -> tuple[Payment, list[SalesDocument]]:
    """A succeeded payment of the given amounts, its invoices' balances taken down as paying
    online does, and its receipt queued in the same unit of work."""
    values = {"mode": PaymentMode.CARD, "paid_by_id": world.contact_a.id, **more}
    async with transactions.unit_of_work():
        payment = await Payment.create(
            organization_id=world.org_a.id, customer_id=world.customer_a.id, number="PAY-000012",
            kind=PaymentKind.INVOICE_PAYMENT, status=PaymentStatus.SUCCEEDED, currency="USD",
            amount_minor=sum(minor for _, minor in allocations), paid_on=PAID_ON, gateway="test",
            gateway_reference="ch_test_0001", **values,
        )  # fmt: skip
        for document, minor in allocations:
            await PaymentAllocation.create(
                organization_id=world.org_a.id, customer_id=world.customer_a.id,
                payment=payment, document=document, amount_minor=minor, applied_on=PAID_ON,
            )  # fmt: skip
        await settle(allocations)
        documents = [document for document, _ in allocations]
        await enqueue_receipt(payment, allocations)
    return payment, documents


async def test_receipt_goes_to_the_payer_with_what_each_invoice_got(
    world: World, count_queries: QueryCounter
) -> None:
    await Organization.filter(id=world.org_a.id).update(email="billing@alpha.example")
    first, second = await invoice(world, "100"), await invoice(world, "50")
    visa = await card(world)
    count_queries.reset()

    await pay(world, (first, 10000), (second, 2050), payment_method_id=visa.id)

    # The two inserts only: the receipt is written from the documents the payment paid.
    assert count_queries.touching("payment_allocation") == 2
    [row] = await OutboxMessage.all()
    assert row.to_address == "ann@acorn.example"
    assert row.reply_to == "billing@alpha.example"
    assert row.organization_id == world.org_a.id
    assert row.template == "payment_receipt"
    assert row.subject == "Payment receipt PAY-000012 from Alpha Trading"
    text = email_body(row).text
    assert text.startswith("Hello Acorn Contact,\n")
    assert "We received your payment of $120.50 on April 2, 2026. Thank you." in text
    assert "Payment number: PAY-000012\n" in text
    assert "Payment method: Visa ending 4242\n" in text
    assert "Transaction ID: ch_test_0001\n" in text
    assert "INV-000001\n  Amount paid: $100.00\n  Balance due: $0.00\n" in text
    assert "INV-000002\n  Amount paid: $20.50\n  Balance due: $29.50\n" in text
    assert links.current().portal("alpha") in text
    html = email_body(row).html
    assert "<title>Payment receipt PAY-000012 from Alpha Trading</title>" in html
    for shown in ("$120.50", "Visa ending 4242", "ch_test_0001", "INV-000002", "$29.50"):
        assert shown in html


async def test_a_german_contact_gets_it_in_german(world: World) -> None:
    await Customer.filter(id=world.customer_a.id).update(portal_language="de")
    first = await invoice(world, "200")

    await pay(world, (first, 12050), mode=PaymentMode.ACH)

    [row] = await OutboxMessage.all()
    assert row.subject == "Zahlungsbestätigung PAY-000012 von Alpha Trading"
    assert row.reply_to == ""  # the organization has no email address
    text = email_body(row).text
    assert text.startswith("Hallo Acorn Contact,\n")
    # CLDR puts a no-break space between a German amount and its currency.
    assert "Wir haben Ihre Zahlung über 120,50\xa0$ am 2. April 2026 erhalten." in text
    assert "Zahlungsart: Bankkonto (ACH-Lastschrift)\n" in text
    assert "INV-000001\n  Gezahlter Betrag: 120,50\xa0$\n  Offener Betrag: 79,50\xa0$\n" in text
    assert '<html lang="de">' in email_body(row).html


@pytest.mark.parametrize(
    ("saved", "mode", "method"),
    [
        ({"brand": "mastercard", "last4": "4444"}, PaymentMode.CARD, "Mastercard ending 4444"),
        ({"kind": MethodKind.BANK_ACCOUNT, "brand": "", "bank_name": "Test Bank",
          "last4": "6789"}, PaymentMode.ACH, "Test Bank account ending 6789"),
        (None, PaymentMode.CARD, "Card"),
        (None, PaymentMode.ACH, "Bank account (ACH)"),
    ],
)  # fmt: skip
async def test_names_the_method_as_far_as_it_is_known(
    world: World, saved: dict[str, Any] | None, mode: PaymentMode, method: str
) -> None:
    saved_id = (await card(world, **saved)).id if saved else None
    await pay(world, (await invoice(world, "10"), 1000), mode=mode, payment_method_id=saved_id)
    [row] = await OutboxMessage.all()
    assert f"Payment method: {method}\n" in email_body(row).text


@pytest.mark.parametrize("payer", ["nobody", "no address"])
async def test_no_receipt_without_a_payer_to_send_it_to(world: World, payer: str) -> None:
    if payer == "no address":
        await ContactPerson.filter(id=world.contact_a.id).update(email="")
    paid_by_id = world.contact_a.id if payer == "no address" else None
    await pay(world, (await invoice(world, "10"), 1000), paid_by_id=paid_by_id)
    assert await OutboxMessage.all().count() == 0


class Abort(Exception):
    pass


async def test_no_receipt_when_the_payment_does_not_commit(world: World) -> None:
    document = await invoice(world, "10")
    with pytest.raises(Abort):
        async with transactions.unit_of_work():
            await pay(world, (document, 1000))
            raise Abort
    assert await OutboxMessage.all().count() == 0
    assert await Payment.all().count() == 0
