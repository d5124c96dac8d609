"""Staff following outgoing email through the API: a contact's last invitation email and the
administrators' list of the organization's email, with real SMTP failures and recoveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from integrations.mailer import mailer_from_url
from integrations.outbox import deliver_once
from models.customers import ContactPerson
from models.outbox import OutboxMessage
from resolvers.email import enqueue_email
from tests.conftest import QueryCounter, World, error_codes, gid, gql
from tests.smtp import SmtpServer

ENABLE = """mutation($ids: [ID!]!) { enablePortalAccess(input: {contactIds: $ids}) {
  errors { code } } }"""
REINVITE = """mutation($id: ID!) { reinviteContact(input: {contactId: $id}) { errors { code } } }"""
LAST_INVITATION = """query($id: ID!) { node(id: $id) { ... on ContactPerson {
  lastInvitationEmail { recipient kind status attempts retrying failureReason nextAttemptAt
                        queuedAt sentAt contactPerson { email } } } } }"""
OUTGOING = """query($first: Int, $after: String, $filter: OutgoingEmailFilter) {
  outgoingEmails(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id recipient kind subject status attempts failureReason sentAt } } }"""
OPEN_ONE = "query($id: ID!) { node(id: $id) { ... on OutgoingEmail { recipient } } }"


async def new_contact(world: World, email: str) -> ContactPerson:
    return await ContactPerson.create(
        organization=world.org_a, customer=world.customer_a, first_name="Dana", email=email
    )


async def invite(client, world: World, *contacts: ContactPerson) -> None:
    ids = [gid("ContactPerson", contact) for contact in contacts]
    body = await gql(client, ENABLE, {"ids": ids}, token=world.tokens["staff"])
    assert body["data"]["enablePortalAccess"]["errors"] == []


async def last_invitation(client, world: World, contact: ContactPerson, principal: str = "staff"):
    body = await gql(
        client,
        LAST_INVITATION,
        {"id": gid("ContactPerson", contact)},
        token=world.tokens[principal],
    )
    assert "errors" not in body, body
    return body["data"]["node"]["lastInvitationEmail"]


async def deliver_due(mailer) -> None:
    await OutboxMessage.all().update(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
    while await deliver_once(mailer, "test"):
        pass


async def test_an_invitation_while_smtp_is_down_shows_retrying_then_sent(
    client, world: World, smtp: SmtpServer
) -> None:
    contact = await new_contact(world, "dana@acorn.example")
    assert await last_invitation(client, world, contact) is None
    mailer = mailer_from_url(smtp.url)
    smtp.stop()
    await invite(client, world, contact)

    queued = await last_invitation(client, world, contact)
    assert queued["status"] == "QUEUED" and queued["attempts"] == 0
    assert not queued["retrying"] and queued["failureReason"] is None
    assert queued["recipient"] == "dana@acorn.example" and queued["kind"] == "portal_invitation"
    assert queued["contactPerson"] == {"email": "dana@acorn.example"}
    assert queued["queuedAt"] and queued["sentAt"] is None

    await deliver_due(mailer)
    retrying = await last_invitation(client, world, contact)
    assert retrying["status"] == "QUEUED" and retrying["retrying"] is True
    assert retrying["attempts"] == 1 and "ConnectError" in retrying["failureReason"]
    assert retrying["nextAttemptAt"] > retrying["queuedAt"]

    smtp.start()
    await deliver_due(mailer)
    sent = await last_invitation(client, world, contact)
    assert sent["status"] == "SENT" and sent["attempts"] == 2 and not sent["retrying"]
    assert sent["failureReason"] is None and sent["nextAttemptAt"] is None and sent["sentAt"]
    assert [m["To"] for m in smtp.inbox.messages] == ["dana@acorn.example"]


async def test_a_refused_invitation_shows_failed_with_the_reason_until_sent_again(
    client, world: World, smtp: SmtpServer
) -> None:
    contact = await new_contact(world, "gone@acorn.example")
    smtp.inbox.refuse["gone@acorn.example"] = "550 5.1.1 No such user here"
    mailer = mailer_from_url(smtp.url)
    await invite(client, world, contact)
    await deliver_due(mailer)

    failed = await last_invitation(client, world, contact)
    assert failed["status"] == "FAILED" and failed["attempts"] == 1 and not failed["retrying"]
    assert "550" in failed["failureReason"] and "No such user here" in failed["failureReason"]
    assert failed["nextAttemptAt"] is None and failed["sentAt"] is None

    # The address is fixed at the mail server; staff send the invitation again.
    del smtp.inbox.refuse["gone@acorn.example"]
    body = await gql(client, REINVITE, {"id": gid("ContactPerson", contact)},
                     token=world.tokens["staff"])  # fmt: skip
    assert body["data"]["reinviteContact"]["errors"] == []
    assert (await last_invitation(client, world, contact))["status"] == "QUEUED"
    await deliver_due(mailer)
    assert (await last_invitation(client, world, contact))["status"] == "SENT"
    assert len(smtp.inbox.messages) == 1

    listed = await gql(client, OUTGOING, {}, token=world.tokens["admin"])
    emails = listed["data"]["outgoingEmails"]["nodes"]
    assert [(e["recipient"], e["status"]) for e in emails] == [
        ("gone@acorn.example", "SENT"),
        ("gone@acorn.example", "FAILED"),
    ]


class QuotingMailer:
    """A mail server whose refusal quotes the message it was given, link included."""

    async def send(self, message: EmailMessage) -> None:
        text = message.get_body(("plain",)).get_content()
        link = next(word for word in text.split() if "token=" in word)
        raise RuntimeError(f"451 cannot take {link} now")


async def test_a_failure_reason_never_shows_the_link(client, world: World) -> None:
    contact = await new_contact(world, "dana@acorn.example")
    await invite(client, world, contact)
    await deliver_due(QuotingMailer())

    retrying = await last_invitation(client, world, contact)
    reason = retrying["failureReason"]
    assert reason.startswith("RuntimeError: 451 cannot take ") and "token=[removed]" in reason
    assert "inv_" not in reason
    listed = await gql(client, OUTGOING, {}, token=world.tokens["admin"])
    assert listed["data"]["outgoingEmails"]["nodes"][0]["failureReason"] == reason


async def test_outgoing_emails_newest_first_filtered_and_paged(
    client, world: World, smtp: SmtpServer
) -> None:
    contacts = [await new_contact(world, f"c{i}@acorn.example") for i in range(3)]
    smtp.inbox.refuse["c1@acorn.example"] = "550 5.1.1 No such user"
    for contact in contacts:  # one at a time, so that each is queued after the one before
        await invite(client, world, contact)
    await deliver_due(mailer_from_url(smtp.url))
    await enqueue_email(to="dana@beta.example", template="portal_invitation",
                        context={"organization_name": "Beta Goods", "contact_name": "Dana",
                                 "link": "https://beta.example/"},
                        language="en", organization_id=world.org_b.id)  # fmt: skip

    admin = world.tokens["admin"]
    body = await gql(client, OUTGOING, {"first": 2}, token=admin)
    page = body["data"]["outgoingEmails"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"]
    assert [e["recipient"] for e in page["nodes"]] == ["c2@acorn.example", "c1@acorn.example"]
    assert page["nodes"][0]["subject"] == "Alpha Trading invites you to its customer portal"
    after = page["pageInfo"]["endCursor"]
    rest = await gql(client, OUTGOING, {"first": 2, "after": after}, token=admin)
    assert [e["recipient"] for e in rest["data"]["outgoingEmails"]["nodes"]] == ["c0@acorn.example"]
    assert not rest["data"]["outgoingEmails"]["pageInfo"]["hasNextPage"]

    failed = await gql(client, OUTGOING, {"filter": {"status": "FAILED"}}, token=admin)
    [refused] = failed["data"]["outgoingEmails"]["nodes"]
    assert refused["recipient"] == "c1@acorn.example" and "550" in refused["failureReason"]
    sent = await gql(client, OUTGOING, {"filter": {"status": "SENT"}}, token=admin)
    assert sent["data"]["outgoingEmails"]["totalCount"] == 2
    queued = await gql(client, OUTGOING, {"filter": {"status": "QUEUED"}}, token=admin)
    assert queued["data"]["outgoingEmails"]["totalCount"] == 0
    one = await gql(client, OUTGOING, {"filter": {"recipient": "C0@acorn.example"}}, token=admin)
    assert [e["recipient"] for e in one["data"]["outgoingEmails"]["nodes"]] == ["c0@acorn.example"]

    other = await gql(client, OUTGOING, {}, token=world.tokens["staff_other_org"])
    assert [e["recipient"] for e in other["data"]["outgoingEmails"]["nodes"]] == [
        "dana@beta.example"
    ]
    too_many = await gql(client, OUTGOING, {"first": 101}, token=admin)
    assert error_codes(too_many) == ["BAD_USER_INPUT"] and too_many["data"] is None


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("admin", "ALLOWED"),
        ("staff", "FORBIDDEN"),
        ("contact_a", "FORBIDDEN"),
        ("partner", "FORBIDDEN"),
        ("partner_no_scope", "FORBIDDEN"),
        ("anonymous", "UNAUTHENTICATED"),
    ],
)
async def test_only_administrators_list_outgoing_email_or_open_one(
    client, world: World, principal: str, expected: str
) -> None:
    contact = await new_contact(world, "dana@acorn.example")
    await invite(client, world, contact)
    [row] = await OutboxMessage.all()
    token = world.tokens.get(principal)

    listed = await gql(client, OUTGOING, {}, token=token)
    by_id = await gql(client, OPEN_ONE, {"id": gid("OutgoingEmail", row)}, token=token)
    if expected == "ALLOWED":
        assert [e["recipient"] for e in listed["data"]["outgoingEmails"]["nodes"]] == [
            "dana@acorn.example"
        ]
        assert by_id["data"]["node"] == {"recipient": "dana@acorn.example"}
    else:
        assert error_codes(listed) == [expected] and listed["data"] is None
        assert error_codes(by_id) == [expected] and not by_id["data"]["node"]
    other_admin = await gql(client, OUTGOING, {}, token=world.tokens["staff_other_org"])
    assert other_admin["data"]["outgoingEmails"]["totalCount"] == 0


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("staff", "QUEUED"),
        ("admin", "QUEUED"),
        ("contact_a", "FORBIDDEN"),
        ("partner", "FORBIDDEN"),
    ],
)
async def test_last_invitation_email_is_for_staff_only(
    client, world: World, principal: str, expected: str
) -> None:
    """Contacts of the same customer see each other, but not the business's mail problems."""
    contact = await new_contact(world, "dana@acorn.example")
    await invite(client, world, contact)
    body = await gql(client, LAST_INVITATION, {"id": gid("ContactPerson", contact)},
                     token=world.tokens[principal])  # fmt: skip
    if expected == "FORBIDDEN":
        assert error_codes(body) == ["FORBIDDEN"]
        assert body["data"]["node"] is None or body["data"]["node"]["lastInvitationEmail"] is None
    else:
        assert body["data"]["node"]["lastInvitationEmail"]["status"] == expected


async def test_last_invitation_emails_of_a_page_cost_the_same_statements(
    client, world: World, count_queries: QueryCounter
) -> None:
    query = """query($first: Int) { contactPersons(first: $first) { nodes { email
      lastInvitationEmail { status attempts contactPerson { email } } } } }"""
    contacts = [await new_contact(world, f"c{i}@acorn.example") for i in range(6)]
    await invite(client, world, *contacts[:5])
    await invite(client, world, contacts[0])  # invited again: its latest email counts

    def statuses(body) -> dict:
        return {
            n["email"]: n["lastInvitationEmail"] and n["lastInvitationEmail"]["status"]
            for n in body["data"]["contactPersons"]["nodes"]
        }

    counts = {}
    for first in (2, 8):
        count_queries.reset()
        body = await gql(client, query, {"first": first}, token=world.tokens["staff"])
        counts[first] = count_queries.count
        assert len(statuses(body)) == first
    assert counts[2] == counts[8]
    assert statuses(body) == {
        **{c.email: "QUEUED" for c in contacts[:5]},
        "c5@acorn.example": None,
        "ann@acorn.example": None,
        "bob@birch.example": None,
    }
    assert await OutboxMessage.filter(contact_id=contacts[0].id).count() == 2
