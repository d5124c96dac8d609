from __future__ import annotations

import re
from datetime import timedelta

import pytest
from strawberry.relay import GlobalID

from models.documents import DocumentStatus, SalesDocument
from tests.conftest import TODAY, World, error_codes, gid, gql

CREATE = """mutation($input: CreateSalesDocumentInput!) { createSalesDocument(input: $input) {
  salesDocument { id number status total { amount currency } subtotal { amount }
    tax { amount } discount { amount }
    ... on Invoice { balanceDue { amount } dueDate paymentMethods allowPartialPayments }
    lineItems { name amount { amount } discount { amount } } }
  errors { code field message } } }"""
SEND = """mutation($id: ID!) { sendSalesDocument(input: {id: $id}) {
  salesDocument { status sentAt } errors { code } } }"""
LIST = """query($filter: SalesDocumentFilter) { salesDocuments(filter: $filter) {
  totalCount nodes { __typename number status } } }"""


def invoice_input(world: World, **overrides):
    return {
        "kind": "INVOICE",
        "customerId": gid("Customer", world.customer_a),
        "paymentTermsDays": 30,
        "issueDate": "2026-11-01",
        "paymentMethods": ["CARD", "ACH"],
        "lineItems": [
            {"name": "Widget", "quantity": "3", "rate": "19.995", "discountPercent": "10",
             "taxPercent": "8.25"},
            {"name": "Screws", "quantity": "1.5", "rate": "0.333", "taxPercent": "8.25"},
        ],
        **overrides,
    }  # fmt: skip


async def create(client, world: World, **overrides) -> dict:
    body = await gql(client, CREATE, {"input": invoice_input(world, **overrides)},
                     token=world.tokens["staff"])  # fmt: skip
    result = body["data"]["createSalesDocument"]
    assert result["errors"] == [], result
    return result["salesDocument"]


async def test_staff_create_a_draft_with_server_computed_totals(client, world: World) -> None:
    invoice = await create(client, world)
    assert invoice["number"] == "INV-000001" and invoice["status"] == "DRAFT"
    assert invoice["subtotal"] == {"amount": "60.49"}
    assert invoice["discount"] == {"amount": "6.00"}
    assert invoice["tax"] == {"amount": "4.50"}
    assert invoice["total"] == {"amount": "58.99", "currency": "USD"}
    assert invoice["balanceDue"] == {"amount": "58.99"}
    assert invoice["dueDate"] == "2026-12-01"
    assert invoice["paymentMethods"] == ["CARD"]  # customer A may not pay by bank account
    assert [line["amount"]["amount"] for line in invoice["lineItems"]] == ["59.99", "0.50"]
    second = await create(client, world)
    assert second["number"] == "INV-000002"
    quote = await create(client, world, kind="QUOTE")
    assert quote["number"] == "QT-000001"


async def test_bad_lines_are_refused_with_every_problem(client, world: World) -> None:
    lines = [{"name": "", "quantity": "0", "rate": "-1", "taxPercent": "120"}]
    body = await gql(client, CREATE, {"input": invoice_input(world, lineItems=lines,
                     dueDate="2026-10-01")}, token=world.tokens["staff"])  # fmt: skip
    errors = {(tuple(e["field"]), e["code"]) for e in body["data"]["createSalesDocument"]["errors"]}
    assert errors == {
        (("lineItems", "0", "name"), "REQUIRED"),
        (("lineItems", "0", "quantity"), "INVALID_AMOUNT"),
        (("lineItems", "0", "rate"), "INVALID_AMOUNT"),
        (("lineItems", "0", "taxPercent"), "INVALID"),
    }
    assert await SalesDocument.all().count() == 0


async def test_contacts_see_only_their_customers_sent_documents(client, world: World) -> None:
    invoice = await create(client, world)
    await create(client, world, customerId=gid("Customer", world.customer_b))
    mine = await gql(client, LIST, token=world.tokens["contact_a"])
    assert mine["data"]["salesDocuments"]["totalCount"] == 0  # a draft is not shown
    node = "query($id: ID!) { node(id: $id) { ... on Invoice { number } } }"
    assert (await gql(client, node, {"id": invoice["id"]},
                      token=world.tokens["contact_a"]))["data"]["node"] is None  # fmt: skip

    sent = await gql(client, SEND, {"id": invoice["id"]}, token=world.tokens["staff"])
    assert sent["data"]["sendSalesDocument"]["salesDocument"]["status"] == "SENT"
    mine = await gql(client, LIST, token=world.tokens["contact_a"])
    assert mine["data"]["salesDocuments"]["nodes"] == [
        {"__typename": "Invoice", "number": "INV-000001", "status": "SENT"}
    ]
    for other in ("contact_b", "contact_other_org", "staff_other_org"):
        body = await gql(client, LIST, token=world.tokens[other])
        assert body["data"]["salesDocuments"]["totalCount"] == 0, other
        by_node = await gql(client, node, {"id": invoice["id"]}, token=world.tokens[other])
        assert by_node["data"]["node"] is None, other
    staff_only = "query($id: ID!) { node(id: $id) { ... on Invoice { internalNotes } } }"
    body = await gql(client, staff_only, {"id": invoice["id"]}, token=world.tokens["contact_a"])
    assert error_codes(body) == ["FORBIDDEN"]
    assert error_codes(await gql(client, LIST, token=world.tokens["partner"])) == ["FORBIDDEN"]


async def test_a_node_id_of_another_kind_finds_nothing(client, world: World) -> None:
    invoice = await create(client, world)
    as_quote = str(GlobalID("Quote", GlobalID.from_id(invoice["id"]).node_id))
    body = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": as_quote},
                     token=world.tokens["staff"])  # fmt: skip
    assert body["data"]["node"] is None


async def test_sales_orders_and_credit_notes_follow_the_preferences(client, world: World) -> None:
    for kind in ("SALES_ORDER", "CREDIT_NOTE", "INVOICE"):
        document = await create(client, world, kind=kind)
        await gql(client, SEND, {"id": document["id"]}, token=world.tokens["staff"])
    token = world.tokens["contact_a"]
    everything = await gql(client, LIST, token=token)
    assert everything["data"]["salesDocuments"]["totalCount"] == 3
    switch = """mutation { updatePortalPreferences(input: {showSalesOrders: false,
      showCreditNotes: false}) { errors { code } } }"""
    await gql(client, switch, token=world.tokens["admin"])
    orders = await gql(client, LIST, {"filter": {"kinds": ["SALES_ORDER"]}}, token=token)
    assert error_codes(orders) == ["FORBIDDEN"]
    assert "sales orders" in orders["errors"][0]["message"]
    rest = await gql(client, LIST, token=token)
    assert rest["data"]["salesDocuments"]["nodes"][0]["__typename"] == "Invoice"
    assert rest["data"]["salesDocuments"]["totalCount"] == 1
    staff = await gql(client, LIST, {"filter": {"kinds": ["SALES_ORDER"]}},
                      token=world.tokens["staff"])  # fmt: skip
    assert staff["data"]["salesDocuments"]["totalCount"] == 1


async def test_transitions_and_edits(client, world: World) -> None:
    invoice = await create(client, world)
    update = """mutation($input: UpdateSalesDocumentInput!) { updateSalesDocument(input: $input) {
      salesDocument { total { amount } ... on Invoice { balanceDue { amount } } }
      errors { code } } }"""
    lines = [{"name": "Service", "quantity": "2", "rate": "50"}]
    body = await gql(client, update, {"input": {"id": invoice["id"], "lineItems": lines}},
                     token=world.tokens["staff"])  # fmt: skip
    assert body["data"]["updateSalesDocument"]["salesDocument"]["total"] == {"amount": "100.00"}
    await gql(client, SEND, {"id": invoice["id"]}, token=world.tokens["staff"])
    again = await gql(client, SEND, {"id": invoice["id"]}, token=world.tokens["staff"])
    assert again["data"]["sendSalesDocument"]["errors"] == [{"code": "INVALID_TRANSITION"}]

    # Someone paid 60: the total may not drop below it, and the balance follows edits.
    await SalesDocument.filter(number="INV-000001").update(
        balance_minor=4000, status=DocumentStatus.PARTIALLY_PAID
    )
    low = [{"name": "Service", "quantity": "1", "rate": "50"}]
    body = await gql(client, update, {"input": {"id": invoice["id"], "lineItems": low}},
                     token=world.tokens["staff"])  # fmt: skip
    assert body["data"]["updateSalesDocument"]["errors"] == [{"code": "BELOW_AMOUNT_PAID"}]
    more = [{"name": "Service", "quantity": "3", "rate": "50"}]
    body = await gql(client, update, {"input": {"id": invoice["id"], "lineItems": more}},
                     token=world.tokens["staff"])  # fmt: skip
    edited = body["data"]["updateSalesDocument"]["salesDocument"]
    assert edited == {"total": {"amount": "150.00"}, "balanceDue": {"amount": "90.00"}}
    exact = [{"name": "Service", "quantity": "1.2", "rate": "50"}]
    body = await gql(client, update, {"input": {"id": invoice["id"], "lineItems": exact}},
                     token=world.tokens["staff"])  # fmt: skip
    assert body["data"]["updateSalesDocument"]["salesDocument"]["balanceDue"] == {"amount": "0.00"}
    assert (await SalesDocument.get(number="INV-000001")).status == DocumentStatus.PAID
    void = """mutation($id: ID!) { voidSalesDocument(input: {id: $id}) { errors { code } } }"""
    body = await gql(client, void, {"id": invoice["id"]}, token=world.tokens["staff"])
    assert body["data"]["voidSalesDocument"]["errors"] == [{"code": "INVALID_TRANSITION"}]


async def test_overdue_is_derived_and_filterable(client, world: World) -> None:
    past = (TODAY - timedelta(days=40)).isoformat()
    late = await create(client, world, issueDate=past, paymentTermsDays=10)
    await create(client, world)
    for document in (late,):
        await gql(client, SEND, {"id": document["id"]}, token=world.tokens["staff"])
    overdue = await gql(client, LIST, {"filter": {"overdue": True}}, token=world.tokens["staff"])
    assert overdue["data"]["salesDocuments"]["nodes"] == [
        {"__typename": "Invoice", "number": "INV-000001", "status": "OVERDUE"}
    ]
    by_status = await gql(client, LIST, {"filter": {"statuses": ["OVERDUE"]}},
                          token=world.tokens["staff"])  # fmt: skip
    assert by_status["data"]["salesDocuments"]["totalCount"] == 1
    sent = await gql(client, LIST, {"filter": {"statuses": ["SENT"]}}, token=world.tokens["staff"])
    assert sent["data"]["salesDocuments"]["totalCount"] == 0


async def test_query_count_does_not_grow_with_the_page(client, world: World, count_queries) -> None:
    for _ in range(12):
        await create(client, world)
    query = """query($first: Int) { salesDocuments(first: $first) { nodes {
      number customer { displayName } lineItems { name amount { amount } } } } }"""
    counts = []
    for first in (1, 12):
        count_queries.count = 0
        body = await gql(client, query, {"first": first}, token=world.tokens["staff"])
        assert len(body["data"]["salesDocuments"]["nodes"]) == first
        counts.append(count_queries.count)
    assert counts[0] == counts[1]


async def test_jpy_and_kwd_customers_get_their_currency(client, world: World) -> None:
    from models.customers import Customer

    await Customer.filter(id=world.customer_a.id).update(currency="KWD")
    lines = [{"name": "Oil", "quantity": "2", "rate": "1.2345", "taxPercent": "5"}]
    invoice = await create(client, world, lineItems=lines)
    assert invoice["total"] == {"amount": "2.592", "currency": "KWD"}
    await Customer.filter(id=world.customer_a.id).update(currency="JPY")
    lines = [{"name": "Tea", "quantity": "3", "rate": "333.5", "taxPercent": "10"}]
    invoice = await create(client, world, lineItems=lines)
    assert invoice["total"] == {"amount": "1101", "currency": "JPY"}


async def test_ordering_by_due_date_puts_undated_last_and_pages_cleanly(
    client, world: World
) -> None:
    for due in ("2026-12-05", None, "2026-11-20", None, "2026-12-01"):
        extra = {"dueDate": due} if due else {}
        await create(client, world, kind="QUOTE", paymentTermsDays=None, **extra)
    query = """query($after: String, $direction: OrderDirection!) { salesDocuments(first: 2,
      after: $after, orderBy: {field: DUE_DATE, direction: $direction}) {
      pageInfo { hasNextPage endCursor } nodes { ... on Quote { expiryDate } } } }"""
    for direction, expected in (
        ("ASC", ["2026-11-20", "2026-12-01", "2026-12-05", None, None]),
        ("DESC", [None, None, "2026-12-05", "2026-12-01", "2026-11-20"]),
    ):
        seen, after = [], None
        while True:
            body = await gql(client, query, {"after": after, "direction": direction},
                             token=world.tokens["staff"])  # fmt: skip
            page = body["data"]["salesDocuments"]
            seen += [node["expiryDate"] for node in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == expected, direction


async def test_numbers_stay_unique_and_gap_free_under_concurrent_creation(
    client, world: World
) -> None:
    import asyncio

    from auth.principals import StaffPrincipal
    from resolvers.documents import create_document

    principal = StaffPrincipal(world.staff)
    line = {"name": "X", "quantity": 1, "rate": 1}

    async def one() -> str:
        document = await create_document(
            principal, {"customer_id": world.customer_a.id, "kind": "INVOICE",
                        "line_items": [line]},
        )  # fmt: skip
        return document.number

    numbers = await asyncio.gather(*(one() for _ in range(10)))
    assert sorted(numbers) == [f"INV-{n:06d}" for n in range(1, 11)]


DETAIL = "query($id: ID!) { salesDocument(id: $id) { number status } }"


async def test_first_view_is_recorded_once_even_when_opened_at_once(client, world: World) -> None:
    import asyncio

    from models.activity import Activity, ActivityKind

    invoice = await create(client, world)
    await gql(client, SEND, {"id": invoice["id"]}, token=world.tokens["staff"])
    staff_view = await gql(client, DETAIL, {"id": invoice["id"]}, token=world.tokens["staff"])
    assert staff_view["data"]["salesDocument"]["number"] == "INV-000001"
    viewed = {"filter": {"viewedByCustomer": True}}
    assert (await gql(client, LIST, viewed, token=world.tokens["staff"]))["data"][
        "salesDocuments"]["totalCount"] == 0  # fmt: skip

    opens = [gql(client, DETAIL, {"id": invoice["id"]}, token=world.tokens["contact_a"])
             for _ in range(8)]  # fmt: skip
    answers = await asyncio.gather(*opens)
    assert all(a["data"]["salesDocument"]["number"] == "INV-000001" for a in answers)
    assert await Activity.filter(kind=ActivityKind.DOCUMENT_VIEWED).count() == 1
    stored = await SalesDocument.get(number="INV-000001")
    assert stored.first_viewed_by_id == world.contact_a.id
    assert (await gql(client, LIST, viewed, token=world.tokens["staff"]))["data"][
        "salesDocuments"]["totalCount"] == 1  # fmt: skip
    not_viewed = {"filter": {"viewedByCustomer": False}}
    refused = await gql(client, LIST, not_viewed, token=world.tokens["contact_a"])
    assert error_codes(refused) == ["FORBIDDEN"]
    other = await gql(client, DETAIL, {"id": invoice["id"]}, token=world.tokens["contact_b"])
    assert other["data"]["salesDocument"] is None


async def test_a_contact_answers_a_sent_quote_once(client, world: World) -> None:
    from models.activity import Activity, ActivityKind

    quote = await create(client, world, kind="QUOTE")
    answer = """mutation($id: ID!, $accept: Boolean!) { answerQuote(input: {id: $id,
      accept: $accept, comment: "Looks good"}) { quote { status } errors { code } } }"""
    draft = await gql(client, answer, {"id": quote["id"], "accept": True},
                      token=world.tokens["contact_a"])  # fmt: skip
    assert draft["data"]["answerQuote"]["errors"] == [{"code": "NOT_FOUND"}]
    await gql(client, SEND, {"id": quote["id"]}, token=world.tokens["staff"])
    other = await gql(client, answer, {"id": quote["id"], "accept": True},
                      token=world.tokens["contact_b"])  # fmt: skip
    assert other["data"]["answerQuote"]["errors"] == [{"code": "NOT_FOUND"}]
    staff = await gql(client, answer, {"id": quote["id"], "accept": True},
                      token=world.tokens["staff"])  # fmt: skip
    assert error_codes(staff) == ["FORBIDDEN"]
    body = await gql(client, answer, {"id": quote["id"], "accept": True},
                     token=world.tokens["contact_a"])  # fmt: skip
    assert body["data"]["answerQuote"] == {"quote": {"status": "ACCEPTED"}, "errors": []}
    again = await gql(client, answer, {"id": quote["id"], "accept": False},
                      token=world.tokens["contact_a"])  # fmt: skip
    assert again["data"]["answerQuote"]["errors"] == [{"code": "ALREADY_ANSWERED"}]
    [recorded] = await Activity.filter(kind=ActivityKind.QUOTE_ACCEPTED)
    assert recorded.data["excerpt"] == "Looks good"


async def test_a_declined_quotes_comment_reaches_staff(client, world: World) -> None:
    """The comment given with an answer is in the quote's thread and in the activity."""
    quote = await create(client, world, kind="QUOTE")
    await gql(client, SEND, {"id": quote["id"]}, token=world.tokens["staff"])
    answer = """mutation($id: ID!) { answerQuote(input: {id: $id, accept: false,
      comment: "Too pricey"}) { quote { status } errors { code } } }"""
    body = await gql(client, answer, {"id": quote["id"]}, token=world.tokens["contact_a"])
    assert body["data"]["answerQuote"] == {"quote": {"status": "DECLINED"}, "errors": []}
    thread = """query($id: ID!) { salesDocument(id: $id) {
      comments { nodes { body authorKind authorName } } } }"""
    for reader in ("staff", "contact_a"):
        seen = await gql(client, thread, {"id": quote["id"]}, token=world.tokens[reader])
        assert seen["data"]["salesDocument"]["comments"]["nodes"] == [
            {"body": "Too pricey", "authorKind": "CONTACT", "authorName": "Acorn Contact"}
        ], reader
    feed = await gql(client, "{ activities(first: 5) { nodes { kind excerpt } } }",
                     token=world.tokens["staff"])  # fmt: skip
    assert {"kind": "QUOTE_DECLINED", "excerpt": "Too pricey"} in feed["data"]["activities"][
        "nodes"
    ]
    kinds = [node["kind"] for node in feed["data"]["activities"]["nodes"]]
    assert "COMMENT_ADDED" not in kinds  # one activity for the answer and its comment


CONVERT = """mutation($id: ID!, $to: DocumentKind!) {
  convertSalesDocument(input: {id: $id, to: $to}) {
  salesDocument { id __typename number status total { amount }
    source { number status } lineItems { name } }
  errors { code } } }"""


async def test_quote_becomes_order_becomes_invoice(client, world: World) -> None:
    quote = await create(client, world, kind="QUOTE")
    token = world.tokens["staff"]
    draft = await gql(client, CONVERT, {"id": quote["id"], "to": "SALES_ORDER"}, token=token)
    assert draft["data"]["convertSalesDocument"]["errors"] == [{"code": "INVALID_TRANSITION"}]
    await gql(client, SEND, {"id": quote["id"]}, token=token)

    body = await gql(client, CONVERT, {"id": quote["id"], "to": "SALES_ORDER"}, token=token)
    order = body["data"]["convertSalesDocument"]["salesDocument"]
    assert order["__typename"] == "SalesOrder" and order["number"] == "SO-000001"
    assert order["status"] == "DRAFT" and order["total"] == {"amount": quote["total"]["amount"]}
    assert order["source"] == {"number": "QT-000001", "status": "INVOICED"}
    assert [line["name"] for line in order["lineItems"]] == ["Widget", "Screws"]
    backwards = await gql(client, CONVERT, {"id": order["id"], "to": "QUOTE"}, token=token)
    assert backwards["data"]["convertSalesDocument"]["errors"] == [{"code": "INVALID_TRANSITION"}]

    await gql(client, SEND, {"id": order["id"]}, token=token)
    body = await gql(client, CONVERT, {"id": order["id"], "to": "INVOICE"}, token=token)
    invoice = body["data"]["convertSalesDocument"]["salesDocument"]
    # Invoiced, the order is still to ship: FULFILLED only once it is also delivered.
    assert invoice["__typename"] == "Invoice" and invoice["source"]["status"] == "CONFIRMED"
    await gql(client, SEND, {"id": invoice["id"]}, token=token)

    shows = """query($id: ID!) { salesDocument(id: $id) { status convertedTo { number } } }"""
    seen = await gql(client, shows, {"id": order["id"]}, token=world.tokens["contact_a"])
    assert seen["data"]["salesDocument"] == {
        "status": "CONFIRMED",
        "convertedTo": [{"number": invoice["number"]}],
    }


HOME = """query($customerId: ID) { portalHome(customerId: $customerId) {
  customer { displayName }
  outstandingInvoices { amount currency } availableCredits { amount currency }
  outstandingRetainerInvoices { amount } salesOrderCounts { status count } } }"""


async def test_dashboard_sums_per_currency_in_sql(client, world: World, count_queries) -> None:
    from models.customers import Customer

    staff = world.tokens["staff"]
    lines = [{"name": "Item", "quantity": "1", "rate": "100"}]
    for kind in ("INVOICE", "INVOICE", "CREDIT_NOTE", "RETAINER_INVOICE", "SALES_ORDER"):
        document = await create(client, world, kind=kind, lineItems=lines)
        await gql(client, SEND, {"id": document["id"]}, token=staff)
    await create(client, world, lineItems=lines)  # a draft counts for nothing
    await Customer.filter(id=world.customer_a.id).update(currency="EUR")
    euro = await create(client, world, lineItems=[{"name": "Item", "quantity": "1", "rate": "7.5"}])
    await gql(client, SEND, {"id": euro["id"]}, token=staff)

    from resolvers.preferences import preferences_for

    await preferences_for(world.org_a.id)  # created beforehand, so only reads are counted
    count_queries.reset()
    body = await gql(client, HOME, token=world.tokens["contact_a"])
    assert count_queries.touching("portal_preferences") == 1  # read once per request
    home = body["data"]["portalHome"]
    assert home["customer"] == {"displayName": "Acorn Ltd"}
    assert home["outstandingInvoices"] == [
        {"amount": "7.50", "currency": "EUR"},
        {"amount": "200.00", "currency": "USD"},
    ]
    assert home["availableCredits"] == [{"amount": "100.00", "currency": "USD"}]
    assert home["outstandingRetainerInvoices"] == [{"amount": "100.00"}]
    assert home["salesOrderCounts"] == [{"status": "CONFIRMED", "count": 1}]
    typed = await gql(client, '{ __type(name: "StatusCount") { fields { name type { ofType { '
                      'kind name } } } } }', token=world.tokens["contact_a"])  # fmt: skip
    assert typed["data"]["__type"]["fields"][0]["type"]["ofType"] == {
        "kind": "ENUM", "name": "DocumentStatus"}  # fmt: skip
    assert count_queries.count < 15  # a handful of aggregates, not a row per document

    other = await gql(client, HOME, token=world.tokens["contact_b"])
    assert other["data"]["portalHome"]["outstandingInvoices"] == []
    preview = await gql(client, HOME, {"customerId": gid("Customer", world.customer_a)},
                        token=staff)  # fmt: skip
    assert preview["data"]["portalHome"]["outstandingInvoices"] == home["outstandingInvoices"]
    await gql(client, "mutation { updatePortalPreferences(input: {showSalesOrders: false}) "
              "{ errors { code } } }", token=world.tokens["admin"])  # fmt: skip
    hidden = await gql(client, HOME, token=world.tokens["contact_a"])
    assert hidden["data"]["portalHome"]["salesOrderCounts"] is None
    await gql(client, "mutation { updatePortalPreferences(input: {showCreditNotes: false}) "
              "{ errors { code } } }", token=world.tokens["admin"])  # fmt: skip
    no_credits = await gql(client, HOME, token=world.tokens["contact_a"])
    assert no_credits["data"]["portalHome"]["availableCredits"] is None
    staff_view = await gql(client, HOME, {"customerId": gid("Customer", world.customer_a)},
                           token=staff)  # fmt: skip
    assert staff_view["data"]["portalHome"]["availableCredits"] == home["availableCredits"]


async def test_cost_margin_and_who_viewed_are_for_staff(client, world: World) -> None:
    lines = [
        {"name": "Desk", "quantity": "2", "rate": "100", "discountPercent": "10", "costRate": "60"},
        {"name": "Delivery", "quantity": "1", "rate": "15"},
    ]
    invoice = await create(client, world, lineItems=lines)
    await gql(client, SEND, {"id": invoice["id"]}, token=world.tokens["staff"])
    query = """query($id: ID!) { salesDocument(id: $id) { margin { amount }
      lineItems { costRate margin { amount } } } }"""
    staff = await gql(client, query, {"id": invoice["id"]}, token=world.tokens["staff"])
    document = staff["data"]["salesDocument"]
    assert document["margin"] == {"amount": "60.00"}  # 200 - 20 discount - 2 x 60 cost
    assert document["lineItems"] == [
        {"costRate": "60.000000", "margin": {"amount": "60.00"}},
        {"costRate": None, "margin": None},
    ]
    contact = await gql(client, query, {"id": invoice["id"]}, token=world.tokens["contact_a"])
    assert {e["extensions"]["code"] for e in contact["errors"]} == {"FORBIDDEN"}
    hidden_fields = contact["data"]["salesDocument"]
    assert hidden_fields["margin"] is None
    assert {line["costRate"] for line in hidden_fields["lineItems"]} == {None}

    who = """query($id: ID!) { salesDocument(id: $id) { firstViewedBy { email } } }"""
    await gql(client, "query($id: ID!) { salesDocument(id: $id) { number } }",
              {"id": invoice["id"]}, token=world.tokens["contact_a"])  # fmt: skip
    viewed = await gql(client, who, {"id": invoice["id"]}, token=world.tokens["staff"])
    assert viewed["data"]["salesDocument"]["firstViewedBy"] == {"email": "ann@acorn.example"}
    hidden = await gql(client, who, {"id": invoice["id"]}, token=world.tokens["contact_a"])
    assert hidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


LINE_FIELDS = [
    "name", "description", "quantity", "unit", "rate", "discountPercent", "taxPercent",
    "costRate", "amount { amount }", "discount { amount }", "margin { amount currency }",
]  # fmt: skip


async def test_a_page_reads_of_its_lines_what_each_field_shows(client, world: World) -> None:
    lines = [
        {"name": "Survey", "description": "Two days on site", "quantity": "2", "unit": "day",
         "rate": "850", "discountPercent": "5", "taxPercent": "20", "costRate": "400"},
        {"name": "Report", "quantity": "1", "rate": "300"},
    ]  # fmt: skip
    document = await create(client, world, lineItems=lines)
    whole = await gql(
        client,
        "query($id: ID!) { salesDocument(id: $id) { lineItems { "
        + " ".join(LINE_FIELDS)
        + " } } }",
        {"id": document["id"]},
        token=world.tokens["staff"],
    )
    expected = whole["data"]["salesDocument"]["lineItems"]
    assert expected[0]["margin"] == {"amount": "815.00", "currency": "USD"}
    assert expected[0]["description"] == "Two days on site" and expected[1]["costRate"] is None
    # Each field alone, and all of them: a page reads only the columns its fields need.
    for selection in [*LINE_FIELDS, " ".join(LINE_FIELDS)]:
        page = await gql(
            client,
            "{ salesDocuments { nodes { id lineItems { " + selection + " } } } }",
            token=world.tokens["staff"],
        )
        [node] = [n for n in page["data"]["salesDocuments"]["nodes"] if n["id"] == document["id"]]
        shown = re.sub(r"\{[^}]*\}", "", selection).split()
        keys = [key for key in expected[0] if key in shown]
        assert node["lineItems"] == [{key: line[key] for key in keys} for line in expected], keys


async def test_lines_are_read_only_of_documents_the_reader_sees(db, world: World) -> None:
    """Lines are asked for by document id: ids of documents the principal does not see (a draft,
    another customer's, another organization's, or without the scope) give no lines."""
    from auth.api_keys import ApiScope
    from auth.errors import Forbidden
    from auth.principals import ContactPrincipal, PartnerPrincipal, StaffPrincipal
    from models.api_keys import ApiKey
    from resolvers.documents import create_document, send_document
    from resolvers.line_items import lines_of

    async def document(staff, customer, *, sent: bool) -> int:
        line = {"name": f"Line of customer {customer.id}", "quantity": 1, "rate": 1}
        created = await create_document(
            StaffPrincipal(staff), {"customer_id": customer.id, "kind": "INVOICE",
                                    "line_items": [line, line]},
        )  # fmt: skip
        if sent:
            await send_document(StaffPrincipal(staff), created.id)
        return created.id

    sent_a = await document(world.staff, world.customer_a, sent=True)
    draft_a = await document(world.staff, world.customer_a, sent=False)
    sent_b = await document(world.staff, world.customer_b, sent=True)
    other_org = await document(world.staff_b, world.customer_other_org, sent=True)
    ids = [sent_a, draft_a, sent_b, other_org]
    key = await ApiKey.get(name="Sync")  # the organization's, not a customer's

    async def counts(principal) -> list[int]:
        return [len(lines) for lines in await lines_of(principal, ids)]

    assert await counts(ContactPrincipal(world.contact_a)) == [2, 0, 0, 0]
    assert await counts(ContactPrincipal(world.contact_b)) == [0, 0, 2, 0]
    assert await counts(StaffPrincipal(world.staff)) == [2, 2, 2, 0]
    assert await counts(StaffPrincipal(world.staff_b)) == [0, 0, 0, 2]
    reader = PartnerPrincipal(key, frozenset({ApiScope.DOCUMENTS_READ}))
    assert await counts(reader) == [2, 2, 2, 0]
    with pytest.raises(Forbidden):
        await counts(PartnerPrincipal(key, frozenset({ApiScope.CUSTOMERS_READ})))
