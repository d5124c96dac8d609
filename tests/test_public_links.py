"""Documents shared by public link: who sees what, identity verification by one-time code, and
paying through the link."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from auth.tokens import hash_token
from models.outbox import OutboxMessage
from models.payments import IdempotencyKey, Payment
from models.preferences import PortalPreferences
from models.sharing import LinkAction, PublicLink, PublicLinkAccess, VerificationCode
from resolvers.preferences import preferences_for
from tests.conftest import World, email_body, gid, gql
from tests.test_online_payments import charges_for, invoice
from tests.test_online_payments import pay as pay_in_portal

USER_AGENT = "LinkTester/1.0"
SHARE = """mutation($id: ID!, $days: Int! = 30) {
  shareSalesDocument(input: {documentId: $id, expiresInDays: $days}) {
    publicLink { id url expiresAt revokedAt createdAt } errors { code field } } }"""
OPEN = """query($token: String!, $visit: String) {
  publicDocument(token: $token, visitToken: $visit) {
    organizationName kind number amountDue { amount currency } payable verificationRequired
    verificationChannels { channel maskedDestination }
    details { status issueDate customerName total { amount } pdfUrl
      lineItems { name quantity amount { amount } } } } }"""
REVOKE = """mutation($id: ID!) { revokePublicLink(input: {id: $id}) {
  publicLink { revokedAt } errors { code } } }"""
REVOKE_ALL = """mutation($id: ID!) { revokeAllPublicLinks(input: {documentId: $id}) {
  revokedCount errors { code } } }"""
LINKS = """query($id: ID!) { publicLinks(documentId: $id) { totalCount nodes { url isActive
  accesses { nodes { action ipAddress userAgent accessedAt } } } } }"""
REQUEST_CODE = """mutation($token: String!, $channel: CodeChannel! = EMAIL) {
  requestPublicLinkCode(input: {token: $token, channel: $channel}) {
    maskedDestination errors { code field } } }"""
VERIFY = """mutation($token: String!, $code: String!) {
  verifyPublicLinkCode(input: {token: $token, code: $code}) { visitToken errors { code } } }"""
PAY = """mutation($token: String!, $key: String!, $amount: Decimal!, $card: String! = "tok_visa") {
  payPublicDocument(input: {token: $token, idempotencyKey: $key, amount: $amount,
    paymentToken: $card}) { payment { number status amount { amount } } errors { code field } } }"""


@pytest.fixture(autouse=True)
def browser(client) -> None:
    client.headers["User-Agent"] = USER_AGENT


async def share(client, world: World, document: dict, **variables) -> str:
    body = await gql(client, SHARE, {"id": document["id"], **variables},
                     token=world.tokens["staff"])  # fmt: skip
    result = body["data"]["shareSalesDocument"]
    assert result["errors"] == [], result
    return re.search(r"#token=(pl_[\w-]+)$", result["publicLink"]["url"]).group(1)


async def view(client, token: str, visit: str | None = None) -> dict:
    return await gql(client, OPEN, {"token": token, "visit": visit})


async def verification(world: World) -> None:
    await preferences_for(world.org_a.id)  # created on first use
    await PortalPreferences.filter(organization_id=world.org_a.id).update(
        verify_identity_for_public_links=True
    )


async def emailed_code() -> str:
    message = await OutboxMessage.filter(template="public_link_code").order_by("-id").first()
    return re.search(r"^\s+(\d{6})$", email_body(message).text, re.MULTILINE).group(1)


def refusal(body: dict) -> tuple[str, str]:
    [error] = body["errors"]
    return error["extensions"]["code"], error["message"]


async def test_share_open_and_see_the_access_log(client, world: World) -> None:
    document = await invoice(client, world)
    token = await share(client, world, document)
    link = await PublicLink.get()
    assert link.token_hash == hash_token(token) and token not in link.token_hash
    assert link.expires_at - datetime.now(UTC) > timedelta(days=29)

    shown = (await view(client, token))["data"]["publicDocument"]
    assert shown["organizationName"] == "Alpha Trading" and shown["kind"] == "INVOICE"
    assert shown["amountDue"] == {"amount": "100.00", "currency": "USD"} and shown["payable"]
    assert shown["verificationRequired"] is False and shown["verificationChannels"] == []
    details = shown["details"]
    assert (details["status"], details["customerName"]) == ("SENT", "Acorn Ltd")
    assert details["lineItems"] == [
        {"name": "Item", "quantity": "1.0000", "amount": {"amount": "100.00"}}
    ]
    assert details["pdfUrl"] == f"http://127.0.0.1:8000/public/{token}/pdf"

    body = await gql(client, LINKS, {"id": document["id"]}, token=world.tokens["staff"])
    [listed] = body["data"]["publicLinks"]["nodes"]
    assert listed["url"] is None and listed["isActive"]  # the secret is never shown again
    [access] = listed["accesses"]["nodes"]
    assert access["action"] == "VIEW" and access["userAgent"] == USER_AGENT
    assert access["ipAddress"] == "127.0.0.1" and access["accessedAt"]
    assert (await PublicLink.get()).last_used_at is not None


async def test_expired_revoked_and_altered_links_get_the_same_refusal(client, world: World) -> None:
    document = await invoice(client, world)
    tokens = [await share(client, world, document) for _ in range(4)]
    expired, revoked, revoked_all, intact = tokens
    await PublicLink.filter(token_hash=hash_token(expired)).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    link = await PublicLink.get(token_hash=hash_token(revoked))
    body = await gql(client, REVOKE, {"id": gid("PublicLink", link)}, token=world.tokens["staff"])
    assert body["data"]["revokePublicLink"]["publicLink"]["revokedAt"]
    altered = intact[:-1] + ("A" if intact[-1] != "A" else "B")
    assert (await view(client, intact))["data"]["publicDocument"]["number"] == "INV-000001"
    body = await gql(client, REVOKE_ALL, {"id": document["id"]}, token=world.tokens["staff"])
    assert body["data"]["revokeAllPublicLinks"] == {"revokedCount": 2, "errors": []}

    answers = set()
    for token in (expired, revoked, revoked_all, intact, altered, "pl_", "nonsense"):
        body = await view(client, token)
        assert body["data"] is None
        answers.add(refusal(body))
        response = await client.get(f"/public/{token}/pdf")
        assert response.status_code == 404 and response.headers["cache-control"] == "no-store"
    assert answers == {("LINK_INVALID", "This link is not valid. Ask the sender for a new one.")}
    assert await PublicLinkAccess.filter(action=LinkAction.VIEW).count() == 1


async def test_only_sent_documents_are_shared_and_only_by_their_staff(client, world: World) -> None:
    from tests.test_documents import create

    draft = await create(client, world)
    body = await gql(client, SHARE, {"id": draft["id"]}, token=world.tokens["staff"])
    assert body["data"]["shareSalesDocument"]["errors"][0]["code"] == "INVALID_TRANSITION"
    document = await invoice(client, world)
    for days in (0, 366):
        body = await gql(client, SHARE, {"id": document["id"], "days": days},
                         token=world.tokens["staff"])  # fmt: skip
        assert body["data"]["shareSalesDocument"]["errors"] == [
            {"code": "INVALID", "field": ["expiresInDays"]}
        ]
    body = await gql(client, SHARE, {"id": document["id"]}, token=world.tokens["staff_other_org"])
    assert body["data"]["shareSalesDocument"]["errors"][0]["code"] == "NOT_FOUND"

    await share(client, world, document)
    link_id = gid("PublicLink", await PublicLink.get())
    other = await gql(client, REVOKE, {"id": link_id}, token=world.tokens["staff_other_org"])
    assert other["data"]["revokePublicLink"]["errors"] == [{"code": "NOT_FOUND"}]
    assert (await PublicLink.get()).revoked_at is None
    body = await gql(client, LINKS, {"id": document["id"]}, token=world.tokens["staff_other_org"])
    assert body["data"]["publicLinks"]["totalCount"] == 0
    for who, code in (("anonymous", "UNAUTHENTICATED"), ("contact_a", "FORBIDDEN")):
        body = await gql(client, LINKS, {"id": document["id"]}, token=world.tokens.get(who))
        assert refusal(body)[0] == code
        node = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": link_id},
                         token=world.tokens.get(who))  # fmt: skip
        assert refusal(node)[0] == code


async def test_verification_hides_the_details_but_not_the_amount_due(client, world: World) -> None:
    await verification(world)
    document = await invoice(client, world)
    token = await share(client, world, document)
    shown = (await view(client, token))["data"]["publicDocument"]
    assert shown["verificationRequired"] is True and shown["details"] is None
    assert shown["amountDue"]["amount"] == "100.00" and shown["payable"] is True
    assert shown["verificationChannels"] == [
        {"channel": "EMAIL", "maskedDestination": "a•••@acorn.example"}
    ]
    assert (await client.get(f"/public/{token}/pdf")).status_code == 403
    body = await gql(client, REQUEST_CODE, {"token": token, "channel": "SMS"})
    assert body["data"]["requestPublicLinkCode"]["errors"] == [
        {"code": "INVALID", "field": ["channel"]}
    ]


@pytest.mark.slow
async def test_an_emailed_code_opens_a_verified_visit(client, world: World) -> None:
    await verification(world)
    document = await invoice(client, world)
    token = await share(client, world, document)
    body = await gql(client, REQUEST_CODE, {"token": token})
    assert body["data"]["requestPublicLinkCode"] == {
        "maskedDestination": "a•••@acorn.example", "errors": []
    }  # fmt: skip
    message = await OutboxMessage.get(template="public_link_code")
    assert message.to_address == "ann@acorn.example" and "INV-000001" in message.subject
    code = await emailed_code()
    stored = await VerificationCode.get()
    assert code not in stored.code_hash and stored.code_hash != hash_token(code)

    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answers = [
        (await gql(client, VERIFY, {"token": token, "code": wrong}))["data"]
        ["verifyPublicLinkCode"]["errors"][0]["code"]
        for _ in range(5)
    ]  # fmt: skip
    assert answers == ["INVALID_CODE"] * 5
    dead = await gql(client, VERIFY, {"token": token, "code": code})
    assert dead["data"]["verifyPublicLinkCode"]["errors"] == [{"code": "TOKEN_EXPIRED"}]

    await gql(client, REQUEST_CODE, {"token": token})
    code = await emailed_code()
    body = await gql(client, VERIFY, {"token": token, "code": f" {code} "})
    visit = body["data"]["verifyPublicLinkCode"]["visitToken"]
    assert visit.startswith("plv_")
    again = await gql(client, VERIFY, {"token": token, "code": code})
    assert again["data"]["verifyPublicLinkCode"]["errors"] == [{"code": "TOKEN_EXPIRED"}]

    shown = (await view(client, token, visit))["data"]["publicDocument"]
    assert shown["verificationRequired"] is False and shown["verificationChannels"] == []
    assert shown["details"]["total"] == {"amount": "100.00"}
    assert shown["details"]["pdfUrl"].endswith(f"/public/{token}/pdf?visit={visit}")
    pdf = await client.get(f"/public/{token}/pdf", params={"visit": visit})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'inline; filename="INV-000001.pdf"'
    assert pdf.headers["cache-control"] == "no-store"
    assert pdf.headers["referrer-policy"] == "no-referrer"
    other_visit = await gql(client, OPEN, {"token": token, "visit": "plv_forged"})
    assert other_visit["data"]["publicDocument"]["details"] is None

    actions = [a.action for a in await PublicLinkAccess.all().order_by("id")]
    assert actions.count(LinkAction.CODE_SENT) == 2 and actions.count(LinkAction.VERIFIED) == 1
    assert actions.count(LinkAction.CODE_REFUSED) == 7 and LinkAction.PDF in actions


async def test_expired_codes_and_too_many_requests_are_refused(client, world: World) -> None:
    await verification(world)
    token = await share(client, world, await invoice(client, world))
    await gql(client, REQUEST_CODE, {"token": token})
    code = await emailed_code()
    await VerificationCode.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    body = await gql(client, VERIFY, {"token": token, "code": code})
    assert body["data"]["verifyPublicLinkCode"]["errors"] == [{"code": "TOKEN_EXPIRED"}]

    answers = [
        (await gql(client, REQUEST_CODE, {"token": token}))["data"]["requestPublicLinkCode"]
        for _ in range(3)
    ]
    assert [a["errors"] for a in answers] == [[], [], [{"code": "RATE_LIMITED", "field": None}]]
    assert await OutboxMessage.filter(template="public_link_code").count() == 3
    assert await VerificationCode.all().count() == 1  # a new code replaces the old one


async def test_a_code_by_sms_goes_to_the_log(client, world: World, caplog) -> None:
    await verification(world)
    world.contact_a.mobile = "+1 (555) 010-0199"
    await world.contact_a.save()
    token = await share(client, world, await invoice(client, world))
    channels = (await view(client, token))["data"]["publicDocument"]["verificationChannels"]
    assert {"channel": "SMS", "maskedDestination": "•••• 0199"} in channels
    with caplog.at_level(logging.INFO, logger="portico.sms"):
        body = await gql(client, REQUEST_CODE, {"token": token, "channel": "SMS"})
    assert body["data"]["requestPublicLinkCode"]["maskedDestination"] == "•••• 0199"
    [record] = [r for r in caplog.records if r.name == "portico.sms"]
    assert "+1 (555) 010-0199" in record.getMessage()
    code = re.search(r"is (\d{6})", record.getMessage()).group(1)
    body = await gql(client, VERIFY, {"token": token, "code": code})
    assert body["data"]["verifyPublicLinkCode"]["visitToken"]


async def test_paying_by_link_needs_no_verification(client, world: World) -> None:
    await verification(world)
    document = await invoice(client, world)
    token = await share(client, world, document)
    key = uuid.uuid4().hex
    first = await gql(client, PAY, {"token": token, "key": key, "amount": "100"})
    result = first["data"]["payPublicDocument"]
    assert result["errors"] == [] and result["payment"]["status"] == "SUCCEEDED"
    again = await gql(client, PAY, {"token": token, "key": key, "amount": "100"})
    assert again["data"]["payPublicDocument"] == result
    payment = await Payment.get()
    assert payment.paid_by_id is None and len(await charges_for(gid("Payment", payment))) == 1
    shown = (await view(client, token))["data"]["publicDocument"]
    assert shown["amountDue"]["amount"] == "0.00" and shown["payable"] is False
    assert await PublicLinkAccess.filter(action=LinkAction.PAY).count() == 2

    # The link's keys live apart from the contact's own: the same key pays another invoice.
    other = await invoice(client, world)
    paid = await pay_in_portal(client, world, (other, "100"), key=key)
    assert paid["errors"] == [] and paid["payment"]["status"] == "SUCCEEDED"
    assert await IdempotencyKey.all().count() == 2


async def test_paying_by_link_follows_the_payment_rules(client, world: World) -> None:
    document = await invoice(client, world)
    token = await share(client, world, document)
    too_much = await gql(client, PAY, {"token": token, "key": uuid.uuid4().hex, "amount": "150"})
    assert too_much["data"]["payPublicDocument"]["errors"] == [
        {"code": "EXCEEDS_BALANCE", "field": ["amount"]}
    ]
    part = await gql(client, PAY, {"token": token, "key": uuid.uuid4().hex, "amount": "10"})
    assert part["data"]["payPublicDocument"]["errors"][0]["code"] == "PARTIAL_PAYMENT_NOT_ALLOWED"
    from tests.test_documents import SEND, create

    quote = await create(client, world, kind="QUOTE")
    await gql(client, SEND, {"id": quote["id"]}, token=world.tokens["staff"])
    quote_token = await share(client, world, quote)
    body = await gql(client, PAY, {"token": quote_token, "key": uuid.uuid4().hex, "amount": "1"})
    assert body["data"]["payPublicDocument"]["errors"][0]["code"] == "INVALID"
    assert await Payment.all().count() == 0


@pytest.mark.parametrize("card", ["tok_declined"])
async def test_declined_cards_are_limited_per_link(client, world: World, card: str) -> None:
    token = await share(client, world, await invoice(client, world))
    codes = []
    for _ in range(6):
        body = await gql(client, PAY, {"token": token, "key": uuid.uuid4().hex, "amount": "100",
                                       "card": card})  # fmt: skip
        codes.append(body["data"]["payPublicDocument"]["errors"][0]["code"])
    assert codes == ["PAYMENT_DECLINED"] * 5 + ["RATE_LIMITED"]
