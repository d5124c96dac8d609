"""Portal contacts edit "My details": their customer's addresses, phone and editable custom
fields, their own contact details and their customer's other contact persons."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from auth.sessions import SessionPolicy, start_session
from models.activity import Activity, ActivityKind, Notification
from models.customers import ContactPerson, Customer, CustomFieldDefinition, PortalAccess
from models.outbox import OutboxMessage
from models.tokens import OneTimeToken, TokenPurpose
from tests.conftest import PASSWORD, World, email_body, error_codes, gid, gql

UPDATE_CUSTOMER = """mutation($input: UpdateMyCustomerInput!) {
  updateMyCustomer(input: $input) {
    customer { phone billingAddress { street1 city country } customFields { name value } }
    errors { field code } } }"""
UPDATE_ME = """mutation($input: UpdateMyContactDetailsInput!) {
  updateMyContactDetails(input: $input) {
    contactPerson { name email phone } errors { field code } } }"""
ADD_CONTACT = """mutation($input: AddMyContactPersonInput!) {
  addMyContactPerson(input: $input) {
    contactPerson { id name email isPrimary } errors { field code } } }"""
UPDATE_CONTACT = """mutation($input: UpdateMyContactPersonInput!) {
  updateMyContactPerson(input: $input) {
    contactPerson { name email mobile } errors { field code } } }"""
PREFERENCE = """mutation($on: Boolean!) {
  updatePortalPreferences(input: {allowUploadsAndDetailEdits: $on}) { errors { code } } }"""
STAFF_VIEW = """query($id: ID!) { customer(id: $id) {
  phone billingAddress { street1 city country } customFields { name value editableInPortal }
  contactPersons { name email mobile portalAccess isPrimary } } }"""
FEED = """{ activities(filter: {kinds: [DETAILS_UPDATED, CONTACT_ADDED]}) { nodes {
  kind actor { name } customer { displayName } contactPerson { email }
  changes { field before after } } } }"""
PORTAL_LOGIN = (
    """mutation($email: String!) {
  portalLogin(input: {portalName: "alpha", email: $email, password: "%s"}) {
    token errors { code } } }"""
    % PASSWORD
)


async def call(client, world: World, query: str, input: dict, who: str = "contact_a") -> dict:
    body = await gql(client, query, {"input": input}, token=world.tokens[who])
    assert "errors" not in body, body
    [result] = body["data"].values()
    return result


def problems(result: dict) -> set[tuple[tuple[str, ...], str]]:
    return {(tuple(error["field"] or ()), error["code"]) for error in result["errors"]}


async def define(world: World, name: str, editable: bool = True) -> CustomFieldDefinition:
    return await CustomFieldDefinition.create(
        organization=world.org_a, name=name, editable_in_portal=editable
    )


async def colleague(world: World, email: str, access: PortalAccess, **fields) -> ContactPerson:
    return await ContactPerson.create(
        organization=world.org_a, customer=world.customer_a, first_name="Cole",
        last_name="League", email=email, portal_access=access, **fields,
    )  # fmt: skip


async def snapshot() -> list[Any]:
    """Everything a refused request must leave as it was."""
    customers = await Customer.all().order_by("id").values()
    contacts = await ContactPerson.all().order_by("id").values()
    return [customers, contacts, await Activity.all().count()]


async def feed(client, world: World) -> list[dict]:
    body = await gql(client, FEED, token=world.tokens["staff"])
    return body["data"]["activities"]["nodes"]


async def test_contact_edits_addresses_phone_and_editable_custom_fields(
    client, world: World
) -> None:
    await define(world, "PO reference")
    await define(world, "Risk rating", editable=False)
    world.customer_a.billing_address = {"street1": "1 Main St", "city": "Austin", "country": "US"}
    world.customer_a.custom_fields = [
        {"name": "Risk rating", "value": "low"},
        {"name": "po Reference", "value": "PO-1"},
        {"name": "Legacy code", "value": "L7"},
    ]
    await world.customer_a.save()
    result = await call(client, world, UPDATE_CUSTOMER, {
        "phone": "+1 512 555 0100",
        "billingAddress": {"street1": "1 Main St", "city": "Dallas", "country": "us"},
        "customFields": [{"name": "PO REFERENCE", "value": "PO-2"}],
    })  # fmt: skip
    assert result == {
        "customer": {
            "phone": "+1 512 555 0100",
            "billingAddress": {"street1": "1 Main St", "city": "Dallas", "country": "US"},
            "customFields": [
                {"name": "Risk rating", "value": "low"},
                {"name": "po Reference", "value": "PO-2"},
                {"name": "Legacy code", "value": "L7"},
            ],
        },
        "errors": [],
    }
    staff = await gql(client, STAFF_VIEW, {"id": gid("Customer", world.customer_a)},
                      token=world.tokens["staff"])  # fmt: skip
    seen = staff["data"]["customer"]
    assert seen["phone"] == "+1 512 555 0100"
    assert seen["billingAddress"]["city"] == "Dallas"
    assert seen["customFields"] == [
        {"name": "Risk rating", "value": "low", "editableInPortal": False},
        {"name": "po Reference", "value": "PO-2", "editableInPortal": True},
        {"name": "Legacy code", "value": "L7", "editableInPortal": False},
    ]
    assert await feed(client, world) == [
        {
            "kind": "DETAILS_UPDATED",
            "actor": {"name": "Acorn Contact"},
            "customer": {"displayName": "Acorn Ltd"},
            "contactPerson": None,
            "changes": [
                {"field": "phone", "before": "", "after": "+1 512 555 0100"},
                {"field": "billingAddress.city", "before": "Austin", "after": "Dallas"},
                {"field": "customFields.po Reference", "before": "PO-1", "after": "PO-2"},
            ],
        }
    ]
    # Staff hear about it through the activity, as about any portal activity.
    assert await Notification.all().count() == 2


async def test_a_request_that_changes_nothing_records_nothing(client, world: World) -> None:
    await define(world, "PO reference")
    await define(world, "Cost centre")
    edit = {"phone": "+1 555 0100", "customFields": [{"name": "PO reference", "value": "X"}]}
    await call(client, world, UPDATE_CUSTOMER, edit)
    before = await snapshot()
    for _ in range(2):
        result = await call(client, world, UPDATE_CUSTOMER, edit)
        assert result["errors"] == []
        result = await call(client, world, UPDATE_ME, {"firstName": "Acorn", "phone": ""})
        assert result["errors"] == []
        # An empty value for a field the customer does not have is nothing to change either.
        empty = {"customFields": [{"name": "Cost centre", "value": ""}]}
        assert (await call(client, world, UPDATE_CUSTOMER, empty))["errors"] == []
    assert await snapshot() == before
    assert await Activity.filter(kind=ActivityKind.DETAILS_UPDATED).count() == 1


async def test_an_empty_value_removes_only_that_custom_field(client, world: World) -> None:
    await define(world, "PO reference")
    world.customer_a.custom_fields = [
        {"name": "PO reference", "value": "PO-1"},
        {"name": "Notes", "value": ""},
    ]
    await world.customer_a.save()
    result = await call(client, world, UPDATE_CUSTOMER,
                        {"customFields": [{"name": "po reference", "value": " "}]})  # fmt: skip
    assert result["customer"]["customFields"] == [{"name": "Notes", "value": ""}]
    [activity] = await feed(client, world)
    assert activity["changes"] == [
        {"field": "customFields.PO reference", "before": "PO-1", "after": ""}
    ]
    added = await call(client, world, UPDATE_CUSTOMER,
                       {"customFields": [{"name": "PO REFERENCE", "value": "PO-9"}]})  # fmt: skip
    # A field the customer does not have yet takes the name staff gave it.
    assert added["customer"]["customFields"][-1] == {"name": "PO reference", "value": "PO-9"}


async def test_a_customer_keeps_at_most_fifty_custom_fields(client, world: World) -> None:
    await define(world, "PO reference")
    world.customer_a.custom_fields = [{"name": f"F{i}", "value": "x"} for i in range(50)]
    await world.customer_a.save()
    before = await snapshot()
    result = await call(client, world, UPDATE_CUSTOMER, {
        "phone": "+1 555 0100", "customFields": [{"name": "PO reference", "value": "PO-1"}],
    })  # fmt: skip
    assert problems(result) == {(("customFields",), "INVALID")}
    assert await snapshot() == before


async def test_concurrent_edits_lose_nothing_and_record_exact_values(
    db, client, world: World
) -> None:
    await define(world, "PO reference")
    await define(world, "Cost centre")
    second = await colleague(world, "cole@acorn.example", PortalAccess.ACTIVE)
    world.tokens["second"] = (await start_session(SessionPolicy.from_settings(db), contact=second))[
        0
    ]
    edits = [("contact_a", "PO reference", f"PO-{i}") for i in range(5)]
    edits += [("second", "Cost centre", f"CC-{i}") for i in range(5)]
    results = await asyncio.gather(*(
        call(client, world, UPDATE_CUSTOMER, {"customFields": [{"name": name, "value": value}]},
             who=who)
        for who, name, value in edits
    ))  # fmt: skip
    assert all(result["errors"] == [] for result in results)
    recorded = await Activity.filter(kind=ActivityKind.DETAILS_UPDATED).order_by("seq")
    assert len(recorded) == 10
    # Each change starts from the value the one before it left, so none was lost.
    last = {"customFields.PO reference": "", "customFields.Cost centre": ""}
    for row in recorded:
        [change] = row.data["changes"]
        assert change["before"] == last[change["field"]]
        last[change["field"]] = change["after"]
    stored = await Customer.get(id=world.customer_a.id)
    assert {
        f"customFields.{field['name']}": field["value"] for field in stored.custom_fields
    } == last


async def test_only_fields_editable_in_the_portal_can_be_set(client, world: World) -> None:
    await define(world, "PO reference")
    await define(world, "Risk rating", editable=False)
    world.customer_a.custom_fields = [{"name": "Risk rating", "value": "high"}]
    await world.customer_a.save()
    before = await snapshot()
    result = await call(client, world, UPDATE_CUSTOMER, {
        "phone": "+1 555 0199",
        "customFields": [
            {"name": "PO reference", "value": "PO-3"},
            {"name": "risk RATING", "value": "low"},
            {"name": "Made up", "value": "x"},
        ],
    })  # fmt: skip
    assert result["customer"] is None
    assert problems(result) == {
        (("customFields", "1", "name"), "NOT_EDITABLE"),
        (("customFields", "2", "name"), "NOT_EDITABLE"),
    }
    assert await snapshot() == before
    # Staff turn the field on for the portal; from then on contacts may set it.
    staff_edit = """mutation($id: ID!) { updateCustomFieldDefinition(input:
      {id: $id, editableInPortal: true}) { customFieldDefinition { editableInPortal }
      errors { code } } }"""
    risk = await CustomFieldDefinition.get(name="Risk rating")
    body = await gql(client, staff_edit, {"id": gid("CustomFieldDefinition", risk)},
                     token=world.tokens["staff"])  # fmt: skip
    assert body["data"]["updateCustomFieldDefinition"]["customFieldDefinition"] == {
        "editableInPortal": True
    }
    result = await call(client, world, UPDATE_CUSTOMER,
                        {"customFields": [{"name": "Risk rating", "value": "low"}]})  # fmt: skip
    assert result["customer"]["customFields"] == [{"name": "Risk rating", "value": "low"}]


async def test_invalid_input_is_refused_whole_and_changes_nothing(client, world: World) -> None:
    await define(world, "PO reference")
    before = await snapshot()
    result = await call(client, world, UPDATE_CUSTOMER, {
        "phone": "call me",
        "billingAddress": {"street1": "1 Main St\x07", "city": "D" * 101, "country": "XX"},
        "shippingAddress": {"country": "Narnia"},
        "customFields": [{"name": "PO reference", "value": "x" * 1001}],
    })  # fmt: skip
    assert problems(result) == {
        (("phone",), "INVALID"),
        (("billingAddress", "street1"), "INVALID"),
        (("billingAddress", "city"), "TOO_LONG"),
        (("billingAddress", "country"), "UNKNOWN_COUNTRY"),
        (("shippingAddress", "country"), "UNKNOWN_COUNTRY"),
        (("customFields", "0", "value"), "TOO_LONG"),
    }
    result = await call(client, world, UPDATE_ME, {"email": "not-an-email",
                        "firstName": "A\x07", "currentPassword": PASSWORD})  # fmt: skip
    assert problems(result) == {(("email",), "INVALID_EMAIL"), (("firstName",), "INVALID")}
    result = await call(client, world, ADD_CONTACT, {"firstName": "N" * 101, "email": "x@"})
    assert problems(result) == {(("firstName",), "TOO_LONG"), (("email",), "INVALID_EMAIL")}
    result = await call(client, world, ADD_CONTACT, {"email": "nameless@acorn.example"})
    assert problems(result) == {(("firstName",), "REQUIRED")}
    mine = gid("ContactPerson", world.contact_a)
    result = await call(client, world, UPDATE_CONTACT,
                        {"id": mine, "mobile": "555\n0100", "lastName": "\x1b[31m"})  # fmt: skip
    assert problems(result) == {(("mobile",), "INVALID"), (("lastName",), "INVALID")}
    assert await snapshot() == before


async def test_everything_is_refused_while_the_preference_is_off(client, world: World) -> None:
    await define(world, "PO reference")
    other = await colleague(world, "cole@acorn.example", PortalAccess.NOT_INVITED)
    off = await gql(client, PREFERENCE, {"on": False}, token=world.tokens["admin"])
    assert off["data"]["updatePortalPreferences"]["errors"] == []
    before = await snapshot()
    requests = [
        (UPDATE_CUSTOMER, {"phone": "+1 555 0100",
                           "customFields": [{"name": "PO reference", "value": "1"}]}),
        (UPDATE_ME, {"lastName": "Renamed"}),
        (ADD_CONTACT, {"firstName": "New"}),
        (UPDATE_CONTACT, {"id": gid("ContactPerson", other), "lastName": "Renamed"}),
    ]  # fmt: skip
    for query, input in requests:
        result = await call(client, world, query, input)
        assert result["errors"] == [{"field": None, "code": "DETAIL_EDITS_OFF"}], query
        assert next(value for key, value in result.items() if key != "errors") is None
    assert await snapshot() == before
    home = await gql(client, "{ portalHome { canEditDetails } }", token=world.tokens["contact_a"])
    assert home["data"]["portalHome"] == {"canEditDetails": False}
    # Staff edit customers as always.
    staff = await gql(client, 'mutation($id: ID!) { updateCustomer(input: {id: $id, phone: "1"})'
                      " { errors { code } } }", {"id": gid("Customer", world.customer_a)},
                      token=world.tokens["staff"])  # fmt: skip
    assert staff["data"]["updateCustomer"]["errors"] == []
    await gql(client, PREFERENCE, {"on": True}, token=world.tokens["admin"])
    home = await gql(client, "{ portalHome { canEditDetails } }", token=world.tokens["contact_a"])
    assert home["data"]["portalHome"] == {"canEditDetails": True}
    for query, input in requests:
        assert (await call(client, world, query, input))["errors"] == []


async def test_changing_the_own_email_takes_the_current_password(client, world: World) -> None:
    before = await snapshot()
    missing = await call(client, world, UPDATE_ME, {"email": "ann@new.example"})
    assert problems(missing) == {(("currentPassword",), "REQUIRED")}
    wrong = await call(client, world, UPDATE_ME,
                       {"email": "ann@new.example", "currentPassword": "not it"})  # fmt: skip
    assert problems(wrong) == {(("currentPassword",), "INVALID_CREDENTIALS")}
    taken = await call(client, world, UPDATE_ME,
                       {"email": "BOB@birch.example", "currentPassword": PASSWORD})  # fmt: skip
    assert problems(taken) == {(("email",), "DUPLICATE")}
    cleared = await call(client, world, UPDATE_ME, {"email": "", "currentPassword": PASSWORD})
    assert problems(cleared) == {(("email",), "REQUIRED")}
    assert await snapshot() == before

    reset = """mutation { requestPasswordReset(input: {portalName: "alpha",
      email: "ann@acorn.example"}) { errors { code } } }"""
    await gql(client, reset)
    assert await OneTimeToken.filter(purpose=TokenPurpose.PASSWORD_RESET, used_at=None).count() == 1
    result = await call(client, world, UPDATE_ME, {
        "email": "Ann@New.example", "firstName": "Annie", "currentPassword": PASSWORD,
    })  # fmt: skip
    assert result == {
        "contactPerson": {"name": "Annie Contact", "email": "ann@new.example", "phone": ""},
        "errors": [],
    }
    # The new address logs in, the old one no longer does, nor does a reset link sent to it.
    new_login = await gql(client, PORTAL_LOGIN, {"email": "ann@new.example"})
    assert new_login["data"]["portalLogin"]["token"]
    old_login = await gql(client, PORTAL_LOGIN, {"email": "ann@acorn.example"})
    assert old_login["data"]["portalLogin"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert await OneTimeToken.filter(purpose=TokenPurpose.PASSWORD_RESET, used_at=None).count() == 0
    # The old address hears of it, in case it was not its owner who moved the login.
    [notice] = await OutboxMessage.filter(template="login_email_changed")
    assert notice.to_address == "ann@acorn.example"
    assert "ann@new.example" in email_body(notice).text
    [activity] = await feed(client, world)
    assert activity["contactPerson"] == {"email": "ann@new.example"}
    assert activity["changes"] == [
        {"field": "firstName", "before": "Acorn", "after": "Annie"},
        {"field": "email", "before": "ann@acorn.example", "after": "ann@new.example"},
    ]
    # Other details need no password.
    phone = await call(client, world, UPDATE_ME, {"phone": "+1 555 0100"})
    assert phone["contactPerson"]["phone"] == "+1 555 0100"


async def test_wrong_current_passwords_are_rate_limited(client, world: World) -> None:
    change = {"email": "ann@new.example", "currentPassword": "guess"}
    for _ in range(5):
        result = await call(client, world, UPDATE_ME, change)
        assert problems(result) == {(("currentPassword",), "INVALID_CREDENTIALS")}
    result = await call(client, world, UPDATE_ME, change | {"currentPassword": PASSWORD})
    assert problems(result) == {(("currentPassword",), "RATE_LIMITED")}
    assert (await ContactPerson.get(id=world.contact_a.id)).email == "ann@acorn.example"


async def test_contacts_add_and_edit_their_customers_contact_persons(client, world: World) -> None:
    added = await call(client, world, ADD_CONTACT, {
        "firstName": "Dana", "lastName": "Diaz", "email": "Dana@Acorn.example",
    })  # fmt: skip
    assert added["contactPerson"] == {
        "id": added["contactPerson"]["id"], "name": "Dana Diaz", "email": "dana@acorn.example",
        "isPrimary": False,
    }  # fmt: skip
    dana = await ContactPerson.get(email="dana@acorn.example")
    assert (dana.customer_id, dana.portal_access) == (world.customer_a.id, PortalAccess.NOT_INVITED)
    duplicate = await call(
        client, world, ADD_CONTACT, {"firstName": "X", "email": "bob@birch.example"}
    )
    assert problems(duplicate) == {(("email",), "DUPLICATE")}

    edit = {"id": added["contactPerson"]["id"], "email": "dana.diaz@acorn.example", "mobile": "1"}
    result = await call(client, world, UPDATE_CONTACT, edit)
    assert result["contactPerson"] == {
        "name": "Dana Diaz", "email": "dana.diaz@acorn.example", "mobile": "1"
    }  # fmt: skip
    staff = await gql(client, STAFF_VIEW, {"id": gid("Customer", world.customer_a)},
                      token=world.tokens["staff"])  # fmt: skip
    assert {"name": "Dana Diaz", "email": "dana.diaz@acorn.example", "mobile": "1",
            "portalAccess": "NOT_INVITED", "isPrimary": False} in (
        staff["data"]["customer"]["contactPersons"])  # fmt: skip
    assert await feed(client, world) == [
        {
            "kind": "DETAILS_UPDATED",
            "actor": {"name": "Acorn Contact"},
            "customer": {"displayName": "Acorn Ltd"},
            "contactPerson": {"email": "dana.diaz@acorn.example"},
            "changes": [
                {"field": "email", "before": "dana@acorn.example",
                 "after": "dana.diaz@acorn.example"},
                {"field": "mobile", "before": "", "after": "1"},
            ],
        },
        {
            "kind": "CONTACT_ADDED",
            "actor": {"name": "Acorn Contact"},
            "customer": {"displayName": "Acorn Ltd"},
            "contactPerson": {"email": "dana.diaz@acorn.example"},
            "changes": [
                {"field": "firstName", "before": "", "after": "Dana"},
                {"field": "lastName", "before": "", "after": "Diaz"},
                {"field": "email", "before": "", "after": "dana@acorn.example"},
            ],
        },
    ]  # fmt: skip


@pytest.mark.parametrize("access", [PortalAccess.INVITED, PortalAccess.ACTIVE])
async def test_the_email_of_a_colleague_with_portal_access_is_theirs_alone(
    client, world: World, access: PortalAccess
) -> None:
    other = await colleague(world, "cole@acorn.example", access)
    before = await snapshot()
    take_over = {"id": gid("ContactPerson", other), "email": "mine@evil.example"}
    result = await call(client, world, UPDATE_CONTACT, take_over | {"lastName": "Renamed"})
    assert problems(result) == {(("email",), "NOT_EDITABLE")}
    assert await snapshot() == before
    # Their other details, and the same address again, are fine.
    same = {"id": take_over["id"], "email": "COLE@acorn.example", "lastName": "Renamed"}
    result = await call(client, world, UPDATE_CONTACT, same)
    assert result["contactPerson"]["email"] == "cole@acorn.example"
    assert result["contactPerson"]["name"] == "Cole Renamed"
    # The viewer itself changes its email only with its password.
    own = {"id": gid("ContactPerson", world.contact_a), "email": "ann@new.example"}
    result = await call(client, world, UPDATE_CONTACT, own)
    assert problems(result) == {(("email",), "NOT_EDITABLE")}


async def test_a_colleague_without_portal_access_can_get_a_new_email(client, world: World) -> None:
    other = await colleague(world, "cole@acorn.example", PortalAccess.DISABLED)
    edit = {"id": gid("ContactPerson", other), "email": "cole@new.example"}
    result = await call(client, world, UPDATE_CONTACT, edit)
    assert result["contactPerson"]["email"] == "cole@new.example"


async def test_contacts_of_another_customer_reach_nothing_of_this_one(client, world: World) -> None:
    other = await colleague(world, "cole@acorn.example", PortalAccess.NOT_INVITED)
    before = await snapshot()
    for who in ("contact_b", "contact_other_org"):
        for target in (other, world.contact_a):
            edit = {"id": gid("ContactPerson", target), "lastName": "Hijacked"}
            result = await call(client, world, UPDATE_CONTACT, edit, who=who)
            assert result == {
                "contactPerson": None,
                "errors": [{"field": ["id"], "code": "NOT_FOUND"}],
            }
        customer_a = {"id": gid("Customer", world.customer_a)}
        read = await gql(client, "query($id: ID!) { customer(id: $id) { phone } }", customer_a,
                         token=world.tokens[who])  # fmt: skip
        assert read["data"]["customer"] is None
    assert await snapshot() == before
    # Their own edits land on their own customer only.
    result = await call(client, world, UPDATE_CUSTOMER, {"phone": "+1 555 0142"}, who="contact_b")
    assert result["customer"]["phone"] == "+1 555 0142"
    assert (await Customer.get(id=world.customer_a.id)).phone == ""
    assert (await Customer.get(id=world.customer_b.id)).phone == "+1 555 0142"


@pytest.mark.parametrize(
    ("query", "input"),
    [
        (UPDATE_CUSTOMER, {"phone": "1"}),
        (UPDATE_ME, {"lastName": "X"}),
        (ADD_CONTACT, {"firstName": "X"}),
        (UPDATE_CONTACT, {"id": "Q29udGFjdFBlcnNvbjox", "lastName": "X"}),
    ],
    ids=[
        "updateMyCustomer",
        "updateMyContactDetails",
        "addMyContactPerson",
        "updateMyContactPerson",
    ],
)
async def test_only_portal_contacts_edit_my_details(
    client, world: World, query: str, input: dict
) -> None:
    before = await snapshot()
    expected = {"anonymous": "UNAUTHENTICATED", "partner": "FORBIDDEN", "staff": "FORBIDDEN"}
    for who, code in expected.items():
        body = await gql(client, query, {"input": input}, token=world.tokens.get(who))
        assert error_codes(body) == [code]
        assert body["data"] is None
    assert await snapshot() == before


async def test_adding_contact_persons_is_rate_limited(client, world: World) -> None:
    results = [await call(client, world, ADD_CONTACT, {"firstName": f"P{i}"}) for i in range(21)]
    assert [r["errors"] for r in results[:20]] == [[]] * 20
    assert problems(results[20]) == {((), "RATE_LIMITED")}
    assert await ContactPerson.filter(customer_id=world.customer_a.id).count() == 21


async def test_a_contact_reads_my_details(client, world: World) -> None:
    await define(world, "PO reference")
    await define(world, "Risk rating", editable=False)
    world.customer_a.custom_fields = [{"name": "Risk rating", "value": "low"}]
    await world.customer_a.save()
    query = """{
      viewer { ... on ContactPerson { email } }
      portalHome { canEditDetails customer {
        billingAddress { city } customFields { name value editableInPortal }
        contactPersons { name email } } }
      customFieldDefinitions(filter: {editableInPortal: true}) { nodes { name } } }"""
    body = await gql(client, query, token=world.tokens["contact_a"])
    assert body["data"] == {
        "viewer": {"email": "ann@acorn.example"},
        "portalHome": {
            "canEditDetails": True,
            "customer": {
                "billingAddress": {"city": ""},
                "customFields": [
                    {"name": "Risk rating", "value": "low", "editableInPortal": False}
                ],
                "contactPersons": [{"name": "Acorn Contact", "email": "ann@acorn.example"}],
            },
        },
        "customFieldDefinitions": {"nodes": [{"name": "PO reference"}]},
    }
