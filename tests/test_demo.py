"""The demo organization shows every part of the portal, conversation included."""

from __future__ import annotations

from datetime import date, timedelta

from server import demo
from tests.conftest import gql
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

    today = date.today()
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
