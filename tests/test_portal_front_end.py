"""What a portal front end reads to build its pages: the portal's public face before login,
the switches that say what a contact may do (each checked against the mutation it governs),
the payment methods an invoice really offers, and paying everything outstanding at once."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest

from models.customers import Customer
from models.payments import Payment
from tests.conftest import World, gid, gql
from tests.sample_files import PDF
from tests.test_documents import SEND, create
from tests.test_online_payments import invoice, pay
from tests.test_shared_files import post_upload

PORTAL = """query($name: String!) { portal(name: $name) { name portalName portalUrl
  signUpOpen mfaRequired languages defaultLanguage passwordMinLength } }"""
FEATURES = """{ viewer { ... on ContactPerson { portal { features {
  forwarding bulkPayments bankDebits reviews uploads detailEdits salesOrders creditNotes
  projects subscriptions } } } } }"""
CONTACT_PORTAL = """query($id: ID!) { node(id: $id) { ... on ContactPerson {
  portal { features { bankDebits forwarding } } } } }"""
PREFERENCES = """mutation($input: UpdatePortalPreferencesInput!) {
  updatePortalPreferences(input: $input) { errors { code } } }"""
PAY_ALL = """mutation($input: PayAllOutstandingInput!) { payAllOutstanding(input: $input) {
  payment { id status amount { amount currency }
    allocations { amount { amount } document { number status } } }
  errors { code field message } } }"""
METHODS = """{ salesDocuments(filter: {kinds: [INVOICE]}) { nodes { number
  ... on Invoice { paymentMethods } } } }"""


async def test_the_login_page_reads_the_portal_by_name_without_logging_in(
    client, world: World
) -> None:
    await world.org_a.filter(id=world.org_a.id).update(locale="de-DE")
    body = await gql(client, PORTAL, {"name": " ALPHA "})
    assert body["data"]["portal"] == {
        "name": "Alpha Trading",
        "portalName": "alpha",
        "portalUrl": body["data"]["portal"]["portalUrl"],
        "signUpOpen": False,
        "mfaRequired": False,
        "languages": ["en", "de", "fr", "es", "it", "nl", "pt", "ja", "ar", "zh"],
        "defaultLanguage": "de",
        "passwordMinLength": 10,
    }
    assert body["data"]["portal"]["portalUrl"].endswith("alpha")
    await gql(client, PREFERENCES, {"input": {"allowSignUp": True, "mfaRequired": True}},
              token=world.tokens["admin"])  # fmt: skip
    opened = (await gql(client, PORTAL, {"name": "alpha"}))["data"]["portal"]
    assert (opened["signUpOpen"], opened["mfaRequired"]) == (True, True)


async def test_an_unknown_portal_is_null_and_nothing_private_is_offered(
    client, world: World
) -> None:
    assert (await gql(client, PORTAL, {"name": "nobody"}))["data"] == {"portal": None}
    private = '{ portal(name: "alpha") { email } }'
    body = await gql(client, private)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def _codes(client, world: World, query: str, variables: dict | None = None) -> set[str]:
    """Every error code an answer carries: GraphQL errors and payload errors alike."""
    body = await gql(client, query, variables, token=world.tokens["contact_a"])
    codes = {error["extensions"]["code"] for error in body.get("errors", [])}
    for result in (body.get("data") or {}).values():
        if isinstance(result, dict):
            codes |= {error["code"] for error in result.get("errors", [])}
    return codes


Probe = Callable[[object, World], Awaitable[set[str]]]


async def _forward(client, world: World) -> set[str]:
    document = await invoice(client, world)
    return await _codes(client, world, """mutation($id: ID!) { forwardSalesDocument(input:
      {id: $id, to: "ap@acorn.example", message: ""}) { errors { code } } }""",
                        {"id": document["id"]})  # fmt: skip


async def _pay_two(client, world: World) -> set[str]:
    first, second = await invoice(client, world), await invoice(client, world)
    result = await pay(client, world, (first, "100"), (second, "100"))
    return {error["code"] for error in result["errors"]}


async def _save_bank_account(client, world: World) -> set[str]:
    return await _codes(client, world, """mutation { addPaymentMethod(input:
      {token: "tok_ach"}) { errors { code } } }""")  # fmt: skip


async def _review(client, world: World) -> set[str]:
    return await _codes(client, world, """mutation($id: ID!) { submitReview(input:
      {requestId: $id, rating: 5, comment: ""}) { errors { code } } }""",
                        {"id": gid("ReviewRequest", world.customer_a)})  # fmt: skip


async def _upload(client, world: World) -> set[str]:
    response = await post_upload(client, PDF, "remittance.pdf", token=world.tokens["contact_a"])
    return {error["code"] for error in response.json()["data"]["uploadSharedFile"]["errors"]}


async def _edit_details(client, world: World) -> set[str]:
    return await _codes(client, world, """mutation { updateMyContactDetails(input:
      {phone: "+1 555 0100"}) { errors { code } } }""")  # fmt: skip


def _listing(query: str) -> Probe:
    async def probe(client, world: World) -> set[str]:
        return await _codes(client, world, query)

    return probe


# Each switch, how to turn it on and off, the request it governs, and the refusal it causes.
SWITCHES: dict[str, tuple[str | None, Probe, str]] = {
    "forwarding": ("allowForwarding", _forward, "FORWARDING_OFF"),
    "bulkPayments": ("allowBulkPayments", _pay_two, "BULK_PAYMENTS_OFF"),
    "bankDebits": (None, _save_bank_account, "METHOD_NOT_ACCEPTED"),
    "reviews": ("customerReviews", _review, "REVIEWS_OFF"),
    "uploads": ("allowUploadsAndDetailEdits", _upload, "UPLOADS_OFF"),
    "detailEdits": ("allowUploadsAndDetailEdits", _edit_details, "DETAIL_EDITS_OFF"),
    "salesOrders": ("showSalesOrders", _listing(
        "{ salesDocuments(filter: {kinds: [SALES_ORDER]}) { totalCount } }"), "FORBIDDEN"),
    "creditNotes": ("showCreditNotes", _listing(
        "{ salesDocuments(filter: {kinds: [CREDIT_NOTE]}) { totalCount } }"), "FORBIDDEN"),
    "projects": ("showProjectsAndTimesheets", _listing("{ projects { totalCount } }"),
                 "FORBIDDEN"),
    "subscriptions": ("showSubscriptions", _listing(
        "{ customerSubscriptions { totalCount } }"), "FORBIDDEN"),
}  # fmt: skip


async def _turn(client, world: World, preference: str | None, on: bool) -> None:
    if preference is None:  # bank debits are each customer's own
        await Customer.filter(id=world.customer_a.id).update(allow_ach=on)
        return
    body = await gql(client, PREFERENCES, {"input": {preference: on}}, token=world.tokens["admin"])
    assert body["data"]["updatePortalPreferences"]["errors"] == []


async def _features(client, world: World) -> dict[str, bool]:
    body = await gql(client, FEATURES, token=world.tokens["contact_a"])
    return body["data"]["viewer"]["portal"]["features"]


def test_every_switch_is_checked_against_its_request() -> None:
    from schema.portal import PortalFeatures

    names = {field.name for field in PortalFeatures.__strawberry_definition__.fields}
    assert set(SWITCHES) == {
        "".join(word.title() if i else word for i, word in enumerate(name.split("_")))
        for name in names
    }


@pytest.mark.parametrize("switch", sorted(SWITCHES))
async def test_a_switch_says_what_its_mutation_does(client, world: World, switch: str) -> None:
    preference, probe, refusal = SWITCHES[switch]
    for on in (False, True):
        await _turn(client, world, preference, on)
        assert (await _features(client, world))[switch] is on
        refused = refusal in await probe(client, world)
        assert refused is not on, (switch, on)


async def test_staff_see_what_a_contact_may_do_and_other_contacts_do_not(
    client, world: World
) -> None:
    await Customer.filter(id=world.customer_a.id).update(allow_ach=True)
    variables = {"id": gid("ContactPerson", world.contact_a)}
    body = await gql(client, CONTACT_PORTAL, variables, token=world.tokens["staff"])
    assert body["data"]["node"]["portal"]["features"] == {"bankDebits": True, "forwarding": True}
    other = await gql(client, CONTACT_PORTAL, variables, token=world.tokens["contact_b"])
    assert other["data"]["node"] is None or other["errors"][0]["extensions"]["code"] in {
        "FORBIDDEN"
    }


async def test_payment_methods_leave_out_bank_debits_the_customer_may_not_use(
    client, world: World
) -> None:
    document = await create(client, world, paymentMethods=["CARD", "ACH"])
    await gql(client, SEND, {"id": document["id"]}, token=world.tokens["staff"])
    for token in ("contact_a", "staff"):
        body = await gql(client, METHODS, token=world.tokens[token])
        assert body["data"]["salesDocuments"]["nodes"][0]["paymentMethods"] == ["CARD"]
    await Customer.filter(id=world.customer_a.id).update(allow_ach=True)
    body = await gql(client, METHODS, token=world.tokens["contact_a"])
    assert body["data"]["salesDocuments"]["nodes"][0]["paymentMethods"] == ["CARD", "ACH"]
    card_only = await create(client, world, paymentMethods=["CARD"])
    await gql(client, SEND, {"id": card_only["id"]}, token=world.tokens["staff"])
    body = await gql(client, METHODS, token=world.tokens["contact_a"])
    offered = {n["number"]: n["paymentMethods"] for n in body["data"]["salesDocuments"]["nodes"]}
    assert offered == {document["number"]: ["CARD", "ACH"], card_only["number"]: ["CARD"]}


async def test_payment_methods_cost_the_same_statements_for_any_number_of_invoices(
    client, world: World, count_queries
) -> None:
    await Customer.filter(id=world.customer_a.id).update(allow_ach=True)
    await gql(client, METHODS, token=world.tokens["contact_a"])  # what a process reads once
    counts = []
    for _ in range(2):
        for _ in range(3):
            document = await create(client, world, paymentMethods=["CARD", "ACH"])
            await gql(client, SEND, {"id": document["id"]}, token=world.tokens["staff"])
        count_queries.reset()
        await gql(client, METHODS, token=world.tokens["contact_a"])
        counts.append(count_queries.count)
    assert counts[0] == counts[1]


async def _pay_all(client, world: World, **more: object) -> dict:
    variables = {"input": {"idempotencyKey": uuid.uuid4().hex, "token": "tok_visa", **more}}
    body = await gql(client, PAY_ALL, variables, token=world.tokens["contact_a"])
    assert "errors" not in body, body
    return body["data"]["payAllOutstanding"]


async def test_paying_all_outstanding_pays_each_open_invoice_in_full(client, world: World) -> None:
    older = await invoice(client, world, rate="100", issueDate="2026-10-01")
    newer = await invoice(client, world, rate="25.50")
    await invoice(client, world, rate="5", paymentMethods=[])  # not payable online
    other_customer = await create(client, world, customerId=gid("Customer", world.customer_b))
    await gql(client, SEND, {"id": other_customer["id"]}, token=world.tokens["staff"])
    result = await _pay_all(client, world)
    assert result["errors"] == []
    payment = result["payment"]
    assert (payment["status"], payment["amount"]) == (
        "SUCCEEDED", {"amount": "125.50", "currency": "USD"}
    )  # fmt: skip
    assert [(a["document"]["number"], a["amount"]["amount"], a["document"]["status"])
            for a in payment["allocations"]] == [
        (older["number"], "100.00", "PAID"), (newer["number"], "25.50", "PAID")
    ]  # fmt: skip
    again = await _pay_all(client, world)
    assert [e["code"] for e in again["errors"]] == ["NOTHING_OUTSTANDING"]
    assert again["payment"] is None


async def test_paying_all_again_with_the_same_key_returns_the_first_payment(
    client, world: World
) -> None:
    await invoice(client, world)
    key = uuid.uuid4().hex
    first = await _pay_all(client, world, idempotencyKey=key)
    await invoice(client, world)  # what is outstanding changed; the request did not
    repeat = await _pay_all(client, world, idempotencyKey=key)
    assert repeat["payment"]["id"] == first["payment"]["id"]
    assert await Payment.filter(customer_id=world.customer_a.id).count() == 1


async def test_paying_all_leaves_out_invoices_being_paid_and_asks_for_a_currency(
    client, world: World
) -> None:
    await Customer.filter(id=world.customer_a.id).update(allow_ach=True)
    pending = await invoice(client, world, paymentMethods=["CARD", "ACH"])
    assert (await pay(client, world, (pending, "100"), token="tok_ach"))["errors"] == []
    await Customer.filter(id=world.customer_a.id).update(currency="EUR")
    euros = await invoice(client, world, rate="10")
    await Customer.filter(id=world.customer_a.id).update(currency="USD")
    dollars = await invoice(client, world, rate="20")
    asked = await _pay_all(client, world)
    assert [(e["code"], e["field"]) for e in asked["errors"]] == [("REQUIRED", ["currency"])]
    paid = await _pay_all(client, world, currency="usd")
    assert [a["document"]["number"] for a in paid["payment"]["allocations"]] == [dollars["number"]]
    paid = await _pay_all(client, world, currency="EUR")
    assert [a["document"]["number"] for a in paid["payment"]["allocations"]] == [euros["number"]]


async def test_paying_all_needs_bulk_payments(client, world: World) -> None:
    await invoice(client, world)
    await _turn(client, world, "allowBulkPayments", False)
    refused = await _pay_all(client, world)
    assert [e["code"] for e in refused["errors"]] == ["BULK_PAYMENTS_OFF"]
    assert await Payment.all().count() == 0
    staff = await gql(client, PAY_ALL, {"input": {"idempotencyKey": "k" * 10}},
                      token=world.tokens["staff"])  # fmt: skip
    assert staff["errors"][0]["extensions"]["code"] == "FORBIDDEN"
