from decimal import Decimal

from models.customers import ContactPerson, Customer
from tests.conftest import World, gql

CREATE = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer {
      id displayName currency portalLanguage allowAchPayments internalNotes
      creditLimit { amount currency formatted }
      billingAddress { city country }
      customFields { name value }
      contactPersons { name email isPrimary portalAccess }
    }
    errors { field message code }
  }
}"""
UPDATE = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) {
    customer { displayName email creditLimit { amount } billingAddress { city } }
    errors { field code }
  }
}"""
LIST = """
query($first: Int, $after: String, $filter: CustomerFilter, $orderBy: CustomerOrder) {
  customers(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { displayName email } }
  }
}"""


async def test_staff_creates_a_customer_with_contacts(client, world: World) -> None:
    variables = {
        "input": {
            "displayName": "Delta Freight",
            "email": "Billing@Delta.example",
            "currency": "eur",
            "portalLanguage": "de",
            "allowAchPayments": True,
            "creditLimit": "2500.50",
            "billingAddress": {"city": "Hamburg", "country": "de"},
            "customFields": [{"name": "VAT id", "value": "DE123"}],
            "contactPersons": [
                {"firstName": "Dana", "lastName": "Diaz", "email": "dana@delta.example"},
                {"firstName": "Eli", "email": "eli@delta.example", "isPrimary": True},
            ],
        }
    }
    body = await gql(client, CREATE, variables, token=world.tokens["staff"])
    result = body["data"]["createCustomer"]
    assert result["errors"] == []
    customer = result["customer"]
    assert customer["currency"] == "EUR"
    assert customer["creditLimit"]["amount"] == "2500.50"
    assert customer["creditLimit"]["currency"] == "EUR"
    assert "2,500.50" in customer["creditLimit"]["formatted"]
    assert customer["billingAddress"] == {"city": "Hamburg", "country": "DE"}
    assert customer["customFields"] == [{"name": "VAT id", "value": "DE123"}]
    assert customer["contactPersons"] == [
        {"name": "Eli", "email": "eli@delta.example", "isPrimary": True,
         "portalAccess": "NOT_INVITED"},
        {"name": "Dana Diaz", "email": "dana@delta.example", "isPrimary": False,
         "portalAccess": "NOT_INVITED"},
    ]  # fmt: skip
    stored = await Customer.get(display_name="Delta Freight")
    assert stored.credit_limit_minor == 250050
    assert stored.email == "billing@delta.example"


async def test_invalid_input_is_refused_with_every_problem_and_changes_nothing(
    client, world: World
) -> None:
    before = await Customer.all().count(), await ContactPerson.all().count()
    variables = {
        "input": {
            "displayName": "  ",
            "email": "not-an-email",
            "currency": "XXQ",
            "portalLanguage": "klingon",
            "creditLimit": "10.555",
            "billingAddress": {"country": "Narnia"},
            "contactPersons": [{"firstName": "Ok", "email": "ann@acorn.example"}],
        }
    }
    body = await gql(client, CREATE, variables, token=world.tokens["staff"])
    result = body["data"]["createCustomer"]
    assert result["customer"] is None
    codes = {(tuple(e["field"] or []), e["code"]) for e in result["errors"]}
    assert (("displayName",), "REQUIRED") in codes
    assert (("email",), "INVALID_EMAIL") in codes
    assert (("currency",), "UNKNOWN_CURRENCY") in codes
    assert (("portalLanguage",), "UNKNOWN_LANGUAGE") in codes
    assert (("billingAddress", "country"), "UNKNOWN_COUNTRY") in codes
    assert before == (await Customer.all().count(), await ContactPerson.all().count())


async def test_amount_finer_than_the_currency_is_refused(client, world: World) -> None:
    variables = {"input": {"displayName": "Yen Co", "currency": "JPY", "creditLimit": "100.5"}}
    body = await gql(client, CREATE, variables, token=world.tokens["staff"])
    assert body["data"]["createCustomer"]["errors"][0]["code"] == "INVALID_AMOUNT"
    variables["input"]["creditLimit"] = "100"
    body = await gql(client, CREATE, variables, token=world.tokens["staff"])
    assert body["data"]["createCustomer"]["customer"]["creditLimit"]["amount"] == "100"


async def test_contact_email_must_be_unique_in_the_organization(client, world: World) -> None:
    variables = {
        "input": {
            "displayName": "Echo",
            "contactPersons": [{"firstName": "Copy", "email": "ANN@acorn.example"}],
        }
    }
    body = await gql(client, CREATE, variables, token=world.tokens["staff"])
    assert body["data"]["createCustomer"]["errors"][0]["code"] == "DUPLICATE"
    # The same address at a customer of another organization is fine.
    variables["input"]["contactPersons"][0]["email"] = "cy@cedar.example"
    body = await gql(client, CREATE, variables, token=world.tokens["staff"])
    assert body["data"]["createCustomer"]["errors"] == []


async def test_staff_updates_only_the_fields_given(client, world: World) -> None:
    customer_id = await _customer_id(client, world, "Acorn Ltd")
    variables = {"input": {"id": customer_id, "creditLimit": "99.99"}}
    body = await gql(client, UPDATE, variables, token=world.tokens["staff"])
    assert body["data"]["updateCustomer"]["customer"] == {
        "displayName": "Acorn Ltd",
        "email": "ann@acorn.example",
        "creditLimit": {"amount": "99.99"},
        "billingAddress": {"city": ""},
    }
    variables = {"input": {"id": customer_id, "creditLimit": None}}
    body = await gql(client, UPDATE, variables, token=world.tokens["staff"])
    assert body["data"]["updateCustomer"]["customer"]["creditLimit"] is None


async def test_updating_another_organizations_customer_looks_like_not_found(
    client, world: World
) -> None:
    foreign = await _customer_id(client, world, "Cedar Co", token="staff_other_org")
    missing = await _customer_id(client, world, "Acorn Ltd")
    await Customer.filter(display_name="Acorn Ltd").delete()
    answers = []
    for customer_id in (foreign, missing):
        variables = {"input": {"id": customer_id, "displayName": "Hijacked"}}
        body = await gql(client, UPDATE, variables, token=world.tokens["staff"])
        answers.append(body["data"]["updateCustomer"])
    assert answers[0] == answers[1]
    assert answers[0]["errors"][0]["code"] == "NOT_FOUND"
    assert await Customer.get(display_name="Cedar Co")


async def test_list_filters_sorts_and_pages(client, world: World) -> None:
    for index in range(7):
        await Customer.create(
            organization=world.org_a,
            display_name=f"Zulu {index}",
            email=f"z{index}@zulu.example",
            currency="USD",
        )
    token = world.tokens["staff"]
    body = await gql(client, LIST, {"filter": {"search": "zulu"}, "first": 3}, token=token)
    page = body["data"]["customers"]
    assert page["totalCount"] == 7
    assert [e["node"]["displayName"] for e in page["edges"]] == ["Zulu 0", "Zulu 1", "Zulu 2"]
    seen = [e["node"]["displayName"] for e in page["edges"]]
    while page["pageInfo"]["hasNextPage"]:
        variables = {
            "filter": {"search": "zulu"},
            "first": 3,
            "after": page["pageInfo"]["endCursor"],
        }
        page = (await gql(client, LIST, variables, token=token))["data"]["customers"]
        assert page["pageInfo"]["hasPreviousPage"]
        seen += [e["node"]["displayName"] for e in page["edges"]]
    assert seen == [f"Zulu {i}" for i in range(7)]

    variables = {"orderBy": {"field": "EMAIL", "direction": "DESC"}, "first": 2}
    page = (await gql(client, LIST, variables, token=token))["data"]["customers"]
    assert [e["node"]["email"] for e in page["edges"]] == ["z6@zulu.example", "z5@zulu.example"]

    exact = {"filter": {"email": "Z3@zulu.example"}}
    page = (await gql(client, LIST, exact, token=token))["data"]["customers"]
    assert [e["node"]["displayName"] for e in page["edges"]] == ["Zulu 3"]


async def test_page_size_is_capped_and_cursors_are_checked(client, world: World) -> None:
    token = world.tokens["staff"]
    too_many = await gql(client, LIST, {"first": 101}, token=token)
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    bad_cursor = await gql(client, LIST, {"after": "garbage!"}, token=token)
    assert bad_cursor["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_query_count_does_not_grow_with_page_size(
    client, world: World, count_queries
) -> None:
    for index in range(30):
        customer = await Customer.create(
            organization=world.org_a, display_name=f"Bulk {index:02}", currency="USD"
        )
        await ContactPerson.create(
            organization=world.org_a, customer=customer, first_name="P", email=f"p{index}@b.example"
        )
    query = """query($first: Int) { customers(first: $first) {
      totalCount nodes { displayName contactPersons { email customer { displayName } } } } }"""
    await gql(client, "{ __typename }")  # a process's first request reads the trusted registry
    counts = []
    for first in (3, 30):
        count_queries.count = 0
        body = await gql(client, query, {"first": first}, token=world.tokens["staff"])
        assert len(body["data"]["customers"]["nodes"]) == first
        counts.append(count_queries.count)
    assert counts[0] == counts[1]
    assert counts[0] > 0


async def test_contacts_list_filters_by_customer_and_access(client, world: World) -> None:
    customer_id = await _customer_id(client, world, "Birch Inc")
    query = """query($filter: ContactPersonFilter) { contactPersons(filter: $filter) {
      totalCount nodes { email customer { displayName } } } }"""
    body = await gql(
        client, query, {"filter": {"customerId": customer_id}}, token=world.tokens["staff"]
    )
    assert body["data"]["contactPersons"] == {
        "totalCount": 1,
        "nodes": [{"email": "bob@birch.example", "customer": {"displayName": "Birch Inc"}}],
    }
    body = await gql(
        client, query, {"filter": {"portalAccess": "INVITED"}}, token=world.tokens["staff"]
    )
    assert body["data"]["contactPersons"]["totalCount"] == 0


async def test_contact_person_create_and_primary_switch(client, world: World) -> None:
    customer_id = await _customer_id(client, world, "Acorn Ltd")
    create = """mutation($input: CreateContactPersonInput!) { createContactPerson(input: $input) {
      contactPerson { id isPrimary customer { displayName } } errors { code field } } }"""
    token = world.tokens["staff"]
    nameless = {"customerId": customer_id, "email": "x@acorn.example"}
    body = await gql(client, create, {"input": nameless}, token=token)
    assert body["data"]["createContactPerson"]["errors"][0]["code"] == "REQUIRED"
    variables = {"input": {**nameless, "firstName": "Xena", "isPrimary": True}}
    body = await gql(client, create, variables, token=token)
    created = body["data"]["createContactPerson"]["contactPerson"]
    assert created["isPrimary"] is True
    primaries = await ContactPerson.filter(customer_id=world.customer_a.id, is_primary=True)
    assert [c.first_name for c in primaries] == ["Xena"]
    update = """mutation($input: UpdateContactPersonInput!) { updateContactPerson(input: $input) {
      contactPerson { phone } errors { code } } }"""
    body = await gql(
        client, update, {"input": {"id": created["id"], "phone": "+1 (555) 010-0200"}}, token=token
    )
    assert body["data"]["updateContactPerson"]["contactPerson"] == {"phone": "+1 (555) 010-0200"}


async def _customer_id(client, world: World, name: str, token: str = "staff") -> str:
    query = '{ customers(filter: {search: "%s"}) { nodes { id } } }' % name
    body = await gql(client, query, token=world.tokens[token])
    return body["data"]["customers"]["nodes"][0]["id"]


def test_decimal_round_trip_is_exact() -> None:
    from models.money import from_minor, to_minor

    assert to_minor(Decimal("0.1") + Decimal("0.2"), "USD") == 30
    assert from_minor(1234, "KWD") == Decimal("1.234")
    assert from_minor(1234, "JPY") == Decimal("1234")
