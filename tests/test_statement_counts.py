"""A page costs the same number of SQL statements whatever its size: the front ends' document
lists asked for 1, 20 and 100 items, registered (the planned path) and not (graphql-core's).
So does paying online, however many invoices one payment pays."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.documents import DocumentKind, DocumentStatus, LineItem, SalesDocument
from server import document_commands
from server.settings import Settings
from tests.conftest import TODAY, World, app_client, gid

DOCUMENTS = Path(__file__).resolve().parent.parent / "documents"
SIZES = (1, 20, 100)
# A page is the session, the documents and their line items; nothing more may creep in.
MOST_STATEMENTS = {"PortalInvoices": 3, "StaffInvoices": 4}


async def seed_invoices(world: World, count: int, lines: int, first: int = 0) -> None:
    for number in range(first, first + count):
        invoice = await SalesDocument.create(
            organization=world.org_a,
            customer=world.customer_a,
            kind=DocumentKind.INVOICE,
            number=f"INV-{number:06}",
            status=DocumentStatus.SENT,
            currency="USD",
            issue_date=TODAY - timedelta(days=number),
            due_date=TODAY + timedelta(days=30 - number),
            subtotal_minor=1500 * lines,
            total_minor=1500 * lines,
            balance_minor=1500 * lines,
            payment_methods=["card"],
        )
        await LineItem.bulk_create(
            [
                LineItem(
                    document=invoice,
                    position=position,
                    name=f"Item {position}",
                    quantity=Decimal(3),
                    rate=Decimal("5.00"),
                    amount_minor=1500,
                )
                for position in range(lines)
            ]
        )


async def statements_of(
    http: httpx.AsyncClient, count_queries: Any, text: str, operation: str, first: int, token: str
) -> int:
    count_queries.reset()
    response = await http.post(
        "/graphql",
        json={"query": text, "operationName": operation, "variables": {"first": first}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert "errors" not in body, body
    assert len(body["data"]["salesDocuments"]["nodes"]) == first
    return count_queries.count


@pytest.mark.parametrize(
    ("file", "operation", "who"),
    [("portal", "PortalInvoices", "contact_a"), ("staff", "StaffInvoices", "staff")],
)
async def test_a_page_costs_the_same_statements_at_any_size(
    db: Settings, world: World, count_queries: Any, file: str, operation: str, who: str
) -> None:
    registered = (DOCUMENTS / f"{file}.graphql").read_text()
    await document_commands.register(document_commands.read([DOCUMENTS / f"{file}.graphql"]))
    await seed_invoices(world, max(SIZES), lines=3)
    async with app_client(db) as http:
        token = world.tokens[who]
        # The first request of a session also records that it was seen: warm it up.
        await statements_of(http, count_queries, registered, operation, 1, token)
        for text in (registered, registered + "\n"):  # planned, then graphql-core's path
            counts = [
                await statements_of(http, count_queries, text, operation, first, token)
                for first in SIZES
            ]
            assert counts == [counts[0]] * len(SIZES), (operation, counts)
            assert counts[0] <= MOST_STATEMENTS[operation], count_queries.statements


PAY = """mutation($input: PayInvoicesInput!) { payInvoices(input: $input) {
  payment { number status amount { amount } } errors { code } } }"""
# The session; the attempt (the idempotency key, the invoices locked, what payments in flight
# hold of them, the number, the payment, its allocations, the key's payment); the outcome (the
# payment locked, the invoices with what it pays of each, their balances, the receipt, the
# payment, the activity stream's top, the activity, the staff notified). PostgreSQL also locks
# the organization's activity stream.
MOST_FOR_PAYING = {"sqlite": 16, "postgres": 17}


async def paying(http: httpx.AsyncClient, count_queries: Any, world: World, invoices: int) -> int:
    """The statements of one payInvoices request paying that many fresh invoices in full."""
    await seed_invoices(world, invoices, lines=1, first=await SalesDocument.all().count())
    fresh = await SalesDocument.filter(organization=world.org_a).order_by("-id").limit(invoices)
    allocations = [{"documentId": gid("Invoice", row), "amount": "15.00"} for row in fresh]
    payment_input = {"idempotencyKey": uuid.uuid4().hex, "allocations": allocations,
                     "token": "tok_visa"}  # fmt: skip
    count_queries.reset()
    response = await http.post(
        "/graphql",
        json={"query": PAY, "variables": {"input": payment_input}},
        headers={"Authorization": f"Bearer {world.tokens['contact_a']}"},
    )
    paid = response.json()["data"]["payInvoices"]
    assert (paid["errors"], paid["payment"]["status"]) == ([], "SUCCEEDED"), paid
    assert paid["payment"]["amount"] == {"amount": f"{15 * invoices}.00"}
    return count_queries.count


async def test_paying_five_invoices_costs_the_statements_of_paying_one(
    db: Settings, world: World, count_queries: Any, backend: str
) -> None:
    async with app_client(db) as http:
        # The first payment creates the organization's preferences and payment number series.
        await paying(http, count_queries, world, 1)
        one = await paying(http, count_queries, world, 1)
        five = await paying(http, count_queries, world, 5)
    assert one == five, count_queries.statements
    assert five <= MOST_FOR_PAYING[backend], count_queries.statements
