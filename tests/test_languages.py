"""Every portal language the API accepts, complete: email, PDFs, dates and Money.formatted.

The catalogs themselves (every message translated, placeholders kept) are checked in
tests/test_email.py; here each language is seen the way its readers see it, through the API.
"""

from __future__ import annotations

import io
import unicodedata

import pytest
from pypdf import PdfReader

from auth.api_keys import ApiScope, issue_api_key
from models.customers import Customer
from models.organizations import Organization
from models.outbox import OutboxMessage
from tests import graphql_ws
from tests.conftest import World, email_body, gid, gql
from tests.test_activity import following, websocket_client
from tests.test_activity_feeds import payment
from tests.test_payments import record
from tests.test_pdf import document_path, download, issue, pages, text
from tests.test_portal_access import ENABLE, new_contact

TOTAL = """query($id: ID!) { salesDocument(id: $id) { number total { amount formatted } } }"""
LINES = [{"name": "Consulting", "quantity": "1", "rate": "3703.50"}]


async def euro_invoice(client, world: World, language: str) -> dict:
    await Customer.filter(id=world.customer_a.id).update(currency="EUR", portal_language=language)
    return await issue(client, world, lineItems=LINES)


async def total_as(client, world: World, document: dict, token: str) -> str:
    body = await gql(client, TOTAL, {"id": document["id"]}, token=token)
    assert "errors" not in body, body
    total = body["data"]["salesDocument"]["total"]
    assert total["amount"] == "3703.50"
    return total["formatted"]


async def test_amounts_are_formatted_in_the_viewers_language(client, world: World) -> None:
    document = await euro_invoice(client, world, "de")
    # A contact reads its customer's portal language, as in its emails and PDFs.
    assert await total_as(client, world, document, world.tokens["contact_a"]) == "3.703,50\xa0€"
    # Staff and partner keys read the organization's locale.
    key, _ = await issue_api_key(
        organization_id=world.org_a.id,
        name="Books",
        scopes=[ApiScope.DOCUMENTS_READ],
        created_by_id=world.admin.id,
    )
    assert await total_as(client, world, document, world.tokens["staff"]) == "€3,703.50"
    assert await total_as(client, world, document, key) == "€3,703.50"
    await Organization.filter(id=world.org_a.id).update(locale="fr_FR")
    assert await total_as(client, world, document, world.tokens["staff"]) == "3\u202f703,50\xa0€"
    assert await total_as(client, world, document, key) == "3\u202f703,50\xa0€"
    await Customer.filter(id=world.customer_a.id).update(portal_language="ja")
    assert await total_as(client, world, document, world.tokens["contact_a"]) == "€3,703.50"


async def test_the_language_costs_no_query(client, world: World, count_queries) -> None:
    document = await euro_invoice(client, world, "en")
    await total_as(client, world, document, world.tokens["contact_a"])  # caches warmed up
    counts = {}
    for language in ("en", "de"):
        await Customer.filter(id=world.customer_a.id).update(portal_language=language)
        count_queries.reset()
        formatted = await total_as(client, world, document, world.tokens["contact_a"])
        counts[language] = count_queries.count
    assert formatted == "3.703,50\xa0€"
    assert counts["de"] == counts["en"]


@pytest.mark.parametrize(
    ("language", "subject", "greeting"),
    [
        ("fr", "Alpha Trading vous invite sur son portail client", "Bonjour Dana,"),
        ("it", "Alpha Trading La invita al suo portale clienti", "Gentile Dana,"),
        ("nl", "Alpha Trading nodigt u uit voor zijn klantenportaal", "Beste Dana,"),
        ("pt", "Alpha Trading convida você para o seu portal do cliente", "Olá, Dana,"),
        ("ja", "Alpha Tradingから顧客ポータルへのご招待", "Dana 様"),
        ("zh", "Alpha Trading 邀请您使用其客户门户", "Dana，您好："),  # noqa: RUF001
        ("ar", "تدعوك Alpha Trading إلى بوابة عملائها", "مرحبًا Dana،"),
    ],
)
async def test_an_invitation_is_written_in_the_customers_language(
    client, world: World, language: str, subject: str, greeting: str
) -> None:
    await Customer.filter(id=world.customer_a.id).update(portal_language=language)
    contact = await new_contact(world)
    body = await gql(client, ENABLE, {"ids": [gid("ContactPerson", contact)]},
                     token=world.tokens["staff"])  # fmt: skip
    assert body["data"]["enablePortalAccess"]["errors"] == []
    message = await OutboxMessage.get(to_address=contact.email)
    email = email_body(message)
    assert message.subject == subject
    for part in (email.text, email.html):
        assert greeting in part
        assert "has given you access" not in part and "Set your password" not in part
    if language == "ar":
        assert '<html lang="ar" dir="rtl">' in email.html


def fonts_of(content: bytes) -> set[str]:
    """The names of the fonts a PDF embeds (those with their own TrueType program)."""
    embedded = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor is not None and "/FontFile2" in descriptor.get_object():
                    embedded.add(str(font["/BaseFont"]).split("+")[-1])
    return embedded


@pytest.mark.slow
async def test_a_french_invoice_pdf_has_french_labels_dates_and_amounts(
    client, world: World
) -> None:
    document = await euro_invoice(client, world, "fr")
    content = text(await download(client, document_path(document), world.tokens["contact_a"]))
    for expected in ("Facture", document["number"], "Date d'émission", "1 novembre 2026",
                     "1 décembre 2026", "Date d'échéance", "Solde dû", "Quantité",
                     "3 703,50 €", "Page 1 sur 1"):  # fmt: skip
        assert expected in content, expected
    assert "November" not in content and "Balance due" not in content


@pytest.mark.slow
@pytest.mark.parametrize(
    ("language", "customer", "words"),
    [
        ("ja", "株式会社さくら商事",
         ["請求書", "発行日", "2026年11月1日", "支払期日", "2026年12月1日", "未払残高", "数量"]),
        ("zh", "北京华夏贸易有限公司",
         ["发票", "开票日期", "2026年11月1日", "到期日", "2026年12月1日", "应付余额", "数量"]),
    ],
)  # fmt: skip
async def test_japanese_and_chinese_pdfs_embed_a_font_that_has_their_characters(
    client, world: World, language: str, customer: str, words: list[str]
) -> None:
    await Customer.filter(id=world.customer_a.id).update(display_name=customer)
    document = await euro_invoice(client, world, language)
    response = await download(client, document_path(document), world.tokens["contact_a"])
    content = " ".join(" ".join(pages(response)).split())
    for expected in (document["number"], customer, "€3,703.50", *words):
        assert expected in content, expected
    assert "Invoice" not in content and "\ufffd" not in content
    assert "DroidSansFallback" in fonts_of(response.content)


def where(content: bytes, needle: str) -> list[float]:
    """How far from the page's left edge each run of text holding `needle` starts, as a
    fraction of the page's width."""
    page = PdfReader(io.BytesIO(content)).pages[0]
    width = float(page.mediabox.width)
    found: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if needle in text:
            found.append((tm[4] * cm[0] + cm[4]) / width)

    page.extract_text(visitor_text=visit)
    return found


@pytest.mark.slow
async def test_an_arabic_pdf_is_shaped_and_laid_out_right_to_left(client, world: World) -> None:
    document = await euro_invoice(client, world, "ar")
    response = await download(client, document_path(document), world.tokens["contact_a"])
    content = text(response)
    # Shaped: the letters are drawn in their joined forms (Arabic presentation forms), which
    # read back, normalized, as the words themselves.
    assert any("\ufe70" <= char <= "\ufeff" for char in content)
    plain = unicodedata.normalize("NFKC", content)
    for word in ("فاتورة", "الكمية", "الرصيد المستحق", "تاريخ الإصدار", "الصفحة"):
        assert word in plain, word
    for expected in (document["number"], "3,703.50", "2026"):
        assert expected in plain, expected
    assert "Invoice" not in plain and "Balance due" not in plain
    assert "DejaVuSans" in fonts_of(response.content)
    # Laid out right to left: the organization's name, at the left of an English invoice,
    # stands at the right.
    assert where(response.content, "Alpha Trading") and all(
        x > 0.5 for x in where(response.content, "Alpha Trading")
    )
    await Customer.filter(id=world.customer_a.id).update(portal_language="en")
    english = await issue(client, world, lineItems=LINES)
    response = await download(client, document_path(english), world.tokens["contact_a"])
    assert where(response.content, "Alpha Trading") and all(
        x < 0.5 for x in where(response.content, "Alpha Trading")
    )


UPDATE_ORGANIZATION = """mutation($locale: String!) { updateOrganization(input: {locale: $locale}) {
  organization { locale } errors { code field } } }"""


async def test_the_organization_writes_in_a_language_portico_has(client, world: World) -> None:
    async def update(locale: str) -> dict:
        body = await gql(client, UPDATE_ORGANIZATION, {"locale": locale},
                         token=world.tokens["admin"])  # fmt: skip
        return body["data"]["updateOrganization"]

    assert (await update("de_AT"))["organization"] == {"locale": "de_AT"}
    assert (await update("zh_CN"))["organization"] == {"locale": "zh_CN"}
    # Swedish staff email would go out in English; Traditional Chinese readers would get
    # simplified characters.
    for unwritten in ("sv_SE", "zh_TW", "klingon"):
        answer = await update(unwritten)
        assert answer["errors"] == [{"code": "UNKNOWN_LANGUAGE", "field": ["locale"]}], unwritten
    assert (await Organization.get(id=world.org_a.id)).locale == "zh_CN"


STATEMENT = """query($from: Date!, $to: Date!) { statementOfAccounts(from: $from, to: $to) {
  pdfUrl } }"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("language", "receipt_words", "statement_words"),
    [
        ("fr", ["Reçu de paiement", "Montant reçu", "Chèque", "Merci pour votre paiement."],
         ["Relevé de compte", "Solde d'ouverture", "Paiement reçu", "1 janvier 2026"]),
        ("ja", ["支払領収書", "受領金額", "小切手", "お支払いいただきありがとうございます。"],
         ["取引明細書", "期首残高", "入金", "2026年1月1日"]),
        # Optional vowel marks (the tanwin of شكرًا) are left out when letters are joined.
        ("ar", ["إيصال دفع", "المبلغ المستلم", "شيك", "شكرا لك على الدفع"],
         ["كشف حساب", "الرصيد الافتتاحي", "دفعة مستلمة", "يناير"]),
    ],
)  # fmt: skip
async def test_receipts_and_statements_are_in_the_customers_language(
    client, world: World, language: str, receipt_words: list[str], statement_words: list[str]
) -> None:
    invoice = await euro_invoice(client, world, language)
    recorded = await record(client, world, (invoice, "100"))
    assert recorded["errors"] == [], recorded
    paid = recorded["payment"]
    contact = world.tokens["contact_a"]
    receipt = await download(client, f"/payments/{paid['id']}/receipt.pdf", contact)
    content = unicodedata.normalize("NFKC", text(receipt))
    for expected in (paid["number"], invoice["number"], *receipt_words):
        assert unicodedata.normalize("NFKC", expected) in content, expected
    assert "Payment receipt" not in content and "Amount received" not in content

    body = await gql(client, STATEMENT, {"from": "2026-01-01", "to": "2026-11-30"}, token=contact)
    path = body["data"]["statementOfAccounts"]["pdfUrl"].removeprefix("http://127.0.0.1:8000")
    content = unicodedata.normalize("NFKC", text(await download(client, path, contact)))
    for expected in (invoice["number"], paid["number"], *statement_words):
        assert unicodedata.normalize("NFKC", expected) in content, expected
    assert "Statement of accounts" not in content and "Opening balance" not in content


LIVE_AMOUNTS = """subscription { portalActivity { node { amount { formatted } } } }"""


@pytest.mark.slow
async def test_live_amounts_are_formatted_in_each_subscribers_language(db, world: World) -> None:
    await Customer.filter(id=world.customer_a.id).update(portal_language="de")
    async with (
        websocket_client(db) as http,
        graphql_ws.connect(http, token=world.tokens["contact_a"]) as german,
        graphql_ws.connect(http, token=world.tokens["staff"]) as english,
    ):
        for ws in (german, english):
            await ws.subscribe(LIVE_AMOUNTS)
        await following(2)
        await payment(world, amount_minor=370350)
        for ws, formatted in ((german, "3.703,50\xa0$"), (english, "$3,703.50")):
            message = await ws.receive()
            node = message["payload"]["data"]["portalActivity"]["node"]
            assert node == {"amount": {"formatted": formatted}}
