"""Comments on sales documents: the thread, who may write and delete, and who hears of them."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import EmailMessage

from auth import passwords
from auth.api_keys import ApiScope, issue_api_key
from auth.sessions import SessionPolicy, start_session
from integrations import broker, outbox
from models.activity import Activity, ActivityKind, Notification
from models.comments import Comment
from models.customers import ContactPerson, Customer, PortalAccess
from models.outbox import OutboxMessage
from resolvers import activity, links
from tests import graphql_ws
from tests.conftest import PASSWORD, World, email_body, error_codes, gql, until
from tests.test_activity import websocket_client
from tests.test_documents import create
from tests.test_forwarding import sent

ADD = """mutation($id: ID!, $body: String!, $internal: Boolean! = false) {
  addComment(input: {documentId: $id, body: $body, internal: $internal}) {
    comment { id body authorKind authorName createdAt viewerCanDelete }
    errors { code field message } } }"""
DELETE = """mutation($id: ID!) { deleteComment(input: {id: $id}) {
  deletedId errors { code field } } }"""
THREAD = """query($id: ID!, $first: Int, $after: String) { salesDocument(id: $id) {
  comments(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id body authorKind authorName createdAt viewerCanDelete } } } }"""
NODE = "query($id: ID!) { node(id: $id) { ... on Comment { body } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Comment { body } } }"
FEED = "{ activities { nodes { kind excerpt visibleToCustomer } } }"
PREFERENCES = """mutation($input: UpdatePortalPreferencesInput!) {
  updatePortalPreferences(input: $input) { errors { code } } }"""
SUBSCRIBE = "subscription { portalActivity { node { kind documentNumber excerpt } } }"


async def add(
    client, world: World, document_id: str, body: str, *, who: str = "staff",
    internal: bool = False,
) -> dict:  # fmt: skip
    variables = {"id": document_id, "body": body, "internal": internal}
    response = await gql(client, ADD, variables, token=world.tokens[who])
    assert "errors" not in response, response
    return response["data"]["addComment"]


async def posted(client, world: World, document_id: str, body: str, **options) -> dict:
    result = await add(client, world, document_id, body, **options)
    assert result["errors"] == [], result
    return result["comment"]


async def delete(client, world: World, comment_id: str, who: str) -> dict:
    return await gql(client, DELETE, {"id": comment_id}, token=world.tokens[who])


async def thread(client, world: World, document_id: str, who: str, **paging) -> dict:
    body = await gql(client, THREAD, {"id": document_id, **paging}, token=world.tokens[who])
    assert "errors" not in body, body
    return body["data"]["salesDocument"]["comments"]


async def set_preferences(client, world: World, **values) -> None:
    body = await gql(client, PREFERENCES, {"input": values}, token=world.tokens["admin"])
    assert body["data"]["updatePortalPreferences"]["errors"] == [], body


async def second_contact(world: World) -> tuple[ContactPerson, str]:
    """Another contact of customer A with portal access, and its session token."""
    contact = await ContactPerson.create(
        organization=world.org_a, customer=world.customer_a, first_name="Al",
        last_name="Acorn", email="al@acorn.example", portal_access=PortalAccess.ACTIVE,
        password_hash=await passwords.hash_password(PASSWORD),
    )  # fmt: skip
    policy = SessionPolicy(idle=timedelta(hours=1), absolute=timedelta(hours=1))
    token, _ = await start_session(policy, contact=contact)
    return contact, token


class Outgoing:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


async def delivered() -> list[EmailMessage]:
    mailer = Outgoing()
    while await outbox.deliver_once(mailer, "test-worker"):
        pass
    return mailer.sent


async def test_thread_is_oldest_first_with_authors(client, world: World) -> None:
    invoice = await sent(client, world)
    first = await posted(client, world, invoice["id"], "When is this due?", who="contact_a")
    assert first["authorKind"] == "CONTACT" and first["authorName"] == "Acorn Contact"
    await posted(client, world, invoice["id"], "Friday.")
    await posted(client, world, invoice["id"], "They always pay late.", internal=True)
    await posted(client, world, invoice["id"], "Thanks!", who="contact_a")

    staff = await thread(client, world, invoice["id"], "staff")
    assert staff["totalCount"] == 4
    assert [(c["body"], c["authorKind"], c["authorName"]) for c in staff["nodes"]] == [
        ("When is this due?", "CONTACT", "Acorn Contact"),
        ("Friday.", "STAFF", "Staff"),
        ("They always pay late.", "STAFF", "Staff"),
        ("Thanks!", "CONTACT", "Acorn Contact"),
    ]
    times = [c["createdAt"] for c in staff["nodes"]]
    assert times == sorted(times)

    contact = await thread(client, world, invoice["id"], "contact_a", first=2)
    assert contact["totalCount"] == 3
    assert [c["body"] for c in contact["nodes"]] == ["When is this due?", "Friday."]
    assert [c["viewerCanDelete"] for c in contact["nodes"]] == [True, False]
    assert contact["pageInfo"]["hasNextPage"]
    rest = await thread(client, world, invoice["id"], "contact_a", first=2,
                        after=contact["pageInfo"]["endCursor"])  # fmt: skip
    assert [c["body"] for c in rest["nodes"]] == ["Thanks!"]
    assert not rest["pageInfo"]["hasNextPage"]


async def test_every_kind_of_document_takes_comments(client, world: World) -> None:
    for kind in ("INVOICE", "RETAINER_INVOICE", "QUOTE", "SALES_ORDER", "CREDIT_NOTE"):
        document = await sent(client, world, kind=kind)
        await posted(client, world, document["id"], f"About this {kind}", who="contact_a")
        await posted(client, world, document["id"], "Noted.")
        nodes = (await thread(client, world, document["id"], "contact_a"))["nodes"]
        assert [c["body"] for c in nodes] == [f"About this {kind}", "Noted."]


async def test_internal_comments_never_reach_a_contact(client, db, world: World) -> None:
    invoice = await sent(client, world)
    async with websocket_client(db) as ws_http:
        hub = broker.current().hub  # type: ignore[attr-defined]
        channel = activity.channel_for(world.org_a.id)
        async with (
            graphql_ws.connect(ws_http, token=world.tokens["contact_a"]) as contact_ws,
            graphql_ws.connect(ws_http, token=world.tokens["staff"]) as staff_ws,
        ):
            await contact_ws.subscribe(SUBSCRIBE)
            await staff_ws.subscribe(SUBSCRIBE)
            await until(lambda: hub.subscriber_count(channel) == 2)
            internal = await posted(client, world, invoice["id"], "Secret: write it off",
                                    internal=True)  # fmt: skip
            await posted(client, world, invoice["id"], "Thanks for your order")

            staff_events = [await staff_ws.receive() for _ in range(2)]
            excerpts = [m["payload"]["data"]["portalActivity"]["node"]["excerpt"]
                        for m in staff_events]  # fmt: skip
            assert excerpts == ["Secret: write it off", "Thanks for your order"]
            message = await contact_ws.receive()
            assert message["payload"]["data"]["portalActivity"]["node"] == {
                "kind": "COMMENT_ADDED",
                "documentNumber": "INV-000001",
                "excerpt": "Thanks for your order",
            }
            await contact_ws.expect_silence()

    bodies = [c["body"] for c in (await thread(client, world, invoice["id"], "contact_a"))["nodes"]]
    assert bodies == ["Thanks for your order"]
    by_id = await gql(client, NODE, {"id": internal["id"]}, token=world.tokens["contact_a"])
    assert by_id == {"data": {"node": None}}
    many = await gql(client, NODES, {"ids": [internal["id"]]}, token=world.tokens["contact_a"])
    assert many == {"data": {"nodes": [None]}}
    staff_view = await gql(client, NODE, {"id": internal["id"]}, token=world.tokens["staff"])
    assert staff_view["data"]["node"] == {"body": "Secret: write it off"}

    feed = (await gql(client, FEED, token=world.tokens["contact_a"]))["data"]["activities"]
    assert "Secret" not in str(feed)
    assert {"kind": "COMMENT_ADDED", "excerpt": "Thanks for your order",
            "visibleToCustomer": True} in feed["nodes"]  # fmt: skip
    staff_feed = (await gql(client, FEED, token=world.tokens["staff"]))["data"]["activities"]
    assert {"kind": "COMMENT_ADDED", "excerpt": "Secret: write it off",
            "visibleToCustomer": False} in staff_feed["nodes"]  # fmt: skip

    [email] = await OutboxMessage.filter(template="comment_notification")
    assert "Thanks for your order" in email_body(email).text
    mail = await delivered()
    assert mail and all("Secret" not in message.as_string() for message in mail)


async def test_staff_comment_emails_the_customers_portal_contacts(client, world: World) -> None:
    await Customer.filter(id=world.customer_a.id).update(portal_language="de")
    await second_contact(world)
    for email, access in (("", PortalAccess.ACTIVE), ("inv@acorn.example", PortalAccess.INVITED),
                          ("off@acorn.example", PortalAccess.DISABLED)):  # fmt: skip
        await ContactPerson.create(
            organization=world.org_a, customer=world.customer_a, first_name="X", email=email,
            portal_access=access,
        )  # fmt: skip
    invoice = await sent(client, world)
    await posted(client, world, invoice["id"], "Your order ships Monday.\nRegards")

    rows = await OutboxMessage.filter(template="comment_notification").order_by("to_address")
    assert [row.to_address for row in rows] == ["al@acorn.example", "ann@acorn.example"]
    assert [email_body(row).text.splitlines()[0] for row in rows] == [
        "Hallo Al Acorn,",
        "Hallo Acorn Contact,",
    ]
    row = rows[0]
    assert row.subject == "Neuer Kommentar zur Rechnung INV-000001 von Alpha Trading"
    body = email_body(row)
    assert "Staff von Alpha Trading hat INV-000001 kommentiert:" in body.text
    assert "Your order ships Monday.\nRegards" in body.text
    assert links.current().portal("alpha") in body.text
    assert "Your order ships Monday." in body.html
    assert f'href="{links.current().portal("alpha")}"' in body.html

    quote = await sent(client, world, kind="QUOTE")
    await Customer.filter(id=world.customer_a.id).update(portal_language="es")
    await posted(client, world, quote["id"], "¿Alguna pregunta?")
    spanish = await OutboxMessage.filter(template="comment_notification", subject__contains="QT-")
    assert {row.subject for row in spanish} == {
        "Nuevo comentario en el presupuesto QT-000001 de Alpha Trading"
    }


async def test_no_customer_email_when_preference_off_internal_or_unseen(
    client, world: World
) -> None:
    invoice = await sent(client, world)
    draft = await create(client, world)
    order = await sent(client, world, kind="SALES_ORDER")
    await posted(client, world, invoice["id"], "Internal only", internal=True)
    await posted(client, world, invoice["id"], "From the customer", who="contact_a")
    await posted(client, world, draft["id"], "Before we send it")
    await set_preferences(client, world, showSalesOrders=False)
    await posted(client, world, order["id"], "While the portal hides orders")
    assert await OutboxMessage.filter(template="comment_notification").count() == 0
    added = await Activity.filter(kind=ActivityKind.COMMENT_ADDED).order_by("seq")
    assert [row.visible_to_customer for row in added] == [False, True, False, False]

    await set_preferences(client, world, emailCustomersOnStaffComments=False)
    await posted(client, world, invoice["id"], "Preference off")
    assert await OutboxMessage.filter(template="comment_notification").count() == 0
    await set_preferences(client, world, emailCustomersOnStaffComments=True)
    await posted(client, world, invoice["id"], "Preference on")
    [row] = await OutboxMessage.filter(template="comment_notification")
    assert "Preference on" in email_body(row).text


async def test_a_contacts_comment_notifies_staff(client, world: World) -> None:
    invoice = await sent(client, world)
    await posted(client, world, invoice["id"], "Can we pay in two parts?", who="contact_a")
    query = """{ notifications { nodes { activity { kind documentNumber excerpt
      actor { kind name } } } } }"""
    for who in ("staff", "admin"):
        body = await gql(client, query, token=world.tokens[who])
        assert body["data"]["notifications"]["nodes"] == [
            {
                "activity": {
                    "kind": "COMMENT_ADDED",
                    "documentNumber": "INV-000001",
                    "excerpt": "Can we pay in two parts?",
                    "actor": {"kind": "CONTACT", "name": "Acorn Contact"},
                }
            }
        ]
    await posted(client, world, invoice["id"], "Yes.")  # staff are not told what staff did
    assert await Notification.all().count() == 2


async def test_excerpt_is_short_and_on_one_line(client, world: World) -> None:
    invoice = await sent(client, world)
    await posted(client, world, invoice["id"], "line one\n\nline two " + "x" * 300)
    row = await Activity.get(kind=ActivityKind.COMMENT_ADDED)
    assert row.data["excerpt"].startswith("line one line two xx")
    assert len(row.data["excerpt"]) == 120 and row.data["excerpt"].endswith("…")
    assert row.data["comment_id"] == (await Comment.get()).id


async def test_who_may_delete_which_comment(client, world: World) -> None:
    invoice = await sent(client, world)
    _, al_token = await second_contact(world)
    world.tokens["al"] = al_token
    mine = await posted(client, world, invoice["id"], "Typo in here", who="contact_a")
    als = await posted(client, world, invoice["id"], "Al's question", who="al")
    staffs = await posted(client, world, invoice["id"], "Staff answer")
    internal = await posted(client, world, invoice["id"], "Staff note", internal=True)

    for comment in (als, staffs):
        refused = await delete(client, world, comment["id"], "contact_a")
        assert error_codes(refused) == ["FORBIDDEN"]
    hidden = await delete(client, world, internal["id"], "contact_a")
    assert hidden["data"]["deleteComment"]["errors"] == [{"code": "NOT_FOUND", "field": ["id"]}]
    other = await delete(client, world, mine["id"], "contact_b")
    assert other["data"]["deleteComment"]["errors"] == [{"code": "NOT_FOUND", "field": ["id"]}]
    assert await Comment.all().count() == 4

    done = await delete(client, world, mine["id"], "contact_a")
    assert done["data"]["deleteComment"] == {"deletedId": mine["id"], "errors": []}
    again = await delete(client, world, mine["id"], "contact_a")
    assert again["data"]["deleteComment"]["errors"][0]["code"] == "NOT_FOUND"
    for comment in (als, internal):
        gone = await delete(client, world, comment["id"], "staff")
        assert gone["data"]["deleteComment"]["errors"] == []
    bodies = [c["body"] for c in (await thread(client, world, invoice["id"], "staff"))["nodes"]]
    assert bodies == ["Staff answer"]

    deleted = await Activity.filter(kind=ActivityKind.COMMENT_DELETED).order_by("seq")
    assert [(row.actor_name, row.visible_to_customer) for row in deleted] == [
        ("Acorn Contact", False), ("Staff", False), ("Staff", False),
    ]  # fmt: skip
    # The deleted words leave the feed as well; what still stands keeps its excerpt.
    feed = (await gql(client, FEED, token=world.tokens["staff"]))["data"]["activities"]["nodes"]
    excerpts = {n["excerpt"] for n in feed if n["kind"] == "COMMENT_ADDED"}
    assert excerpts == {None, "Staff answer"}


async def test_other_customers_cannot_read_or_write(client, world: World) -> None:
    invoice = await sent(client, world)
    comment = await posted(client, world, invoice["id"], "For Acorn only", who="contact_a")
    for who in ("contact_b", "contact_other_org", "staff_other_org"):
        document = await gql(client, THREAD, {"id": invoice["id"]}, token=world.tokens[who])
        assert document == {"data": {"salesDocument": None}}
        node = await gql(client, NODE, {"id": comment["id"]}, token=world.tokens[who])
        assert node == {"data": {"node": None}}
        added = await add(client, world, invoice["id"], "Let me in", who=who)
        assert added["comment"] is None
        assert added["errors"] == [
            {"code": "NOT_FOUND", "field": ["documentId"], "message": "No such document."}
        ]
        removed = await delete(client, world, comment["id"], who)
        assert removed["data"]["deleteComment"]["errors"][0]["code"] == "NOT_FOUND"
    assert [c.body for c in await Comment.all()] == ["For Acorn only"]


async def test_hidden_kinds_and_drafts(client, world: World) -> None:
    order = await sent(client, world, kind="SALES_ORDER")
    credit = await sent(client, world, kind="CREDIT_NOTE")
    draft = await create(client, world)
    on_order = await posted(client, world, order["id"], "Order question", who="contact_a")
    on_credit = await posted(client, world, credit["id"], "Credit question", who="contact_a")
    on_draft = await posted(client, world, draft["id"], "Draft remark")
    refused = await add(client, world, draft["id"], "Can I see this?", who="contact_a")
    assert refused["errors"][0]["code"] == "NOT_FOUND"
    contact = world.tokens["contact_a"]
    assert (await gql(client, NODE, {"id": on_draft["id"]}, token=contact))["data"]["node"] is None

    await set_preferences(client, world, showSalesOrders=False, showCreditNotes=False)
    for comment, document in ((on_order, order), (on_credit, credit)):
        assert await gql(client, NODE, {"id": comment["id"]}, token=contact) == {
            "data": {"node": None}
        }
        many = await gql(client, NODES, {"ids": [comment["id"]]}, token=contact)
        assert many == {"data": {"nodes": [None]}}
        again = await gql(client, ADD, {"id": document["id"], "body": "Hello?"}, token=contact)
        assert error_codes(again) == ["FORBIDDEN"]
        mine = await delete(client, world, comment["id"], "contact_a")
        assert mine["data"]["deleteComment"]["errors"][0]["code"] == "NOT_FOUND"
        staff = await gql(client, NODE, {"id": comment["id"]}, token=world.tokens["staff"])
        assert staff["data"]["node"] is not None
    assert await Comment.all().count() == 3

    await set_preferences(client, world, showSalesOrders=True)
    shown = await gql(client, NODE, {"id": on_order["id"]}, token=contact)
    assert shown["data"]["node"] == {"body": "Order question"}


async def test_refused_input_changes_nothing(client, world: World) -> None:
    invoice = await sent(client, world)
    cases = [
        ("", "REQUIRED"),
        ("   \n ", "REQUIRED"),
        ("x" * 5001, "TOO_LONG"),
        ("bell\x07", "INVALID"),
    ]
    for body, code in cases:
        for who in ("staff", "contact_a"):
            result = await add(client, world, invoice["id"], body, who=who)
            assert result["comment"] is None
            assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, ["body"])]
    internal = await gql(client, ADD, {"id": invoice["id"], "body": "psst", "internal": True},
                         token=world.tokens["contact_a"])  # fmt: skip
    assert error_codes(internal) == ["FORBIDDEN"]
    assert internal["errors"][0]["message"] == "Only staff can post internal comments."
    garbage = await gql(client, ADD, {"id": "not-an-id", "body": "Hi"}, token=world.tokens["staff"])
    assert error_codes(garbage) == ["BAD_USER_INPUT"]
    assert await Comment.all().count() == 0
    assert await Activity.filter(kind=ActivityKind.COMMENT_ADDED).count() == 0
    assert await OutboxMessage.all().count() == 0

    longest = await posted(client, world, invoice["id"], "x" * 5000)
    assert len(longest["body"]) == 5000


async def test_contact_comments_are_rate_limited(client, world: World) -> None:
    invoice = await sent(client, world)
    results = [await add(client, world, invoice["id"], f"#{n}", who="contact_a") for n in range(61)]
    assert [r["errors"] for r in results[:60]] == [[]] * 60
    assert results[60]["comment"] is None
    assert [e["code"] for e in results[60]["errors"]] == ["RATE_LIMITED"]
    assert await Comment.all().count() == 60
    # Other contacts and staff have limits of their own, or none.
    assert (await add(client, world, invoice["id"], "Still here", who="staff"))["errors"] == []


async def test_partners_read_every_comment_and_write_none(client, world: World) -> None:
    invoice = await sent(client, world)
    public = await posted(client, world, invoice["id"], "Public", who="contact_a")
    await posted(client, world, invoice["id"], "Internal", internal=True)
    secret, _ = await issue_api_key(
        organization_id=world.org_a.id, name="Docs", scopes=[ApiScope.DOCUMENTS_READ],
        created_by_id=world.admin.id,
    )  # fmt: skip
    query = """query($id: ID!) { salesDocument(id: $id) { comments {
      nodes { body internal authorKind } } } }"""
    body = await gql(client, query, {"id": invoice["id"]}, token=secret)
    assert body["data"]["salesDocument"]["comments"]["nodes"] == [
        {"body": "Public", "internal": False, "authorKind": "CONTACT"},
        {"body": "Internal", "internal": True, "authorKind": "STAFF"},
    ]
    for mutation, variables in ((ADD, {"id": invoice["id"], "body": "Hi"}),
                                (DELETE, {"id": public["id"]})):  # fmt: skip
        assert error_codes(await gql(client, mutation, variables, token=secret)) == ["FORBIDDEN"]
        assert error_codes(await gql(client, mutation, variables)) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(client, NODE, {"id": public["id"]})) == ["UNAUTHENTICATED"]
    assert await Comment.all().count() == 2


async def test_query_count_does_not_grow_with_the_page(client, world: World, count_queries) -> None:
    for n in range(12):
        invoice = await sent(client, world)
        await posted(client, world, invoice["id"], f"Question {n}", who="contact_a")
        await posted(client, world, invoice["id"], f"Answer {n}")
        await posted(client, world, invoice["id"], f"Note {n}", internal=True)
    query = """query($first: Int) { salesDocuments(first: $first) { nodes { number
      comments { totalCount nodes { body authorName authorContact { name }
        document { number } } } } } }"""
    for who, per_document in (("staff", 3), ("contact_a", 2)):
        counts = []
        for first in (1, 12):
            count_queries.reset()
            body = await gql(client, query, {"first": first}, token=world.tokens[who])
            nodes = body["data"]["salesDocuments"]["nodes"]
            assert len(nodes) == first
            assert {n["comments"]["totalCount"] for n in nodes} == {per_document}
            counts.append(count_queries.count)
        assert counts[0] == counts[1], (who, counts)


async def test_concurrent_deletes_record_one_deletion(client, world: World) -> None:
    invoice = await sent(client, world)
    comment = await posted(client, world, invoice["id"], "Twice?", who="contact_a")
    results = await asyncio.gather(
        delete(client, world, comment["id"], "staff"),
        delete(client, world, comment["id"], "admin"),
    )
    outcomes = sorted(r["data"]["deleteComment"]["errors"] != [] for r in results)
    assert outcomes == [False, True]
    assert await Activity.filter(kind=ActivityKind.COMMENT_DELETED).count() == 1
