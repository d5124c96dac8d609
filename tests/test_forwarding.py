"""Contacts forward documents by email with the PDF attached; the recipient becomes a contact."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from integrations import outbox
from models.activity import Activity, ActivityKind
from models.customers import ContactPerson
from models.outbox import OutboxMessage
from server.attachments import load_attachment
from tests.conftest import World, email_body, gid, gql
from tests.test_documents import SEND, create

FORWARD = """mutation($id: ID!, $to: String!, $message: String!) {
  forwardSalesDocument(input: {id: $id, to: $to, message: $message}) {
    sentTo errors { code field } } }"""


async def sent(client, world: World, **overrides) -> dict:
    document = await create(client, world, **overrides)
    await gql(client, SEND, {"id": document["id"]}, token=world.tokens["staff"])
    return document


async def forward(
    client, world: World, document_id: str, to: str = "cfo@acorn.example",
    message: str = "Please pay this one.", contact: str = "contact_a",
) -> dict:  # fmt: skip
    body = await gql(client, FORWARD, {"id": document_id, "to": to, "message": message},
                     token=world.tokens[contact])  # fmt: skip
    assert "errors" not in body, body
    return body["data"]["forwardSalesDocument"]


class Outgoing:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


@pytest.mark.slow
async def test_a_forwarded_invoice_goes_out_with_its_pdf(client, world: World) -> None:
    invoice = await sent(client, world)
    result = await forward(client, world, invoice["id"])
    assert result == {"sentTo": "cfo@acorn.example", "errors": []}
    row = await OutboxMessage.get(template="document_forward")
    assert (row.to_address, row.reply_to) == ("cfo@acorn.example", "ann@acorn.example")
    assert invoice["number"] in row.subject and "Please pay this one." in email_body(row).text
    new_contact = await ContactPerson.get(
        customer_id=world.customer_a.id, email="cfo@acorn.example"
    )
    assert new_contact.portal_access == "NOT_INVITED"
    assert await Activity.filter(kind=ActivityKind.DOCUMENT_FORWARDED).count() == 1
    await forward(client, world, invoice["id"], to="CFO@acorn.example")
    assert await ContactPerson.filter(email__iexact="cfo@acorn.example").count() == 1
    # Another customer's contact keeps their address to themselves: no second person with it.
    await forward(client, world, invoice["id"], to=world.contact_b.email)
    assert await ContactPerson.filter(email__iexact=world.contact_b.email).count() == 1

    mailer = Outgoing()
    outbox.use_attachment_loader(load_attachment)
    while await outbox.deliver_once(mailer, "test-worker"):
        pass
    [first, _, _] = mailer.sent
    [attachment] = list(first.iter_attachments())
    assert attachment.get_filename() == f"{invoice['number']}.pdf"
    assert attachment.get_content().startswith(b"%PDF")


async def test_forwarding_follows_the_rules(client, world: World) -> None:
    invoice = await sent(client, world)
    credit = await sent(client, world, kind="CREDIT_NOTE")
    theirs = await sent(client, world, customerId=gid("Customer", world.customer_b))
    cases = [
        (credit["id"], "x@example.com", "NOT_FOUND"),
        (theirs["id"], "x@example.com", "NOT_FOUND"),
        (invoice["id"], "not an address", "INVALID_EMAIL"),
    ]
    for document_id, to, code in cases:
        result = await forward(client, world, document_id, to=to)
        assert result["errors"][0]["code"] == code
    await gql(client, "mutation { updatePortalPreferences(input: {allowForwarding: false}) "
              "{ errors { code } } }", token=world.tokens["admin"])  # fmt: skip
    off = await forward(client, world, invoice["id"])
    assert off["errors"] == [{"code": "FORWARDING_OFF", "field": None}]
    assert await OutboxMessage.filter(template="document_forward").count() == 0


async def test_forwarding_is_rate_limited(client, world: World) -> None:
    invoice = await sent(client, world)
    results = [await forward(client, world, invoice["id"]) for _ in range(21)]
    assert [r["errors"] for r in results[:20]] == [[]] * 20
    assert results[20]["errors"][0]["code"] == "RATE_LIMITED"
