"""The demo organization shows every part of the portal, conversation included."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from server import demo
from tests.conftest import TODAY, gql
from tests.test_authentication import LOGIN, PORTAL_LOGIN

THREADS = """{ salesDocuments(filter: {kinds: [INVOICE]}, first: 20) { nodes {
  id comments { nodes { authorName body } } } } }"""
THREAD = "query($id: ID!) { salesDocument(id: $id) { comments { totalCount } } }"
REPORT = """query($from: Date!, $to: Date!) { reviewReport(from: $from, to: $to) {
  count averageRating countsByRating { rating count } } }"""


async def test_the_demo_has_comments_reviews_and_editable_fields(client, db) -> None:
    assert await demo.load_demo()
    staff = await gql(client, LOGIN, {"email": demo.ADMIN_EMAIL, "password": demo.ADMIN_PASSWORD})
    staff_token = staff["data"]["login"]["token"]
    contact = await gql(
        client,
        PORTAL_LOGIN,
        {"portal": demo.DEMO_PORTAL, "email": demo.CONTACT_EMAIL,
         "password": demo.CONTACT_PASSWORD},
    )  # fmt: skip
    contact_token = contact["data"]["portalLogin"]["token"]

    seen = await gql(client, THREADS, token=contact_token)
    [discussed] = [n for n in seen["data"]["salesDocuments"]["nodes"] if n["comments"]["nodes"]]
    authors = [comment["authorName"] for comment in discussed["comments"]["nodes"]]
    assert authors == ["Maria Lopez", "Alex Admin"]  # the internal comment is the staff's own
    staff_seen = await gql(client, THREAD, {"id": discussed["id"]}, token=staff_token)
    assert staff_seen["data"]["salesDocument"]["comments"]["totalCount"] == 3

    today = TODAY
    report = await gql(
        client,
        REPORT,
        {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()},
        token=staff_token,
    )
    figures = report["data"]["reviewReport"]
    assert (figures["count"], figures["averageRating"]) == (4, "4.25")

    fields = await gql(
        client,
        "{ customFieldDefinitions(filter: {editableInPortal: true}) { nodes { name } } }",
        token=contact_token,
    )
    assert fields["data"]["customFieldDefinitions"]["nodes"] == [{"name": "PO reference"}]


LOS_ANGELES = ZoneInfo("America/Los_Angeles")
DEMO_DAY = date(2026, 11, 25)
HOURS = [  # late and early in Los Angeles, and on each side of midnight UTC
    datetime.combine(DEMO_DAY, at, tzinfo=LOS_ANGELES) for at in (time(23, 30), time(0, 30))
] + [datetime(2026, 11, 25, 23, 30, tzinfo=UTC), datetime(2026, 11, 26, 0, 30, tzinfo=UTC)]
MARIAS_VIEW = """{ portalHome { organization { today } overdueInvoices { amount } }
  salesDocuments(first: 20) { nodes { __typename number status issueDate
    ... on Payable { dueDate } ... on Quote { expiryDate } } }
  payments(first: 20) { nodes { paidOn } } }"""


@pytest.mark.parametrize(
    "started", [pytest.param(None, marks=pytest.mark.clock(at), id=f"{at:%H%M%z}") for at in HOURS]
)
@pytest.mark.slow
async def test_the_demo_reads_the_same_whenever_it_is_loaded(client, db, started) -> None:
    assert await demo.load_demo()
    login = {"portal": demo.DEMO_PORTAL, "email": demo.CONTACT_EMAIL,
             "password": demo.CONTACT_PASSWORD}  # fmt: skip
    token = (await gql(client, PORTAL_LOGIN, login))["data"]["portalLogin"]["token"]
    seen = (await gql(client, MARIAS_VIEW, token=token))["data"]
    today = date.fromisoformat(seen["portalHome"]["organization"]["today"])
    assert today == datetime.now(LOS_ANGELES).date()
    documents = seen["salesDocuments"]["nodes"]
    assert sorted((d["__typename"], d["status"]) for d in documents) == [
        ("CreditNote", "SENT"),
        ("Invoice", "OVERDUE"),
        ("Invoice", "PAID"),
        ("Invoice", "PARTIALLY_PAID"),
        ("Quote", "SENT"),
        ("RetainerInvoice", "PAID"),
        ("SalesOrder", "CONFIRMED"),
    ]
    assert max(date.fromisoformat(d["issueDate"]) for d in documents) == today - timedelta(3)
    assert max(date.fromisoformat(p["paidOn"]) for p in seen["payments"]["nodes"]) < today
    assert seen["portalHome"]["overdueInvoices"] != []
