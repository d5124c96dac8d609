"""The organization turns its customer portal off and on again (`portalEnabled`): while it is
off the portal does not exist for anyone outside the business; staff and API keys carry on."""

from __future__ import annotations

import asyncio
import re

import pytest

from auth import mfa
from models.activity import Activity, ActivityKind
from models.customers import ContactPerson, Customer, PortalAccess
from models.outbox import OutboxMessage
from tests import graphql_ws
from tests.conftest import PASSWORD, World, email_body, error_codes, gid, gql
from tests.test_activity import customer_event, following, websocket_client
from tests.test_mfa import Clock, code_at, enroll
from tests.test_online_payments import invoice
from tests.test_pdf import document_path, download, pages
from tests.test_public_links import OPEN, refusal, share

SWITCH = """mutation($on: Boolean!) { updatePortalPreferences(input: {portalEnabled: $on}) {
  portalPreferences { portalEnabled } errors { code } } }"""
PORTAL = """query($name: String!) { portal(name: $name) { name portalName } }"""
LOGIN = """mutation($portal: String! = "alpha", $email: String!, $password: String!) {
  portalLogin(input: {portalName: $portal, email: $email, password: $password}) {
    token mfaToken viewer { __typename } errors { code field message } } }"""
VERIFY_MFA = """mutation($token: String!, $code: String!) {
  verifyMfa(input: {mfaToken: $token, code: $code}) { token errors { code field } } }"""
SIGN_UP = """mutation($portal: String! = "alpha", $email: String!) {
  signUp(input: {portalName: $portal, email: $email, firstName: "Sam"}) {
    errors { code field message } } }"""
REQUEST_RESET = """mutation($portal: String! = "alpha", $email: String!) {
  requestPasswordReset(input: {portalName: $portal, email: $email}) {
    errors { code field message } } }"""
ACCEPT = """mutation($token: String!) { acceptInvitation(input: {token: $token,
  password: "a brand new passphrase"}) { token errors { code field message } } }"""
COMPLETE = """mutation($token: String!) { completeSignUp(input: {token: $token,
  password: "a brand new passphrase"}) { token errors { code field message } } }"""
RESET = """mutation($token: String!) { resetPassword(input: {token: $token,
  password: "a brand new passphrase"}) { token errors { code field message } } }"""
ENABLE = """mutation($ids: [ID!]!) { enablePortalAccess(input: {contactIds: $ids}) {
  contactPersons { portalAccess } errors { code field } } }"""
REINVITE = """mutation($id: ID!) { reinviteContact(input: {contactId: $id}) {
  contactPerson { portalAccess } errors { code } } }"""
BULK = """mutation($ids: [ID!]!) { bulkEnablePortal(input: {customerIds: $ids}) {
  results { contactPerson { portalAccess } error { code } } errors { code } } }"""
CREATE_CUSTOMER = """mutation($input: CreateCustomerInput!) { createCustomer(input: $input) {
  customer { contactPersons { portalAccess } } errors { code } } }"""
VIEWER = "{ viewer { __typename } }"
CUSTOMERS = "{ customers { totalCount } }"
SUBSCRIBE = "subscription { portalActivity { node { kind } } }"


async def switch(client, world: World, on: bool) -> None:
    body = await gql(client, SWITCH, {"on": on}, token=world.tokens["admin"])
    assert body["data"]["updatePortalPreferences"] == {
        "portalPreferences": {"portalEnabled": on},
        "errors": [],
    }


def emailed_token(message: OutboxMessage) -> str:
    return re.search(r"#token=([\w-]+)", email_body(message).text).group(1)


async def test_admins_turn_the_portal_off_and_it_is_recorded(client, world: World) -> None:
    shown = await gql(
        client, "{ portalPreferences { portalEnabled } }", token=world.tokens["staff"]
    )
    assert shown["data"]["portalPreferences"] == {"portalEnabled": True}  # on by default
    refused = await gql(client, SWITCH, {"on": False}, token=world.tokens["staff"])
    assert error_codes(refused) == ["FORBIDDEN"]
    await switch(client, world, False)
    await switch(client, world, False)  # no change, nothing recorded
    await switch(client, world, True)
    recorded = await Activity.filter(kind=ActivityKind.PREFERENCES_CHANGED).order_by("seq")
    assert [row.data["changes"] for row in recorded] == [
        {"portal_enabled": ["True", "False"]},
        {"portal_enabled": ["False", "True"]},
    ]
    assert all(row.actor_name == "Admin" for row in recorded)


async def test_a_portal_turned_off_answers_as_one_that_does_not_exist(client, world: World) -> None:
    await gql(client, """mutation { updatePortalPreferences(input: {allowSignUp: true}) {
      errors { code } } }""", token=world.tokens["admin"])  # fmt: skip
    await switch(client, world, False)

    assert (await gql(client, PORTAL, {"name": "alpha"}))["data"] == {"portal": None}
    right = await gql(client, LOGIN, {"email": "ann@acorn.example", "password": PASSWORD})
    wrong = await gql(client, LOGIN, {"email": "ann@acorn.example", "password": "not it at all"})
    unknown = await gql(client, LOGIN, {"portal": "nowhere", "email": "ann@acorn.example",
                                        "password": PASSWORD})  # fmt: skip
    assert right == wrong == unknown
    assert right["data"]["portalLogin"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    for mutation, email in ((SIGN_UP, "sam@new.example"), (REQUEST_RESET, "ann@acorn.example")):
        off = await gql(client, mutation, {"email": email})
        nowhere = await gql(client, mutation, {"portal": "nowhere", "email": email})
        assert off == nowhere
        assert next(iter(off["data"].values()))["errors"][0]["code"] == "NOT_FOUND"
    assert await OutboxMessage.all().count() == 0  # nobody was emailed

    await switch(client, world, True)
    assert (await gql(client, PORTAL, {"name": "alpha"}))["data"]["portal"]["portalName"] == "alpha"
    right = await gql(client, LOGIN, {"email": "ann@acorn.example", "password": PASSWORD})
    assert right["data"]["portalLogin"]["token"]
    for mutation, email in ((SIGN_UP, "sam@new.example"), (REQUEST_RESET, "ann@acorn.example")):
        body = await gql(client, mutation, {"email": email})
        assert next(iter(body["data"].values()))["errors"] == []
    assert await OutboxMessage.all().count() == 2


async def test_links_into_a_portal_turned_off_are_invalid_until_it_is_on(
    client, world: World
) -> None:
    await gql(client, """mutation { updatePortalPreferences(input: {allowSignUp: true}) {
      errors { code } } }""", token=world.tokens["admin"])  # fmt: skip
    newcomer = await ContactPerson.create(
        organization=world.org_a, customer=world.customer_a, first_name="Dana",
        email="dana@acorn.example",
    )  # fmt: skip
    await gql(client, ENABLE, {"ids": [gid("ContactPerson", newcomer)]},
              token=world.tokens["staff"])  # fmt: skip
    await gql(client, SIGN_UP, {"email": "sam@new.example"})
    await gql(client, REQUEST_RESET, {"email": "bob@birch.example"})
    messages = {m.template: m for m in await OutboxMessage.all()}
    links = {
        ACCEPT: emailed_token(messages["portal_invitation"]),
        COMPLETE: emailed_token(messages["email_verification"]),
        RESET: emailed_token(messages["password_reset"]),
    }
    await switch(client, world, False)

    for mutation, token in links.items():
        off = await gql(client, mutation, {"token": token})
        bogus = await gql(client, mutation, {"token": token[:-2] + "xx"})
        assert off == bogus
        assert next(iter(off["data"].values()))["errors"][0]["code"] == "TOKEN_INVALID"
    assert (await ContactPerson.get(id=newcomer.id)).portal_access == PortalAccess.INVITED
    assert not await ContactPerson.filter(email="sam@new.example").exists()

    await switch(client, world, True)  # the links were not used up
    for mutation, token in links.items():
        body = await gql(client, mutation, {"token": token})
        assert next(iter(body["data"].values()))["token"], body


async def test_contact_sessions_are_refused_while_off_and_kept_for_when_it_is_on(
    client, world: World
) -> None:
    document = await invoice(client, world)
    contact, staff, partner = (world.tokens[k] for k in ("contact_a", "staff", "partner"))
    no_such_file = "/files/U2hhcmVkRmlsZTo5OTk5OTk="
    await switch(client, world, False)

    assert error_codes(await gql(client, CUSTOMERS, token=contact)) == ["UNAUTHENTICATED"]
    assert (await gql(client, VIEWER, token=contact))["data"]["viewer"] is None
    assert (await download(client, document_path(document), contact)).status_code == 401
    assert (await download(client, no_such_file, contact)).status_code == 401
    # The business carries on.
    assert (await gql(client, CUSTOMERS, token=staff))["data"]["customers"]["totalCount"] == 2
    assert (await gql(client, CUSTOMERS, token=partner))["data"]["customers"]["totalCount"] == 2
    assert (await download(client, no_such_file, staff)).status_code == 404
    other_org = await gql(client, VIEWER, token=world.tokens["contact_other_org"])
    assert other_org["data"]["viewer"] == {"__typename": "ContactPerson"}

    await switch(client, world, True)
    assert (await gql(client, VIEWER, token=contact))["data"]["viewer"] == {
        "__typename": "ContactPerson"
    }
    assert "INV-000001" in " ".join(pages(await download(client, document_path(document), contact)))
    assert (await download(client, no_such_file, contact)).status_code == 404


async def test_turning_the_portal_off_ends_contacts_live_subscriptions(
    client, db, world: World
) -> None:
    async with websocket_client(db) as http:
        async with (
            graphql_ws.connect(http, token=world.tokens["contact_a"]) as contact_ws,
            graphql_ws.connect(http, token=world.tokens["staff"]) as staff_ws,
        ):
            await contact_ws.subscribe(SUBSCRIBE)
            await staff_ws.subscribe(SUBSCRIBE)
            await following(2)
            await switch(client, world, False)
            assert "UNAUTHENTICATED" in str(await contact_ws.receive())
            await customer_event(world, world.customer_a)
            kinds = [(await staff_ws.receive())["payload"]["data"]["portalActivity"]["node"]
                     for _ in range(2)]  # fmt: skip
            assert kinds == [{"kind": "PREFERENCES_CHANGED"}, {"kind": "PAYMENT_MADE"}]
        with pytest.raises(Exception):  # noqa: B017 - refused at connection_init
            async with graphql_ws.connect(http, token=world.tokens["contact_a"]) as ws:
                await ws.subscribe(SUBSCRIBE)
                await ws.receive()

        await switch(client, world, True)
        async with graphql_ws.connect(http, token=world.tokens["contact_a"]) as ws:
            await ws.subscribe(SUBSCRIBE)
            await asyncio.sleep(0.1)
            await customer_event(world, world.customer_a)
            message = await ws.receive()
            assert message["payload"]["data"]["portalActivity"]["node"] == {"kind": "PAYMENT_MADE"}


async def test_a_login_waiting_for_its_code_ends_when_the_portal_is_turned_off(
    client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(mfa, "clock", clock)
    secret, _ = await enroll(client, world.tokens["contact_a"], clock)
    step = await gql(client, LOGIN, {"email": "ann@acorn.example", "password": PASSWORD})
    challenge = step["data"]["portalLogin"]["mfaToken"]
    assert challenge
    await switch(client, world, False)
    clock.advance()
    body = await gql(client, VERIFY_MFA, {"token": challenge, "code": code_at(secret, clock.now)})
    assert body["data"]["verifyMfa"] == {
        "token": None,
        "errors": [{"code": "MFA_CHALLENGE_EXPIRED", "field": ["mfaToken"]}],
    }


async def test_public_links_are_invalid_while_the_portal_is_off(client, world: World) -> None:
    token = await share(client, world, await invoice(client, world))
    await switch(client, world, False)
    body = await gql(client, OPEN, {"token": token})
    assert body["data"] is None and refusal(body)[0] == "LINK_INVALID"
    assert refusal(body) == refusal(await gql(client, OPEN, {"token": "pl_unknown"}))
    assert (await client.get(f"/public/{token}/pdf")).status_code == 404

    await switch(client, world, True)
    shown = (await gql(client, OPEN, {"token": token}))["data"]["publicDocument"]
    assert shown["number"] == "INV-000001"


async def test_staff_cannot_invite_contacts_while_the_portal_is_off(client, world: World) -> None:
    staff = world.tokens["staff"]
    contact = await ContactPerson.create(
        organization=world.org_a, customer=world.customer_a, first_name="Dana",
        email="dana@acorn.example",
    )  # fmt: skip
    invited = await ContactPerson.create(
        organization=world.org_a, customer=world.customer_b, first_name="Ivy",
        email="ivy@birch.example", portal_access=PortalAccess.INVITED,
    )  # fmt: skip
    lone = await Customer.create(organization=world.org_a, display_name="Lone", currency="USD")
    await ContactPerson.create(organization=world.org_a, customer=lone, first_name="Lo",
                               email="lo@lone.example", is_primary=True)  # fmt: skip
    await switch(client, world, False)

    refused = [{"code": "PORTAL_DISABLED", "field": None}]
    body = await gql(client, ENABLE, {"ids": [gid("ContactPerson", contact)]}, token=staff)
    assert body["data"]["enablePortalAccess"] == {"contactPersons": None, "errors": refused}
    body = await gql(client, REINVITE, {"id": gid("ContactPerson", invited)}, token=staff)
    assert body["data"]["reinviteContact"]["errors"] == [{"code": "PORTAL_DISABLED"}]
    body = await gql(client, BULK, {"ids": [gid("Customer", lone)]}, token=staff)
    assert body["data"]["bulkEnablePortal"] == {
        "results": [],
        "errors": [{"code": "PORTAL_DISABLED"}],
    }
    eve = {"firstName": "Eve", "email": "eve@echo.example"}
    new_customer = {"displayName": "Echo", "allowPortalAccess": True, "contactPersons": [eve]}
    body = await gql(client, CREATE_CUSTOMER, {"input": new_customer}, token=staff)
    assert body["data"]["createCustomer"]["errors"] == [{"code": "PORTAL_DISABLED"}]
    assert not await Customer.filter(display_name="Echo").exists()
    assert await ContactPerson.filter(portal_access=PortalAccess.INVITED).count() == 1
    assert await OutboxMessage.all().count() == 0

    await switch(client, world, True)
    body = await gql(client, ENABLE, {"ids": [gid("ContactPerson", contact)]}, token=staff)
    assert body["data"]["enablePortalAccess"]["contactPersons"] == [{"portalAccess": "INVITED"}]
    body = await gql(client, BULK, {"ids": [gid("Customer", lone)]}, token=staff)
    [result] = body["data"]["bulkEnablePortal"]["results"]
    assert result == {"contactPerson": {"portalAccess": "INVITED"}, "error": None}
    assert await OutboxMessage.filter(template="portal_invitation").count() == 2
