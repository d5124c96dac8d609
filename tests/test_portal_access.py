"""Portal access through the API, with the emails caught by a real SMTP server."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from integrations.mailer import mailer_from_url
from integrations.outbox import deliver_once
from models.activity import Activity, ActivityKind
from models.customers import ContactPerson, Customer, PortalAccess
from models.organizations import Organization
from models.preferences import PortalPreferences
from models.tokens import OneTimeToken
from resolvers import transactions
from resolvers.preferences import preferences_for
from tests.conftest import PASSWORD, World, error_codes, gid, gql
from tests.smtp import SmtpServer

NEW_PASSWORD = "a brand new passphrase"
ENABLE = """mutation($ids: [ID!]!) { enablePortalAccess(input: {contactIds: $ids}) {
  contactPersons { email portalAccess invitedAt } errors { code field message } } }"""
ACCEPT = """mutation($token: String!, $password: String!) {
  acceptInvitation(input: {token: $token, password: $password}) {
    token errors { code field } viewer { ... on ContactPerson { email } } } }"""
PORTAL_LOGIN = """mutation($email: String!, $password: String!) {
  portalLogin(input: {portalName: "alpha", email: $email, password: $password}) {
    token errors { code } } }"""
VIEWER = "{ viewer { ... on ContactPerson { email } } }"


async def deliver(smtp: SmtpServer, count: int):
    mailer = mailer_from_url(smtp.url)
    while await deliver_once(mailer, "test"):
        pass
    return smtp.wait_for(count)


def link_token(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"#token=([\w-]+)", body).group(1)


async def new_contact(world: World, email: str = "dana@acorn.example", **fields) -> ContactPerson:
    return await ContactPerson.create(
        organization=world.org_a,
        customer=world.customer_a,
        first_name="Dana",
        email=email,
        **fields,
    )


async def test_invite_accept_login_logout_path(client, world: World, smtp: SmtpServer) -> None:
    contact = await new_contact(world)
    body = await gql(client, ENABLE, {"ids": [gid("ContactPerson", contact)]},
                     token=world.tokens["staff"])  # fmt: skip
    [enabled] = body["data"]["enablePortalAccess"]["contactPersons"]
    assert enabled["portalAccess"] == "INVITED" and enabled["invitedAt"]

    [invitation] = await deliver(smtp, 1)
    assert invitation["To"] == "dana@acorn.example"
    assert "Alpha Trading" in invitation["Subject"]
    token = link_token(invitation)
    assert not await OneTimeToken.filter(token_hash=token).exists()  # only its hash is kept

    weak = await gql(client, ACCEPT, {"token": token, "password": "password1"})
    assert weak["data"]["acceptInvitation"]["errors"][0]["code"] == "WEAK_PASSWORD"
    body = await gql(client, ACCEPT, {"token": token, "password": NEW_PASSWORD})
    accepted = body["data"]["acceptInvitation"]
    assert accepted["errors"] == [] and accepted["viewer"] == {"email": "dana@acorn.example"}
    again = await gql(client, ACCEPT, {"token": token, "password": NEW_PASSWORD})
    assert again["data"]["acceptInvitation"]["errors"] == [
        {"code": "TOKEN_USED", "field": ["token"]}
    ]

    session = accepted["token"]
    assert (await gql(client, VIEWER, token=session))["data"]["viewer"]
    await gql(client, "mutation { logout { errors { code } } }", token=session)
    login = await gql(
        client, PORTAL_LOGIN, {"email": "dana@acorn.example", "password": NEW_PASSWORD}
    )
    assert login["data"]["portalLogin"]["token"]
    kinds = [a.kind for a in await Activity.all().order_by("seq")]
    assert kinds == [ActivityKind.CONTACT_INVITED, ActivityKind.INVITE_ACCEPTED]


async def test_tampered_expired_and_replaced_links_change_nothing(
    client, world: World, smtp: SmtpServer
) -> None:
    contact = await new_contact(world)
    ids = {"ids": [gid("ContactPerson", contact)]}
    await gql(client, ENABLE, ids, token=world.tokens["staff"])
    first = link_token((await deliver(smtp, 1))[0])
    reinvite = """mutation($id: ID!) { reinviteContact(input: {contactId: $id}) {
      contactPerson { portalAccess } errors { code } } }"""
    await gql(client, reinvite, {"id": ids["ids"][0]}, token=world.tokens["staff"])
    second = link_token((await deliver(smtp, 2))[1])

    answers = {}
    for name, token in (("replaced", first), ("tampered", second[:-2] + "xx")):
        body = await gql(client, ACCEPT, {"token": token, "password": NEW_PASSWORD})
        answers[name] = body["data"]["acceptInvitation"]["errors"][0]["code"]
    await OneTimeToken.filter(used_at=None).update(expires_at=datetime.now(UTC) - timedelta(1))
    body = await gql(client, ACCEPT, {"token": second, "password": NEW_PASSWORD})
    answers["expired"] = body["data"]["acceptInvitation"]["errors"][0]["code"]
    assert answers == {"replaced": "INVITATION_REPLACED", "tampered": "TOKEN_INVALID",
                       "expired": "TOKEN_EXPIRED"}  # fmt: skip
    stored = await ContactPerson.get(id=contact.id)
    assert stored.portal_access == PortalAccess.INVITED and stored.password_hash == ""


async def test_an_old_invitation_link_says_it_was_replaced(
    client, world: World, smtp: SmtpServer
) -> None:
    contact = await new_contact(world)
    await gql(client, ENABLE, {"ids": [gid("ContactPerson", contact)]},
              token=world.tokens["staff"])  # fmt: skip
    old = link_token((await deliver(smtp, 1))[0])
    await gql(client, ENABLE, {"ids": [gid("ContactPerson", contact)]},
              token=world.tokens["staff"])  # fmt: skip
    new = link_token((await deliver(smtp, 2))[1])
    accept = ACCEPT.replace("errors { code field }", "errors { code field message }")

    async def answer(token: str) -> list[dict]:
        body = await gql(client, accept, {"token": token, "password": NEW_PASSWORD})
        return body["data"]["acceptInvitation"]["errors"]

    [replaced] = await answer(old)
    assert replaced["code"] == "INVITATION_REPLACED" and replaced["field"] == ["token"]
    assert "replaced by a newer one" in replaced["message"]
    assert await answer(new) == []
    # Once the newer link is used, it says so; the old one still says it was replaced.
    assert [e["code"] for e in await answer(new)] == ["TOKEN_USED"]
    assert [e["code"] for e in await answer(old)] == ["INVITATION_REPLACED"]


async def test_a_contact_without_email_cannot_be_enabled(client, world: World) -> None:
    contact = await new_contact(world, email="")
    body = await gql(client, ENABLE, {"ids": [gid("ContactPerson", contact)]},
                     token=world.tokens["staff"])  # fmt: skip
    result = body["data"]["enablePortalAccess"]
    assert result["errors"][0]["code"] == "NO_EMAIL" and result["contactPersons"] is None
    assert (await ContactPerson.get(id=contact.id)).portal_access == PortalAccess.NOT_INVITED


async def test_new_customer_with_portal_access_invites_its_primary_contact(
    client, world: World, smtp: SmtpServer
) -> None:
    mutation = """mutation($input: CreateCustomerInput!) { createCustomer(input: $input) {
      customer { contactPersons { email portalAccess } } errors { code field } } }"""
    nameless = {"displayName": "Echo", "allowPortalAccess": True,
                "contactPersons": [{"firstName": "Eve"}]}  # fmt: skip
    body = await gql(client, mutation, {"input": nameless}, token=world.tokens["staff"])
    assert body["data"]["createCustomer"]["errors"] == [
        {"code": "NO_EMAIL", "field": ["contactPersons", "0", "email"]}
    ]
    assert not await Customer.filter(display_name="Echo").exists()
    nameless["contactPersons"][0]["email"] = "eve@echo.example"
    body = await gql(client, mutation, {"input": nameless}, token=world.tokens["staff"])
    assert body["data"]["createCustomer"]["customer"]["contactPersons"] == [
        {"email": "eve@echo.example", "portalAccess": "INVITED"}
    ]
    [invitation] = await deliver(smtp, 1)
    assert invitation["To"] == "eve@echo.example"


async def test_invitation_is_in_the_customers_portal_language(
    client, world: World, smtp: SmtpServer
) -> None:
    await Customer.filter(id=world.customer_a.id).update(portal_language="es")
    contact = await new_contact(world)
    await gql(client, ENABLE, {"ids": [gid("ContactPerson", contact)]},
              token=world.tokens["staff"])  # fmt: skip
    [invitation] = await deliver(smtp, 1)
    assert "portal de clientes" in invitation["Subject"]


async def test_disabling_cuts_off_session_and_invitation(client, world: World) -> None:
    token = world.tokens["contact_b"]
    mutation = """mutation($id: ID!) { disablePortalAccess(input: {contactId: $id}) {
      contactPerson { portalAccess } errors { code } } }"""
    body = await gql(client, mutation, {"id": gid("ContactPerson", world.contact_b)},
                     token=world.tokens["staff"])  # fmt: skip
    assert body["data"]["disablePortalAccess"]["contactPerson"] == {"portalAccess": "DISABLED"}
    assert error_codes(await gql(client, "{ customers { totalCount } }", token=token)) == [
        "UNAUTHENTICATED"
    ]
    login = await gql(client, PORTAL_LOGIN, {"email": "bob@birch.example", "password": PASSWORD})
    assert login["data"]["portalLogin"]["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_disabling_ends_an_open_subscription(db, client, world: World) -> None:

    from tests import graphql_ws
    from tests.test_activity import following, websocket_client

    mutation = """mutation($id: ID!) { disablePortalAccess(input: {contactId: $id}) {
      errors { code } } }"""
    async with (
        websocket_client(db) as http,
        graphql_ws.connect(http, token=world.tokens["contact_a"]) as ws,
    ):
        await ws.subscribe("subscription { portalActivity { node { kind } } }")
        await following(1)
        await gql(client, mutation, {"id": gid("ContactPerson", world.contact_a)},
                  token=world.tokens["staff"])  # fmt: skip
        assert "UNAUTHENTICATED" in str(await ws.receive())


@pytest.mark.slow
async def test_bulk_enable_reports_each_customer(client, world: World, smtp: SmtpServer) -> None:
    ids = []
    for index in range(200):
        customer = await Customer.create(
            organization=world.org_a, display_name=f"Bulk {index:03}", currency="USD"
        )
        ids.append(gid("Customer", customer))
        if index % 50 == 1:
            continue  # no contact at all
        await ContactPerson.create(
            organization=world.org_a, customer=customer, first_name="P", is_primary=True,
            email="" if index % 50 == 2 else f"p{index}@bulk.example",
        )  # fmt: skip
    ids.append(gid("Customer", world.customer_other_org))
    mutation = """mutation($ids: [ID!]!) { bulkEnablePortal(input: {customerIds: $ids}) {
      results { customerId contactPerson { portalAccess } error { code } } errors { code } } }"""
    body = await gql(client, mutation, {"ids": ids}, token=world.tokens["staff"])
    results = body["data"]["bulkEnablePortal"]["results"]
    assert [r["customerId"] for r in results] == ids
    codes = [r["error"]["code"] if r["error"] else "OK" for r in results]
    assert codes.count("OK") == 192
    assert codes.count("NO_PRIMARY_CONTACT") == 4 and codes.count("NO_EMAIL") == 4
    assert codes[-1] == "NOT_FOUND"
    # Each contact as it is after the invitation, not as it was read before.
    shown = {
        (code, (r["contactPerson"] or {}).get("portalAccess"))
        for code, r in zip(codes, results, strict=True)
    }
    assert shown == {("OK", "INVITED"), ("NO_EMAIL", "NOT_INVITED"),
                     ("NO_PRIMARY_CONTACT", None), ("NOT_FOUND", None)}  # fmt: skip
    assert await ContactPerson.filter(portal_access=PortalAccess.INVITED).count() == 192
    await deliver(smtp, 192)
    assert len(smtp.inbox.messages) == 192


SIGN_UP = """mutation($email: String!) { signUp(input: {portalName: "alpha", email: $email,
  firstName: "Sam", lastName: "New", companyName: "Newco", language: "de"}) {
  errors { code } } }"""
COMPLETE = """mutation($token: String!) { completeSignUp(input: {token: $token,
  password: "a brand new passphrase"}) { token errors { code }
  viewer { ... on ContactPerson { email customer { displayName portalLanguage } } } } }"""


async def test_sign_up_only_when_allowed_and_verified(
    client, world: World, smtp: SmtpServer
) -> None:
    refused = await gql(client, SIGN_UP, {"email": "sam@newco.example"})
    assert refused["data"]["signUp"]["errors"] == [{"code": "SIGN_UP_DISABLED"}]
    allow = await gql(client, PREFERENCES, {"input": {"allowSignUp": True}},
                      token=world.tokens["admin"])  # fmt: skip
    assert allow["data"]["updatePortalPreferences"]["portalPreferences"]["allowSignUp"]

    unknown = await gql(client, SIGN_UP, {"email": "sam@newco.example"})
    known = await gql(client, SIGN_UP, {"email": "ann@acorn.example"})
    assert unknown == known == {"data": {"signUp": {"errors": []}}}
    assert not await Customer.filter(display_name="Newco").exists()  # not before verification

    verification, exists = sorted(
        await deliver(smtp, 2), key=lambda m: m["To"] != "sam@newco.example"
    )
    assert "Bestätigen" in verification["Subject"]
    assert "bereits ein Konto" not in exists["Subject"] and "#token=" not in str(exists)
    body = await gql(client, COMPLETE, {"token": link_token(verification)})
    done = body["data"]["completeSignUp"]
    assert done["viewer"] == {
        "email": "sam@newco.example",
        "customer": {"displayName": "Newco", "portalLanguage": "de"},
    }
    assert (await ContactPerson.get(email="sam@newco.example")).portal_access == "ACTIVE"
    assert await Activity.filter(kind=ActivityKind.SIGNED_UP).count() == 1


async def test_password_reset_ends_other_sessions(client, world: World, smtp: SmtpServer) -> None:
    request = """mutation($email: String!) { requestPasswordReset(input: {portalName: "alpha",
      email: $email}) { errors { code } } }"""
    known = await gql(client, request, {"email": "ann@acorn.example"})
    unknown = await gql(client, request, {"email": "nobody@acorn.example"})
    assert known == unknown == {"data": {"requestPasswordReset": {"errors": []}}}
    [message] = await deliver(smtp, 1)
    reset = """mutation($token: String!) { resetPassword(input: {token: $token,
      password: "a brand new passphrase"}) { token errors { code } } }"""
    body = await gql(client, reset, {"token": link_token(message)})
    new_session = body["data"]["resetPassword"]["token"]
    assert new_session
    assert (await gql(client, VIEWER, token=world.tokens["contact_a"]))["data"]["viewer"] is None
    assert (await gql(client, VIEWER, token=new_session))["data"]["viewer"]
    again = await gql(client, reset, {"token": link_token(message)})
    assert again["data"]["resetPassword"]["errors"] == [{"code": "TOKEN_USED"}]


async def test_reset_requests_are_rate_limited(client, world: World) -> None:
    request = """mutation { requestPasswordReset(input: {portalName: "alpha",
      email: "ann@acorn.example"}) { errors { code } } }"""
    answers = [
        (await gql(client, request))["data"]["requestPasswordReset"]["errors"] for _ in range(4)
    ]
    assert answers[:3] == [[], [], []]
    assert answers[3] == [{"code": "RATE_LIMITED"}]


PREFERENCES = """mutation($input: UpdatePortalPreferencesInput!) {
  updatePortalPreferences(input: $input) {
    portalPreferences { portalName portalUrl bannerMessage allowSignUp showSalesOrders mfaRequired }
    errors { code field } } }"""


async def test_admin_changes_preferences_and_portal_name(client, world: World) -> None:
    change = {"portalName": "alpha-trading", "bannerMessage": "Closed on Friday",
              "allowSignUp": True, "showSalesOrders": False}  # fmt: skip
    body = await gql(client, PREFERENCES, {"input": change}, token=world.tokens["admin"])
    prefs = body["data"]["updatePortalPreferences"]["portalPreferences"]
    assert prefs["portalUrl"].endswith("/portal/alpha-trading")
    assert prefs["bannerMessage"] == "Closed on Friday" and prefs["showSalesOrders"] is False
    home = await gql(client, "{ portalHome { bannerMessage organization { portalName } } }",
                     token=world.tokens["contact_a"])  # fmt: skip
    assert home["data"]["portalHome"] == {
        "bannerMessage": "Closed on Friday",
        "organization": {"portalName": "alpha-trading"},
    }
    taken = await gql(client, PREFERENCES, {"input": {"portalName": "beta"}},
                      token=world.tokens["admin"])  # fmt: skip
    assert taken["data"]["updatePortalPreferences"]["errors"] == [
        {"code": "PORTAL_NAME_TAKEN", "field": ["portalName"]}
    ]
    [recorded] = await Activity.filter(kind=ActivityKind.PREFERENCES_CHANGED)
    assert set(recorded.data["changes"]) == {
        "portal_name",
        "banner_message",
        "allow_sign_up",
        "show_sales_orders",
    }
    # The portal now answers to its new name only.
    login = await gql(client, PORTAL_LOGIN.replace('"alpha"', '"alpha-trading"'),
                      {"email": "ann@acorn.example", "password": PASSWORD})  # fmt: skip
    assert login["data"]["portalLogin"]["token"]


@pytest.mark.parametrize("value", ["Bad Name", "x", "-dash"])
async def test_invalid_portal_names_are_refused(client, world: World, value: str) -> None:
    body = await gql(client, PREFERENCES, {"input": {"portalName": value}},
                     token=world.tokens["admin"])  # fmt: skip
    assert body["data"]["updatePortalPreferences"]["errors"][0]["field"] == ["portalName"]


async def test_preferences_are_created_once_by_concurrent_requests(db) -> None:
    organization = await Organization.create(name="New", portal_name="new", base_currency="USD")

    async def read_within_a_change() -> int:
        async with transactions.unit_of_work():
            preferences = await preferences_for(organization.id)
            await Organization.filter(id=organization.id).update(name="New")  # still usable
            return preferences.id

    ids = await asyncio.gather(*(read_within_a_change() for _ in range(12)))
    assert len(set(ids)) == 1
    assert await PortalPreferences.filter(organization_id=organization.id).count() == 1
