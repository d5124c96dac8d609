"""A page costs the same number of SQL statements whatever its size: the front ends' document
lists asked for 1, 20 and 100 items, registered (the planned path) and not (graphql-core's)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.documents import DocumentKind, DocumentStatus, LineItem, SalesDocument
from server import document_commands
from server.settings import Settings
from tests.conftest import TODAY, World, app_client

DOCUMENTS = Path(__file__).resolve().parent.parent / "documents"
SIZES = (1, 20, 100)
# A page is the session, the documents and their line items; nothing more may creep in.
MOST_STATEMENTS = {"PortalInvoices": 3, "StaffInvoices": 4}


async def seed_invoices(world: World, count: int, lines: int) -> None:
    for number in range(count):
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
