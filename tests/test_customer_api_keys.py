"""API keys limited to one customer: a customer's own system reads what the customer's portal
contacts see, within the key's scopes, and changes nothing."""

from __future__ import annotations

from typing import Any

from auth.api_keys import ApiScope, issue_api_key
from auth.principals import StaffPrincipal
from models.api_keys import ApiKey
from models.comments import Comment
from models.customers import ContactPerson, Customer, PortalAccess
from models.documents import SalesDocument
from resolvers.documents import create_document, send_document
from tests.conftest import TODAY, World, error_codes, gid, gql

CREATE_KEY = """mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  secret apiKey { name scopes customer { displayName } } errors { code field } } }"""
LIST = """query($filter: SalesDocumentFilter) { salesDocuments(filter: $filter) {
  totalCount nodes { __typename number } } }"""
BY_ID = "query($id: ID!) { salesDocument(id: $id) { number } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on SalesDocument { number } } }"
STATEMENT = """query($c: ID, $from: Date!, $to: Date!) {
  statementOfAccounts(customerId: $c, from: $from, to: $to) {
    currencies { closingBalance { amount } entries { number } } } }"""
CUSTOMERS = "{ customers { nodes { displayName } } }"


async def _sent(world: World, customer: Customer, kind: str = "INVOICE") -> SalesDocument:
    staff = StaffPrincipal(world.staff)
    line = {"name": "Crate", "quantity": 1, "rate": 10}
    document = await create_document(
        staff, {"customer_id": customer.id, "kind": kind, "line_items": [line]}
    )
    return await send_document(staff, document.id)


def _numbers(body: dict[str, Any]) -> list[str]:
    assert "errors" not in body, body
    return sorted(node["number"] for node in body["data"]["salesDocuments"]["nodes"])


async def test_an_admin_gives_a_customer_a_key_and_the_listing_names_the_customer(
    client, world: World
) -> None:
    await _sent(world, world.customer_a)
    await _sent(world, world.customer_b)
    variables = {"input": {"name": "Acorn ERP", "scopes": ["DOCUMENTS_READ"],
                           "customerId": gid("Customer", world.customer_a)}}  # fmt: skip
    created = await gql(client, CREATE_KEY, variables, token=world.tokens["admin"])
    payload = created["data"]["createApiKey"]
    assert payload["errors"] == []
    assert payload["apiKey"]["customer"] == {"displayName": "Acorn Ltd"}

    listed = await gql(client, "{ apiKeys { nodes { name customer { displayName } } } }",
                       token=world.tokens["admin"])  # fmt: skip
    customers = {node["name"]: node["customer"] for node in listed["data"]["apiKeys"]["nodes"]}
    assert customers["Acorn ERP"] == {"displayName": "Acorn Ltd"}
    assert customers["Sync"] is None  # the organization's own key

    everything = _numbers(await gql(client, LIST, token=world.tokens["staff"]))
    acorn = _numbers(await gql(client, LIST, token=payload["secret"]))
    assert len(everything) == 2 and len(acorn) == 1
    assert acorn == _numbers(await gql(client, LIST, token=world.tokens["contact_a"]))


async def test_no_key_for_a_customer_of_another_organization_or_without_a_portal(
    client, world: World
) -> None:
    dormant = await Customer.create(
        organization=world.org_a, display_name="Dormant", currency="USD"
    )
    await ContactPerson.create(organization=world.org_a, customer=dormant, email="d@d.example",
                               portal_access=PortalAccess.NOT_INVITED)  # fmt: skip
    refusals = [
        (gid("Customer", world.customer_other_org), "NOT_FOUND"),
        (gid("ContactPerson", world.contact_a), "NOT_FOUND"),  # not a customer's id
        (gid("Customer", dormant), "NO_PORTAL_CONTACT"),
    ]
    before = await ApiKey.all().count()
    for customer_id, code in refusals:
        variables = {"input": {"name": "ERP", "scopes": ["DOCUMENTS_READ"],
                               "customerId": customer_id}}  # fmt: skip
        body = await gql(client, CREATE_KEY, variables, token=world.tokens["admin"])
        payload = body["data"]["createApiKey"]
        assert payload["errors"] == [{"code": code, "field": ["customerId"]}], customer_id
        assert payload["secret"] is None and payload["apiKey"] is None
    assert await ApiKey.all().count() == before


async def test_the_key_sees_its_customer_only(client, world: World) -> None:
    own, other = await _sent(world, world.customer_a), await _sent(world, world.customer_b)
    key = world.tokens["customer_key"]

    assert _numbers(await gql(client, LIST, token=key)) == [own.number]
    for document, expected in ((own, own.number), (other, None)):
        by_id = await gql(client, BY_ID, {"id": gid("Invoice", document)}, token=key)
        assert _answer(by_id) == {"data": {"salesDocument": expected and {"number": expected}}}
    nodes = await gql(client, NODES, {"ids": [gid("Invoice", own), gid("Invoice", other)]},
                      token=key)  # fmt: skip
    assert nodes["data"]["nodes"] == [{"number": own.number}, None]
    # "Not yours" is "does not exist": another customer's id is answered as a made-up one.
    missing = await gql(client, BY_ID, {"id": gid("Invoice", SalesDocument(id=10**9))},
                        token=key)  # fmt: skip
    assert _answer(missing) == {"data": {"salesDocument": None}}
    customers = await gql(client, CUSTOMERS, token=key)
    assert customers["data"]["customers"]["nodes"] == [{"displayName": "Acorn Ltd"}]

    month = {"from": TODAY.replace(day=1).isoformat(), "to": TODAY.isoformat()}
    statement = await gql(client, STATEMENT, month, token=key)
    [currency] = statement["data"]["statementOfAccounts"]["currencies"]
    assert [entry["number"] for entry in currency["entries"]] == [own.number]
    assert _answer(statement) == await gql(
        client, STATEMENT, month, token=world.tokens["contact_a"]
    )
    others = await gql(client, STATEMENT, {**month, "c": gid("Customer", world.customer_b)},
                       token=key)  # fmt: skip
    assert _answer(others) == {"data": {"statementOfAccounts": None}}  # not yours: as if not there
    unknown = await gql(client, STATEMENT, {**month, "c": gid("Customer", Customer(id=10**9))},
                        token=key)  # fmt: skip
    assert _answer(unknown) == _answer(others)


async def test_what_the_portal_hides_stays_hidden_from_the_key(client, world: World) -> None:
    invoice = await _sent(world, world.customer_a)
    order = await _sent(world, world.customer_a, "SALES_ORDER")
    credit = await _sent(world, world.customer_a, "CREDIT_NOTE")
    staff = StaffPrincipal(world.staff)
    draft = await create_document(staff, {"customer_id": world.customer_a.id, "kind": "INVOICE",
                                           "line_items": [{"name": "X", "quantity": 1,
                                                           "rate": 1}]})  # fmt: skip
    key, contact = world.tokens["customer_key"], world.tokens["contact_a"]
    assert _numbers(await gql(client, LIST, token=key)) == sorted(
        [invoice.number, order.number, credit.number]
    )
    switch = """mutation { updatePortalPreferences(input: {showSalesOrders: false,
      showCreditNotes: false}) { errors { code } } }"""
    await gql(client, switch, token=world.tokens["admin"])

    assert _numbers(await gql(client, LIST, token=key)) == [invoice.number]
    asks = [
        (LIST, {"filter": {"kinds": ["SALES_ORDER"]}}),
        (LIST, {"filter": {"kinds": ["CREDIT_NOTE"]}}),
        ("query($id: ID!) { node(id: $id) { ... on CreditNote { number } } }",
         {"id": gid("CreditNote", credit)}),
        ("query($id: ID!) { node(id: $id) { ... on SalesOrder { number } } }",
         {"id": gid("SalesOrder", order)}),
    ]  # fmt: skip
    for query, variables in asks:
        answer = await gql(client, query, variables, token=key)
        assert error_codes(answer) == ["FORBIDDEN"], variables
        assert _answer(answer) == await gql(client, query, variables, token=contact)
    drafted = await gql(client, BY_ID, {"id": gid("Invoice", draft)}, token=key)
    assert _answer(drafted) == {"data": {"salesDocument": None}}
    staff_sees = await gql(client, LIST, {"filter": {"kinds": ["CREDIT_NOTE"]}},
                           token=world.tokens["partner"])  # fmt: skip
    assert error_codes(staff_sees) == ["FORBIDDEN"]  # the organization's key lacks documents:read
    wide = await _key(world, ApiScope.DOCUMENTS_READ)
    assert _numbers(await gql(client, LIST, {"filter": {"kinds": ["CREDIT_NOTE"]}}, token=wide))


async def test_portal_only_actions_and_staff_only_fields_are_refused(client, world: World) -> None:
    invoice = await _sent(world, world.customer_a)
    key = world.tokens["customer_key"]
    actions = [
        ('mutation($i: ID!) { payInvoices(input: {idempotencyKey: "k-1", token: "tok_visa", '
         'allocations: [{documentId: $i, amount: "1"}]}) { errors { code } } }'),
        ('mutation($i: ID!) { addComment(input: {documentId: $i, body: "Paid"}) '
         "{ errors { code } } }"),
        ('mutation($i: ID!) { forwardSalesDocument(input: {id: $i, to: "ap@acorn.example"}) '
         "{ errors { code } } }"),
        'mutation { updateMyCustomer(input: {phone: "+1 555 0100"}) { errors { code } } }',
        "mutation { logout { errors { code } } }",
    ]  # fmt: skip
    for action in actions:
        variables = {"i": gid("Invoice", invoice)} if "$i" in action else {}
        body = await gql(client, action, variables, token=key)
        assert error_codes(body) == ["FORBIDDEN"], action
        assert body["data"] is None
    assert await Comment.all().count() == 0
    assert (await SalesDocument.get(id=invoice.id)).balance_minor == invoice.balance_minor
    assert (await Customer.get(id=world.customer_a.id)).phone == ""

    internal = [
        ("query($id: ID!) { customer(id: $id) { internalNotes } }",
         {"id": gid("Customer", world.customer_a)}),
        ("query($id: ID!) { customer(id: $id) { creditLimit { amount } } }",
         {"id": gid("Customer", world.customer_a)}),
        ("{ contactPersons { nodes { portalAccess } } }", {}),
        ("{ staffUsers { nodes { email } } }", {}),
        ("{ apiKeys { nodes { name } } }", {}),
    ]  # fmt: skip
    for query, variables in internal:
        assert error_codes(await gql(client, query, variables, token=key)) == ["FORBIDDEN"], query
    # The organization's key reads the internal notes, so the refusal is the customer scope's.
    notes = await gql(client, internal[0][0], internal[0][1], token=world.tokens["partner"])
    assert notes["data"]["customer"] == {"internalNotes": "vip"}


async def test_the_key_keeps_to_its_scopes(client, world: World) -> None:
    await _sent(world, world.customer_a)
    key = await _key(world, ApiScope.CUSTOMERS_READ, customer=world.customer_a)
    customers = await gql(client, CUSTOMERS, token=key)
    assert customers["data"]["customers"]["nodes"] == [{"displayName": "Acorn Ltd"}]
    assert error_codes(await gql(client, LIST, token=key)) == ["FORBIDDEN"]


async def test_the_key_stops_with_the_customer_portal_and_with_the_customer(
    client, world: World
) -> None:
    key = world.tokens["customer_key"]
    assert (await gql(client, CUSTOMERS, token=key))["data"]
    disable = """mutation($id: ID!) { disablePortalAccess(input: {contactId: $id}) {
      errors { code } } }"""
    await gql(client, disable, {"id": gid("ContactPerson", world.contact_a)},
              token=world.tokens["staff"])  # fmt: skip
    assert error_codes(await gql(client, CUSTOMERS, token=key)) == ["UNAUTHENTICATED"]

    enable = """mutation($id: ID!) { enablePortalAccess(input: {contactIds: [$id]}) {
      errors { code } } }"""
    enabled = await gql(client, enable, {"id": gid("ContactPerson", world.contact_a)},
                        token=world.tokens["staff"])  # fmt: skip
    assert enabled["data"]["enablePortalAccess"]["errors"] == []
    assert (await gql(client, CUSTOMERS, token=key))["data"]  # invited again: the portal is on

    # The organization's portal off: its contacts see nothing, and neither does the key.
    switch = "mutation($on: Boolean!) { updatePortalPreferences(input: {portalEnabled: $on}) "
    switch += "{ errors { code } } }"
    await gql(client, switch, {"on": False}, token=world.tokens["admin"])
    assert error_codes(await gql(client, CUSTOMERS, token=key)) == ["UNAUTHENTICATED"]
    assert (await gql(client, CUSTOMERS, token=world.tokens["partner"]))["data"]
    await gql(client, switch, {"on": True}, token=world.tokens["admin"])
    assert (await gql(client, CUSTOMERS, token=key))["data"]

    # A customer that is gone takes its keys along; none falls back to the organization.
    await Customer.filter(id=world.customer_a.id).delete()
    assert not await ApiKey.filter(name="Acorn AP").exists()
    assert error_codes(await gql(client, CUSTOMERS, token=key)) == ["UNAUTHENTICATED"]


async def _key(world: World, *scopes: ApiScope, customer: Customer | None = None) -> str:
    secret, _ = await issue_api_key(
        organization_id=world.org_a.id,
        name=f"Key {len(scopes)} {customer and customer.id}",
        scopes=list(scopes),
        created_by_id=world.admin.id,
        customer_id=customer and customer.id,
    )
    return secret


def _answer(body: dict) -> dict:
    """The response without what the query cost (extensions.cost, schema.query_budget)."""
    return {name: value for name, value in body.items() if name != "extensions"}
