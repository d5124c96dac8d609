"""PDFs of sales documents and payment receipts, downloaded over HTTP as each kind of viewer."""

from __future__ import annotations

import io
import os

import httpx
import pytest
from pypdf import PdfReader
from strawberry.relay import GlobalID

from models.activity import Activity, ActivityKind
from models.customers import Customer
from models.documents import SalesDocument
from pdf import cache, renderer
from schema.authentication import SESSION_COOKIE
from tests.conftest import TODAY, World, app_client, gid, gql
from tests.test_documents import SEND, create
from tests.test_online_payments import pay, row_id
from tests.test_payments import issued, record
from tests.test_public_links import share

LINES = [
    {"name": "Widget", "description": "Blue, large", "quantity": "3", "unit": "pcs",
     "rate": "19.995", "discountPercent": "10", "taxPercent": "8.25"},
    {"name": "Screws", "quantity": "1.5", "rate": "0.333", "taxPercent": "8.25"},
]  # fmt: skip
TITLES = {
    "INVOICE": "Invoice",
    "RETAINER_INVOICE": "Retainer invoice",
    "QUOTE": "Quote",
    "SALES_ORDER": "Sales order",
    "CREDIT_NOTE": "Credit note",
}
DOCUMENT = """query($id: ID!) { salesDocument(id: $id) { number pdfUrl } }"""
PAYMENT = """query($id: ID!) { node(id: $id) { ... on Payment { number receiptPdfUrl } } }"""
UPDATE = """mutation($input: UpdateSalesDocumentInput!) { updateSalesDocument(input: $input) {
  errors { code } } }"""
VOID = """mutation($id: ID!) { voidSalesDocument(input: {id: $id}) { errors { code } } }"""
APPLY_CREDIT = """mutation($credit: ID!, $invoice: ID!, $amount: Decimal!) {
  applyCredit(input: {creditNoteId: $credit, invoiceId: $invoice, amount: $amount}) {
    errors { code } } }"""
HIDE = """mutation { updatePortalPreferences(input: {showSalesOrders: false}) {
  errors { code } } }"""


async def download(
    client: httpx.AsyncClient, path: str, token: str | None = None, **params: str
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.get(path, headers=headers, params=params or None)


def document_path(document: dict) -> str:
    return f"/documents/{document['id']}/pdf"


def pages(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    return [page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages]


def text(response: httpx.Response) -> str:
    """All pages, with every run of whitespace (line breaks, no-break spaces) as one space."""
    return " ".join(" ".join(pages(response)).split())


async def issue(client, world: World, **overrides) -> dict:
    document = await create(client, world, **{"lineItems": LINES, **overrides})
    sent = await gql(client, SEND, {"id": document["id"]}, token=world.tokens["staff"])
    assert sent["data"]["sendSalesDocument"]["errors"] == []
    return document


@pytest.mark.parametrize("kind", list(TITLES))
async def test_each_kind_shows_its_number_lines_and_totals(client, world: World, kind: str) -> None:
    document = await issue(client, world, kind=kind, reference="PO-77", customerNotes="Thanks!",
                           terms="Net 30")  # fmt: skip
    body = await gql(client, DOCUMENT, {"id": document["id"]}, token=world.tokens["contact_a"])
    url = body["data"]["salesDocument"]["pdfUrl"]
    assert url == f"http://127.0.0.1:8000{document_path(document)}"

    response = await download(client, url.removeprefix("http://127.0.0.1:8000"),
                              world.tokens["contact_a"])  # fmt: skip
    content = text(response)
    number = document["number"]
    assert response.headers["content-disposition"] == f'attachment; filename="{number}.pdf"'
    assert response.headers["cache-control"] == "private, no-store"
    for expected in (TITLES[kind], number, "Alpha Trading", "Acorn Ltd", "PO-77", "Widget",
                     "Blue, large", "3 pcs", "19.995", "10 %", "8.25 %", "Screws", "$59.99",
                     "$60.49", "-$6.00", "$4.50", "$58.99", "November 1, 2026", "Thanks!",
                     "Net 30", "Page 1 of 1"):  # fmt: skip
        assert expected in content, (kind, expected)
    if kind in ("INVOICE", "RETAINER_INVOICE"):
        assert "Balance due" in content and "Due date" in content
    if kind == "CREDIT_NOTE":
        assert "Credits remaining" in content and "Balance due" not in content
    for mark in ("PAID", "VOID", "DRAFT"):
        assert mark not in content


@pytest.mark.slow
async def test_a_german_customer_reads_german_amounts_dates_and_labels(
    client, world: World
) -> None:
    await Customer.filter(id=world.customer_a.id).update(portal_language="de")
    lines = [{"name": "Beratung", "quantity": "1.5", "rate": "823"}]
    document = await issue(client, world, lineItems=lines)
    content = text(await download(client, document_path(document), world.tokens["contact_a"]))
    for expected in ("Rechnung", "Offener Betrag", "Fälligkeitsdatum", "Menge", "1,5",
                     "1.234,50 $", "1. November 2026", "Seite 1 von 1"):  # fmt: skip
        assert expected in content, expected
    assert "1,234.50" not in content


@pytest.mark.slow
async def test_paid_void_and_draft_documents_are_marked(client, world: World) -> None:
    staff = world.tokens["staff"]
    paid = await issued(client, world)
    credit = await issued(client, world, rate="30", kind="CREDIT_NOTE")
    applied = await gql(client, APPLY_CREDIT, {"credit": credit["id"], "invoice": paid["id"],
                                               "amount": "30"}, token=staff)  # fmt: skip
    assert applied["data"]["applyCredit"]["errors"] == []
    payment = await record(client, world, (paid, "70"))
    content = text(await download(client, document_path(paid), world.tokens["contact_a"]))
    for expected in ("PAID", payment["payment"]["number"], "Payments made", "-$70.00",
                     "Credits applied", "-$30.00", "Credit note CN-000001", "$0.00"):  # fmt: skip
        assert expected in content, expected
    credit_pdf = text(await download(client, document_path(credit), staff))
    assert "Credits remaining" in credit_pdf and "PAID" not in credit_pdf

    voided = await issued(client, world)
    assert (await gql(client, VOID, {"id": voided["id"]}, token=staff))["data"][
        "voidSalesDocument"
    ]["errors"] == []
    assert "VOID" in text(await download(client, document_path(voided), staff))

    draft = await create(client, world, lineItems=LINES)
    assert "DRAFT" in text(await download(client, document_path(draft), staff))


@pytest.mark.slow
async def test_300_lines_all_print_over_several_pages_with_the_header_repeated(
    client, world: World
) -> None:
    lines = [{"name": f"Part-{n:03}", "quantity": "1", "rate": "1"} for n in range(1, 301)]
    document = await issue(client, world, lineItems=lines)
    printed = pages(await download(client, document_path(document), world.tokens["staff"]))
    assert len(printed) >= 3
    content = "\n".join(printed)
    assert [f"Part-{n:03}" for n in range(1, 301) if f"Part-{n:03}" not in content] == []
    for number, page in enumerate(printed, 1):
        assert f"Page {number} of {len(printed)}" in page
        assert "Quantity" in page and "Rate" in page, f"no table header on page {number}"
    assert "$300.00" in printed[-1]


async def test_an_unchanged_document_comes_from_the_cache_and_an_edit_renders_again(
    client, world: World
) -> None:
    document = await issue(client, world)
    token = world.tokens["contact_a"]
    first = await download(client, document_path(document), token)
    renders = renderer.render_count()
    again = await download(client, document_path(document), token)
    assert again.content == first.content
    assert renderer.render_count() == renders
    row = await SalesDocument.get(id=row_id(document["id"]))
    cached = list(cache.directory().glob(f"invoice-{row.id}-v{row.version}-en-*.pdf"))
    assert len(cached) == 1 and cached[0].read_bytes() == first.content

    edit = {"id": document["id"], "customerNotes": "Delivered on Monday"}
    assert (await gql(client, UPDATE, {"input": edit}, token=world.tokens["staff"]))["data"][
        "updateSalesDocument"
    ]["errors"] == []
    edited = await download(client, document_path(document), token)
    assert renderer.render_count() == renders + 1
    assert "Delivered on Monday" in text(edited)


async def test_who_may_download_a_document(client, world: World) -> None:
    tokens = world.tokens
    document = await issue(client, world)
    path = document_path(document)
    expected = {
        "contact_a": 200,
        "staff": 200,
        "admin": 200,
        "contact_b": 404,  # another customer's contact
        "contact_other_org": 404,
        "staff_other_org": 404,
        "partner": 403,  # a key without documents:read
    }
    for who, status in expected.items():
        response = await download(client, path, tokens[who])
        assert response.status_code == status, (who, response.text)
    anonymous = await download(client, path)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "UNAUTHENTICATED"
    missing = await download(client, "/documents/SW52b2ljZTo5OTk5OTk=/pdf", tokens["staff"])
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    as_quote = str(GlobalID("Quote", str(row_id(document["id"]))))
    for bad in ("not-an-id", gid("Customer", world.customer_a), as_quote):
        assert (await download(client, f"/documents/{bad}/pdf", tokens["staff"])).status_code == 404

    # A download link in the portal works with the session cookie, unless the browser says
    # the request comes from another site.
    client.cookies.set(SESSION_COOKIE, tokens["contact_a"])
    try:
        assert (await download(client, path)).status_code == 200
        cross_site = await client.get(path, headers={"sec-fetch-site": "cross-site"})
        assert cross_site.status_code == 401
    finally:
        client.cookies.clear()

    draft = await create(client, world, lineItems=LINES)
    assert (await download(client, document_path(draft), tokens["contact_a"])).status_code == 404


async def test_hidden_sales_orders_are_forbidden_to_contacts(client, world: World) -> None:
    order = await issue(client, world, kind="SALES_ORDER")
    assert (await gql(client, HIDE, token=world.tokens["admin"]))["data"][
        "updatePortalPreferences"
    ]["errors"] == []
    refused = await download(client, document_path(order), world.tokens["contact_a"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    assert "Sales order" in text(await download(client, document_path(order),
                                                world.tokens["staff"]))  # fmt: skip


async def test_a_contacts_first_download_opens_the_document(client, world: World) -> None:
    document = await issue(client, world)
    await download(client, document_path(document), world.tokens["staff"])
    row = await SalesDocument.get(id=row_id(document["id"]))
    assert row.first_viewed_at is None  # staff looking is not the customer looking
    for _ in range(2):
        await download(client, document_path(document), world.tokens["contact_a"])
    row = await SalesDocument.get(id=row_id(document["id"]))
    assert row.first_viewed_at is not None and row.first_viewed_by_id == world.contact_a.id
    assert await Activity.filter(kind=ActivityKind.DOCUMENT_VIEWED).count() == 1


async def test_print_asks_for_the_pdf_inline(client, world: World) -> None:
    document = await issue(client, world)
    response = await download(client, document_path(document), world.tokens["contact_a"],
                              disposition="inline")  # fmt: skip
    assert response.headers["content-disposition"] == 'inline; filename="INV-000001.pdf"'


async def test_a_receipt_shows_what_the_payment_paid(client, world: World) -> None:
    contact = world.tokens["contact_a"]
    invoice = await issued(client, world, allowPartialPayments=True)
    first = await pay(client, world, (invoice, "60"), savePaymentMethod=True)
    assert first["errors"] == [], first
    payment = first["payment"]
    body = await gql(client, PAYMENT, {"id": payment["id"]}, token=contact)
    url = body["data"]["node"]["receiptPdfUrl"]
    assert url == f"http://127.0.0.1:8000/payments/{payment['id']}/receipt.pdf"

    path = url.removeprefix("http://127.0.0.1:8000")
    response = await download(client, path, contact)
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{payment["number"]}.pdf"'
    )
    content = text(response)
    # The card the payer asked to save is the saved card the payment names.
    for expected in ("Payment receipt", payment["number"], "Acorn Ltd", "Visa ending 4242",
                     "Amount received $60.00", "INV-000001 $60.00 $40.00",
                     "Thank you for your payment."):  # fmt: skip
        assert expected in content, expected
    assert (await download(client, path, world.tokens["staff"])).status_code == 200
    assert (await download(client, path, world.tokens["contact_b"])).status_code == 404
    assert (await download(client, path)).status_code == 401

    methods = await gql(client, "{ savedPaymentMethods { id } }", token=contact)
    saved = methods["data"]["savedPaymentMethods"][0]["id"]
    second = await pay(client, world, (invoice, "40"), token=None, paymentMethodId=saved)
    receipt = text(await download(client, receipt_path(second["payment"]), contact))
    assert "Visa ending 4242" in receipt and "INV-000001 $40.00 $0.00" in receipt
    # What is still due is today's balance, on the earlier receipt too.
    assert "INV-000001 $60.00 $0.00" in text(await download(client, path, contact))


def receipt_path(payment: dict) -> str:
    return f"/payments/{payment['id']}/receipt.pdf"


async def test_a_failed_payment_has_no_receipt(client, world: World) -> None:
    document = await issued(client, world)
    declined = (await pay(client, world, (document, "100"), token="tok_declined"))["payment"]
    body = await gql(client, PAYMENT, {"id": declined["id"]}, token=world.tokens["contact_a"])
    assert body["data"]["node"]["receiptPdfUrl"] is None
    response = await download(client, receipt_path(declined), world.tokens["contact_a"])
    assert response.status_code == 404
    # Nor does the invoice show it among its payments.
    invoice = text(await download(client, document_path(document), world.tokens["contact_a"]))
    assert declined["number"] not in invoice and "Balance due $100.00" in invoice


def test_pruning_keeps_the_cache_within_its_budget(tmp_path) -> None:
    for n in range(10):
        path = tmp_path / f"invoice-{n}-v1-en-x.pdf"
        path.write_bytes(b"%" * 1000)
        os.utime(path, (n, n))  # least recently used first
    cache.prune(tmp_path, max_bytes=5000)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"invoice-{n}-v1-en-x.pdf" for n in range(6, 10)
    ]


@pytest.mark.slow
async def test_the_statement_of_accounts_as_a_pdf(client, world: World) -> None:
    from decimal import Decimal

    invoice = await issue(client, world)
    await record(client, world, (invoice, "10"))
    today = TODAY.isoformat()
    query = """query($from: Date!, $to: Date!) { statementOfAccounts(from: $from, to: $to) {
      pdfUrl currencies { closingBalance { amount } entries { number } } } }"""
    body = await gql(client, query, {"from": "2026-01-01", "to": today},
                     token=world.tokens["contact_a"])  # fmt: skip
    statement = body["data"]["statementOfAccounts"]
    path = statement["pdfUrl"].removeprefix("http://127.0.0.1:8000")
    content = text(await download(client, path, world.tokens["contact_a"]))
    assert "Statement of accounts" in content and "Acorn Ltd" in content
    for entry in statement["currencies"][0]["entries"]:
        assert entry["number"] in content
    closing = statement["currencies"][0]["closingBalance"]["amount"]
    assert f"${Decimal(closing):,.2f}" in content

    assert (await download(client, path, world.tokens["contact_b"])).status_code == 404
    assert (await download(client, path)).status_code == 401
    bad = path.replace("from=2026-01-01", "from=yesterday")
    assert (await download(client, bad, world.tokens["contact_a"])).status_code == 400
    staff = await download(client, path, world.tokens["staff"])
    assert staff.headers["content-disposition"].startswith('attachment; filename="statement-')


async def test_a_document_beyond_the_render_budget_is_refused_and_the_next_renders(
    db, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The CPU time a render may take is the setting's; a document that needs more is refused
    with a code, not an error of the server's, by its public link too, and the pool goes on
    rendering."""
    async with app_client(db, pdf_cpu_seconds=0.001) as client:
        document = await issue(client, world)
        refused = await download(client, document_path(document), world.tokens["staff"])
        public = await client.get(f"/public/{await share(client, world, document)}/pdf")
    message = "This document is too large to print as a PDF."
    assert refused.status_code == 422
    assert refused.json() == {"error": {"code": "PDF_TOO_LARGE", "message": message}}
    assert (public.status_code, public.json()) == (422, {"error": message})
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]
    async with app_client(db) as client:
        assert "Widget" in text(
            await download(client, document_path(document), world.tokens["staff"])
        )
