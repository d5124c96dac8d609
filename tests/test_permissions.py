"""Every query, mutation and node lookup, asked by every kind of principal.

Each row says what each principal gets: the data it may see, or the error code it must get.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from strawberry.relay import GlobalID

from server.settings import Settings
from tests.conftest import TODAY, World, copied_once, gid, gql, make_world
from tests.databases import Snapshot

PRINCIPALS = (
    "anonymous",
    "contact_a",
    "contact_b",
    "contact_other_org",
    "staff",
    "admin",
    "staff_other_org",
    "partner",
    "partner_no_scope",
)
# A key limited to customer A, with every scope (conftest's world). Unless a case says
# otherwise, it gets what customer A's contact gets from a query, and what the organization's
# key gets from a mutation (FORBIDDEN: keys are read-only): see `_with_customer_key`.
CUSTOMER_KEY = "customer_key"


@dataclass(frozen=True)
class Denied:
    code: str


UNAUTH = Denied("UNAUTHENTICATED")
FORBIDDEN = Denied("FORBIDDEN")
LINK_INVALID = Denied("LINK_INVALID")
PEOPLE_ONLY = {"partner": FORBIDDEN, "partner_no_scope": FORBIDDEN, "anonymous": UNAUTH}
CONTACTS = ("contact_a", "contact_b", "contact_other_org")


@dataclass(frozen=True)
class Case:
    name: str
    query: str
    variables: Callable[[World], dict[str, Any]]
    extract: Callable[[dict[str, Any]], Any]
    expect: dict[str, Any]
    # (variable, file name, content): sent as a multipart request with that file.
    upload: tuple[str, str, bytes] | None = None


def every(value: Any, **overrides: Any) -> dict[str, Any]:
    expect = {principal: overrides.get(principal, value) for principal in PRINCIPALS}
    return expect | ({CUSTOMER_KEY: overrides[CUSTOMER_KEY]} if CUSTOMER_KEY in overrides else {})


def deny_contacts_and_partners(value: Any, **overrides: Any) -> dict[str, Any]:
    denied = dict.fromkeys(CONTACTS, FORBIDDEN) | {"partner": FORBIDDEN}
    return every(value, anonymous=UNAUTH, partner_no_scope=FORBIDDEN, **denied | overrides)


def names(data: dict, field: str) -> list[str]:
    return sorted(node["displayName"] for node in data[field]["nodes"])


A_ONLY, B_ONLY, OTHER_ONLY = ["Acorn Ltd"], ["Birch Inc"], ["Cedar Co"]
ORG_A = ["Acorn Ltd", "Birch Inc"]

CASES = [
    Case(
        "viewer",
        "{ viewer { __typename } }",
        lambda w: {},
        lambda d: d["viewer"] and d["viewer"]["__typename"],
        every(
            "StaffUser",
            anonymous=None,
            contact_a="ContactPerson",
            contact_b="ContactPerson",
            contact_other_org="ContactPerson",
            partner="ApiKey",
            partner_no_scope="ApiKey",
            customer_key="ApiKey",
        ),
    ),
    Case(
        "organization",
        "{ organization { name portalUrl } }",
        lambda w: {},
        lambda d: d["organization"]["name"],
        every(
            "Alpha Trading",
            anonymous=UNAUTH,
            contact_other_org="Beta Goods",
            staff_other_org="Beta Goods",
        ),
    ),
    Case(
        "customers",
        "{ customers { totalCount nodes { displayName } } }",
        lambda w: {},
        lambda d: names(d, "customers"),
        every(
            ORG_A,
            anonymous=UNAUTH,
            contact_a=A_ONLY,
            contact_b=B_ONLY,
            contact_other_org=OTHER_ONLY,
            staff_other_org=OTHER_ONLY,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "customer",
        "query($id: ID!) { customer(id: $id) { displayName } }",
        lambda w: {"id": gid("Customer", w.customer_a)},
        lambda d: d["customer"] and d["customer"]["displayName"],
        every(
            "Acorn Ltd",
            anonymous=UNAUTH,
            contact_b=None,
            contact_other_org=None,
            staff_other_org=None,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "node customer",
        "query($id: ID!) { node(id: $id) { ... on Customer { displayName } } }",
        lambda w: {"id": gid("Customer", w.customer_a)},
        lambda d: d["node"] and d["node"]["displayName"],
        every(
            "Acorn Ltd",
            anonymous=UNAUTH,
            contact_b=None,
            contact_other_org=None,
            staff_other_org=None,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "nodes contacts",
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on ContactPerson { email } } }",
        lambda w: {"ids": [gid("ContactPerson", w.contact_a), gid("ContactPerson", w.contact_b)]},
        lambda d: [node and node["email"] for node in d["nodes"]],
        every(
            ["ann@acorn.example", "bob@birch.example"],
            anonymous=UNAUTH,
            contact_a=["ann@acorn.example", None],
            contact_b=[None, "bob@birch.example"],
            contact_other_org=[None, None],
            staff_other_org=[None, None],
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "contactPersons",
        "{ contactPersons { nodes { email } } }",
        lambda w: {},
        lambda d: sorted(node["email"] for node in d["contactPersons"]["nodes"]),
        every(
            ["ann@acorn.example", "bob@birch.example"],
            anonymous=UNAUTH,
            contact_a=["ann@acorn.example"],
            contact_b=["bob@birch.example"],
            contact_other_org=["cy@cedar.example"],
            staff_other_org=["cy@cedar.example"],
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "staff-only customer field",
        "query($id: ID!) { customer(id: $id) { internalNotes creditLimit { amount } } }",
        lambda w: {"id": gid("Customer", w.customer_a)},
        lambda d: d["customer"] and d["customer"]["internalNotes"],
        every(
            "vip",
            anonymous=UNAUTH,
            contact_a=FORBIDDEN,
            contact_b=None,
            contact_other_org=None,
            staff_other_org=None,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "staff-only contact field",
        "{ contactPersons { nodes { portalAccess lastLoginAt } } }",
        lambda w: {},
        lambda d: sorted({node["portalAccess"] for node in d["contactPersons"]["nodes"]}),
        every(
            ["ACTIVE"],
            anonymous=UNAUTH,
            contact_a=FORBIDDEN,
            contact_b=FORBIDDEN,
            contact_other_org=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "staffUsers",
        "{ staffUsers { nodes { email } } }",
        lambda w: {},
        lambda d: sorted(node["email"] for node in d["staffUsers"]["nodes"]),
        deny_contacts_and_partners(
            ["admin@alpha.example", "staff@alpha.example"],
            staff_other_org=["admin@beta.example"],
        ),
    ),
    Case(
        "node staff user",
        "query($id: ID!) { node(id: $id) { ... on StaffUser { email } } }",
        lambda w: {"id": gid("StaffUser", w.staff)},
        lambda d: d["node"] and d["node"]["email"],
        deny_contacts_and_partners("staff@alpha.example", staff_other_org=None),
    ),
    Case(
        "apiKeys",
        "{ apiKeys { nodes { name } } }",
        lambda w: {},
        lambda d: sorted(node["name"] for node in d["apiKeys"]["nodes"]),
        deny_contacts_and_partners(
            ["Acorn AP", "Empty", "Sync"], staff=FORBIDDEN, staff_other_org=[]
        ),
    ),
    Case(
        "outgoingEmails",
        "{ outgoingEmails { totalCount nodes { recipient } } }",
        lambda w: {},
        lambda d: d["outgoingEmails"]["totalCount"],
        deny_contacts_and_partners(0, staff=FORBIDDEN),
    ),
    Case(
        "createCustomer",
        'mutation { createCustomer(input: {displayName: "New"}) { customer { displayName } '
        "errors { code } } }",
        lambda w: {},
        lambda d: d["createCustomer"]["customer"]["displayName"],
        deny_contacts_and_partners("New"),
    ),
    Case(
        "updateCustomer",
        'mutation($id: ID!) { updateCustomer(input: {id: $id, displayName: "Renamed"}) { '
        "customer { displayName } errors { code } } }",
        lambda w: {"id": gid("Customer", w.customer_a)},
        lambda d: (
            (d["updateCustomer"]["customer"] and "Renamed")
            or d["updateCustomer"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("Renamed", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "createContactPerson",
        'mutation($id: ID!) { createContactPerson(input: {customerId: $id, firstName: "N"}) { '
        "contactPerson { name } errors { code } } }",
        lambda w: {"id": gid("Customer", w.customer_a)},
        lambda d: (
            (
                d["createContactPerson"]["contactPerson"]
                and d["createContactPerson"]["contactPerson"]["name"]
            )
            or d["createContactPerson"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("N", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "updateContactPerson",
        'mutation($id: ID!) { updateContactPerson(input: {id: $id, lastName: "Z"}) { '
        "contactPerson { name } errors { code } } }",
        lambda w: {"id": gid("ContactPerson", w.contact_a)},
        lambda d: (
            (
                d["updateContactPerson"]["contactPerson"]
                and d["updateContactPerson"]["contactPerson"]["name"]
            )
            or d["updateContactPerson"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("Acorn Z", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "createStaffUser",
        'mutation { createStaffUser(input: {email: "new@alpha.example", name: "New", '
        'password: "a fine long passphrase"}) { staffUser { email } errors { code } } }',
        lambda w: {},
        lambda d: d["createStaffUser"]["staffUser"]["email"],
        deny_contacts_and_partners("new@alpha.example", staff=FORBIDDEN),
    ),
    Case(
        "updateStaffUser",
        'mutation($id: ID!) { updateStaffUser(input: {id: $id, name: "Renamed"}) { '
        "staffUser { name } errors { code } } }",
        lambda w: {"id": gid("StaffUser", w.staff)},
        lambda d: (
            (d["updateStaffUser"]["staffUser"] and "Renamed")
            or d["updateStaffUser"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("Renamed", staff=FORBIDDEN, staff_other_org="NOT_FOUND"),
    ),
    Case(
        "createApiKey",
        'mutation { createApiKey(input: {name: "K", scopes: [CUSTOMERS_READ]}) { '
        "secret apiKey { scopes } errors { code } } }",
        lambda w: {},
        lambda d: d["createApiKey"]["apiKey"]["scopes"],
        deny_contacts_and_partners(["CUSTOMERS_READ"], staff=FORBIDDEN),
    ),
    Case(
        "revokeApiKey",
        "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { apiKey { name } errors { code } } }",
        lambda w: {"id": w.partner_key_id},
        lambda d: (
            (d["revokeApiKey"]["apiKey"] and d["revokeApiKey"]["apiKey"]["name"])
            or d["revokeApiKey"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("Sync", staff=FORBIDDEN, staff_other_org="NOT_FOUND"),
    ),
    Case(
        "updateOrganization",
        'mutation { updateOrganization(input: {phone: "+1 555 0100"}) { '
        "organization { phone } errors { code } } }",
        lambda w: {},
        lambda d: d["updateOrganization"]["organization"]["phone"],
        deny_contacts_and_partners("+1 555 0100", staff=FORBIDDEN),
    ),
    Case(
        "activities",
        "{ activities { totalCount } }",
        lambda w: {},
        lambda d: d["activities"]["totalCount"],
        every(
            8,
            anonymous=UNAUTH,
            contact_a=7,
            contact_b=0,
            contact_other_org=0,
            staff_other_org=0,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "node activity",
        "query($id: ID!) { node(id: $id) { ... on Activity { kind } } }",
        lambda w: {"id": w.payment_activity_id},
        lambda d: d["node"] and d["node"]["kind"],
        every(
            "PAYMENT_MADE",
            anonymous=UNAUTH,
            contact_b=None,
            contact_other_org=None,
            staff_other_org=None,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "notifications",
        "{ notifications { totalCount } }",
        lambda w: {},
        lambda d: d["notifications"]["totalCount"],
        deny_contacts_and_partners(2, staff_other_org=0),
    ),
    Case(
        "unreadNotificationCount",
        "{ unreadNotificationCount }",
        lambda w: {},
        lambda d: d["unreadNotificationCount"],
        deny_contacts_and_partners(2, staff_other_org=0),
    ),
    Case(
        "markNotificationsRead",
        "mutation { markNotificationsRead(input: {ids: null}) { unreadCount errors { code } } }",
        lambda w: {},
        lambda d: d["markNotificationsRead"]["unreadCount"],
        deny_contacts_and_partners(0),
    ),
    Case(
        "portalPreferences",
        "{ portalPreferences { activityNotifications } }",
        lambda w: {},
        lambda d: d["portalPreferences"]["activityNotifications"],
        deny_contacts_and_partners("IN_APP"),
    ),
    Case(
        "updatePortalPreferences",
        "mutation { updatePortalPreferences(input: {activityNotifications: BOTH}) { "
        "portalPreferences { activityNotifications } errors { code } } }",
        lambda w: {},
        lambda d: d["updatePortalPreferences"]["portalPreferences"]["activityNotifications"],
        deny_contacts_and_partners("BOTH", staff=FORBIDDEN),
    ),
    Case(
        "updateNotificationSettings",
        "mutation { updateNotificationSettings(input: {activityEmails: false}) { "
        "staffUser { activityEmails } errors { code } } }",
        lambda w: {},
        lambda d: d["updateNotificationSettings"]["staffUser"]["activityEmails"],
        deny_contacts_and_partners(False),
    ),
    Case(
        "portal",
        '{ portal(name: "alpha") { name signUpOpen } }',
        lambda w: {},
        lambda d: d["portal"]["name"],
        every("Alpha Trading"),
    ),
    Case(
        "portalHome",
        "{ portalHome { bannerMessage organization { name } } }",
        lambda w: {},
        lambda d: d["portalHome"]["organization"]["name"],
        every(
            "Alpha Trading",
            anonymous=UNAUTH,
            contact_other_org="Beta Goods",
            staff_other_org="Beta Goods",
        ),
    ),
    Case(
        "enablePortalAccess",
        "mutation($id: ID!) { enablePortalAccess(input: {contactIds: [$id]}) { "
        "contactPersons { name } errors { code } } }",
        lambda w: {"id": gid("ContactPerson", w.contact_a)},
        lambda d: (
            (
                d["enablePortalAccess"]["contactPersons"]
                and d["enablePortalAccess"]["contactPersons"][0]["name"]
            )
            or d["enablePortalAccess"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("Acorn Contact", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "reinviteContact",
        "mutation($id: ID!) { reinviteContact(input: {contactId: $id}) { "
        "contactPerson { name } errors { code } } }",
        lambda w: {"id": gid("ContactPerson", w.contact_a)},
        lambda d: d["reinviteContact"]["errors"][0]["code"],
        deny_contacts_and_partners("ALREADY_ACTIVE", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "disablePortalAccess",
        "mutation($id: ID!) { disablePortalAccess(input: {contactId: $id}) { "
        "contactPerson { name } errors { code } } }",
        lambda w: {"id": gid("ContactPerson", w.contact_b)},
        lambda d: (
            (
                d["disablePortalAccess"]["contactPerson"]
                and d["disablePortalAccess"]["contactPerson"]["name"]
            )
            or d["disablePortalAccess"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("Birch Contact", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "bulkEnablePortal",
        "mutation($id: ID!) { bulkEnablePortal(input: {customerIds: [$id]}) { "
        "results { contactPerson { name } error { code } } errors { code } } }",
        lambda w: {"id": gid("Customer", w.customer_a)},
        lambda d: (
            (d["bulkEnablePortal"]["results"][0]["error"] or {}).get("code")
            or d["bulkEnablePortal"]["results"][0]["contactPerson"]["name"]
        ),
        deny_contacts_and_partners("Acorn Contact", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "acceptInvitation",
        'mutation { acceptInvitation(input: {token: "inv_bogus", password: "x"}) { '
        "token errors { code } } }",
        lambda w: {},
        lambda d: d["acceptInvitation"]["errors"][0]["code"],
        every("TOKEN_INVALID"),
    ),
    Case(
        "completeSignUp",
        'mutation { completeSignUp(input: {token: "ver_bogus", password: "x"}) { '
        "token errors { code } } }",
        lambda w: {},
        lambda d: d["completeSignUp"]["errors"][0]["code"],
        every("TOKEN_INVALID"),
    ),
    Case(
        "resetPassword",
        'mutation { resetPassword(input: {token: "rst_bogus", password: "x"}) { '
        "token errors { code } } }",
        lambda w: {},
        lambda d: d["resetPassword"]["errors"][0]["code"],
        every("TOKEN_INVALID"),
    ),
    Case(
        "signUp",
        'mutation { signUp(input: {portalName: "alpha", email: "new@x.example", '
        'firstName: "N"}) { errors { code } } }',
        lambda w: {},
        lambda d: d["signUp"]["errors"][0]["code"],
        every("SIGN_UP_DISABLED"),
    ),
    Case(
        "requestPasswordReset",
        'mutation { requestPasswordReset(input: {portalName: "alpha", '
        'email: "ann@acorn.example"}) { errors { code } } }',
        lambda w: {},
        lambda d: d["requestPasswordReset"]["errors"],
        every([]),
    ),
    Case(
        "salesDocuments",
        "{ salesDocuments { totalCount } }",
        lambda w: {},
        lambda d: d["salesDocuments"]["totalCount"],
        every(
            6,
            anonymous=UNAUTH,
            contact_a=5,
            contact_b=0,
            contact_other_org=0,
            staff_other_org=0,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "node invoice",
        "query($id: ID!) { node(id: $id) { ... on Invoice { number } } }",
        lambda w: {"id": w.sent_invoice_id},
        lambda d: d["node"] and d["node"]["number"],
        every(
            "INV-000001",
            anonymous=UNAUTH,
            contact_b=None,
            contact_other_org=None,
            staff_other_org=None,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "createSalesDocument",
        "mutation($id: ID!) { createSalesDocument(input: {kind: INVOICE, customerId: $id, "
        'lineItems: [{name: "X", quantity: "1", rate: "5"}]}) { '
        "salesDocument { total { amount } } errors { code } } }",
        lambda w: {"id": gid("Customer", w.customer_a)},
        lambda d: (
            (
                d["createSalesDocument"]["salesDocument"]
                and d["createSalesDocument"]["salesDocument"]["total"]["amount"]
            )
            or d["createSalesDocument"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("5.00", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "updateSalesDocument",
        'mutation($id: ID!) { updateSalesDocument(input: {id: $id, reference: "PO-9"}) { '
        "salesDocument { reference } errors { code } } }",
        lambda w: {"id": w.sent_invoice_id},
        lambda d: (
            (
                d["updateSalesDocument"]["salesDocument"]
                and d["updateSalesDocument"]["salesDocument"]["reference"]
            )
            or d["updateSalesDocument"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("PO-9", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "sendSalesDocument",
        "mutation($id: ID!) { sendSalesDocument(input: {id: $id}) { "
        "salesDocument { status } errors { code } } }",
        lambda w: {"id": w.draft_invoice_id},
        lambda d: (
            (
                d["sendSalesDocument"]["salesDocument"]
                and d["sendSalesDocument"]["salesDocument"]["status"]
            )
            or d["sendSalesDocument"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("SENT", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "voidSalesDocument",
        "mutation($id: ID!) { voidSalesDocument(input: {id: $id}) { "
        "salesDocument { status } errors { code } } }",
        lambda w: {"id": w.sent_invoice_id},
        lambda d: (
            (
                d["voidSalesDocument"]["salesDocument"]
                and d["voidSalesDocument"]["salesDocument"]["status"]
            )
            or d["voidSalesDocument"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("VOID", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "salesDocument",
        "query($id: ID!) { salesDocument(id: $id) { number } }",
        lambda w: {"id": w.sent_invoice_id},
        lambda d: d["salesDocument"] and d["salesDocument"]["number"],
        every(
            "INV-000001",
            anonymous=UNAUTH,
            contact_b=None,
            contact_other_org=None,
            staff_other_org=None,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "answerQuote",
        "mutation($id: ID!) { answerQuote(input: {id: $id, accept: true}) { "
        "quote { status } errors { code } } }",
        lambda w: {"id": w.sent_quote_id},
        lambda d: (
            (d["answerQuote"]["quote"] and d["answerQuote"]["quote"]["status"])
            or d["answerQuote"]["errors"][0]["code"]
        ),
        every(
            FORBIDDEN,
            anonymous=UNAUTH,
            contact_a="ACCEPTED",
            contact_b="NOT_FOUND",
            contact_other_org="NOT_FOUND",
        ),
    ),
    Case(
        "convertSalesDocument",
        "mutation($id: ID!) { convertSalesDocument(input: {id: $id, to: SALES_ORDER}) { "
        "salesDocument { number } errors { code } } }",
        lambda w: {"id": w.sent_quote_id},
        lambda d: (
            (
                d["convertSalesDocument"]["salesDocument"]
                and d["convertSalesDocument"]["salesDocument"]["number"]
            )
            or d["convertSalesDocument"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("SO-000002", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "applyCredit",
        "mutation($credit: ID!, $invoice: ID!) { applyCredit(input: {creditNoteId: $credit, "
        'invoiceId: $invoice, amount: "0.50"}) { invoice { balanceDue { amount } } '
        "errors { code } } }",
        lambda w: {"credit": w.credit_note_id, "invoice": w.sent_invoice_id},
        lambda d: (
            (d["applyCredit"]["invoice"] and d["applyCredit"]["invoice"]["balanceDue"]["amount"])
            or d["applyCredit"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("0.50", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "refundCredit",
        'mutation($credit: ID!) { refundCredit(input: {creditNoteId: $credit, amount: "1"}) { '
        "creditNote { status } errors { code } } }",
        lambda w: {"credit": w.credit_note_id},
        lambda d: (
            (d["refundCredit"]["creditNote"] and d["refundCredit"]["creditNote"]["status"])
            or d["refundCredit"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("CLOSED", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "recordShipment",
        'mutation($id: ID!) { recordShipment(input: {salesOrderId: $id, carrier: "UPS"}) { '
        "shipment { carrier } errors { code } } }",
        lambda w: {"id": w.sent_order_id},
        lambda d: (
            (d["recordShipment"]["shipment"] and d["recordShipment"]["shipment"]["carrier"])
            or d["recordShipment"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("UPS", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "markShipmentDelivered",
        "mutation($id: ID!) { markShipmentDelivered(input: {id: $id}) { "
        "shipment { status } errors { code } } }",
        lambda w: {"id": w.shipment_id},
        lambda d: (
            (
                d["markShipmentDelivered"]["shipment"]
                and d["markShipmentDelivered"]["shipment"]["status"]
            )
            or d["markShipmentDelivered"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("DELIVERED", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "projects",
        "{ projects { totalCount } }",
        lambda w: {},
        lambda d: d["projects"]["totalCount"],
        every(
            1,
            anonymous=UNAUTH,
            contact_a=FORBIDDEN,
            contact_b=FORBIDDEN,
            contact_other_org=FORBIDDEN,
            staff_other_org=0,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "createProject",
        'mutation($id: ID!) { createProject(input: {customerId: $id, name: "P", '
        "billingMethod: FIXED_COST}) { project { name } errors { code } } }",
        lambda w: {"id": gid("Customer", w.customer_a)},
        lambda d: (
            (d["createProject"]["project"] and d["createProject"]["project"]["name"])
            or d["createProject"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("P", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "logTime",
        'mutation($id: ID!) { logTime(input: {projectId: $id, loggedOn: "2026-11-01", '
        "minutes: 30}) { project { loggedHours } errors { code } } }",
        lambda w: {"id": w.project_id},
        lambda d: (
            (d["logTime"]["project"] and d["logTime"]["project"]["loggedHours"])
            or d["logTime"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("0.50", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "invoiceProjectTime",
        "mutation($id: ID!) { invoiceProjectTime(input: {projectId: $id}) { "
        "invoice { number } errors { code } } }",
        lambda w: {"id": w.project_id},
        lambda d: d["invoiceProjectTime"]["errors"][0]["code"],
        deny_contacts_and_partners("NOTHING_TO_BILL", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "customerSubscriptions",
        "{ customerSubscriptions { totalCount } }",
        lambda w: {},
        lambda d: d["customerSubscriptions"]["totalCount"],
        every(
            0,
            anonymous=UNAUTH,
            contact_a=FORBIDDEN,
            contact_b=FORBIDDEN,
            contact_other_org=FORBIDDEN,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "createCustomerSubscription",
        "mutation($id: ID!) { createCustomerSubscription(input: {customerId: $id, "
        'planName: "Gold", interval: MONTHLY, amount: "10"}) { '
        "customerSubscription { planName } errors { code } } }",
        lambda w: {"id": gid("Customer", w.customer_a)},
        lambda d: (
            (
                d["createCustomerSubscription"]["customerSubscription"]
                and d["createCustomerSubscription"]["customerSubscription"]["planName"]
            )
            or d["createCustomerSubscription"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("Gold", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "setCustomerSubscriptionStatus",
        'mutation { setCustomerSubscriptionStatus(input: {id: "Q3VzdG9tZXJTdWJzY3JpcHRpb246MA==", '
        "status: PAUSED}) { errors { code } } }",
        lambda w: {},
        lambda d: d["setCustomerSubscriptionStatus"]["errors"][0]["code"],
        deny_contacts_and_partners("NOT_FOUND"),
    ),
    Case(
        "logout",
        "mutation { logout { errors { code } } }",
        lambda w: {},
        lambda d: d["logout"]["errors"],
        every([], **PEOPLE_ONLY),
    ),
    Case(
        "changePassword",
        'mutation { changePassword(input: {currentPassword: "x", newPassword: "y"}) { '
        "errors { code } } }",
        lambda w: {},
        lambda d: d["changePassword"]["errors"][0]["code"],
        every("INVALID_CREDENTIALS", **PEOPLE_ONLY),
    ),
    Case(
        "startMfaEnrollment",
        "mutation { startMfaEnrollment { otpauthUri errors { code } } }",
        lambda w: {},
        lambda d: d["startMfaEnrollment"]["otpauthUri"].startswith("otpauth://totp/"),
        every(True, **PEOPLE_ONLY),
    ),
    Case(
        "confirmMfaEnrollment",
        'mutation { confirmMfaEnrollment(input: {code: "000000"}) { errors { code } } }',
        lambda w: {},
        lambda d: d["confirmMfaEnrollment"]["errors"][0]["code"],
        every("MFA_NOT_STARTED", **PEOPLE_ONLY),
    ),
    Case(
        "regenerateRecoveryCodes",
        'mutation { regenerateRecoveryCodes(input: {code: "000000"}) { errors { code } } }',
        lambda w: {},
        lambda d: d["regenerateRecoveryCodes"]["errors"][0]["code"],
        every("MFA_NOT_ENABLED", **PEOPLE_ONLY),
    ),
    Case(
        "disableMfa",
        'mutation { disableMfa(input: {code: "000000"}) { errors { code } } }',
        lambda w: {},
        lambda d: d["disableMfa"]["errors"][0]["code"],
        every("MFA_NOT_ENABLED", **PEOPLE_ONLY),
    ),
    Case(
        "resetContactMfa",
        "mutation($id: ID!) { resetContactMfa(input: {contactId: $id}) { "
        "contactPerson { email } errors { code } } }",
        lambda w: {"id": gid("ContactPerson", w.contact_a)},
        lambda d: (
            (d["resetContactMfa"]["contactPerson"] or {}).get("email")
            or d["resetContactMfa"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("ann@acorn.example", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "resetStaffMfa",
        "mutation($id: ID!) { resetStaffMfa(input: {staffUserId: $id}) { "
        "staffUser { email } errors { code } } }",
        lambda w: {"id": gid("StaffUser", w.staff)},
        lambda d: (
            (d["resetStaffMfa"]["staffUser"] or {}).get("email")
            or d["resetStaffMfa"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners(
            "staff@alpha.example", staff=FORBIDDEN, staff_other_org="NOT_FOUND"
        ),
    ),
    Case(
        "verifyMfa",
        'mutation { verifyMfa(input: {mfaToken: "mfa_bogus", code: "000000"}) { '
        "token errors { code } } }",
        lambda w: {},
        lambda d: d["verifyMfa"]["errors"][0]["code"],
        every("MFA_CHALLENGE_EXPIRED"),
    ),
    Case(
        "contact mfaEnabled",
        "{ contactPersons { nodes { mfaEnabled } } }",
        lambda w: {},
        lambda d: sorted({node["mfaEnabled"] for node in d["contactPersons"]["nodes"]}),
        # A contact's own login state: the customer's key is no contact.
        every([False], anonymous=UNAUTH, partner_no_scope=FORBIDDEN, customer_key=FORBIDDEN),
    ),
    Case(
        "staff mfaEnabled",
        "{ staffUsers { nodes { mfaEnabled } } }",
        lambda w: {},
        lambda d: sorted({node["mfaEnabled"] for node in d["staffUsers"]["nodes"]}),
        deny_contacts_and_partners([False]),
    ),
    Case(
        "payments",
        "{ payments { totalCount nodes { number amount { amount } } } }",
        lambda w: {},
        lambda d: [(n["number"], n["amount"]["amount"]) for n in d["payments"]["nodes"]],
        every(
            [("PAY-000001", "4.00")],
            anonymous=UNAUTH,
            contact_b=[],
            contact_other_org=[],
            staff_other_org=[],
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "payment by node",
        "query($id: ID!) { node(id: $id) { ... on Payment { number } } }",
        lambda w: {"id": w.payment_id},
        lambda d: d["node"] and d["node"]["number"],
        every(
            "PAY-000001",
            anonymous=UNAUTH,
            contact_b=None,
            contact_other_org=None,
            staff_other_org=None,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "payment recordedBy",
        "{ payments { nodes { recordedBy { email } internalNotes } } }",
        lambda w: {},
        lambda d: [(n["recordedBy"]["email"], n["internalNotes"]) for n in d["payments"]["nodes"]],
        deny_contacts_and_partners(
            [("staff@alpha.example", "till 2")],
            contact_b=[],
            contact_other_org=[],
            staff_other_org=[],
        ),
    ),
    Case(
        "recordPayment",
        "mutation($c: ID!, $i: ID!) { recordPayment(input: {customerId: $c, mode: CASH, "
        'allocations: [{documentId: $i, amount: "0.50"}]}) { '
        "payment { amount { amount } } errors { code } } }",
        lambda w: {"c": gid("Customer", w.customer_a), "i": w.sent_invoice_id},
        lambda d: (
            (d["recordPayment"]["payment"] and d["recordPayment"]["payment"]["amount"]["amount"])
            or d["recordPayment"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("0.50", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "applyRetainerPayment",
        "mutation($p: ID!, $i: ID!) { applyRetainerPayment(input: {paymentId: $p, "
        'invoiceId: $i, amount: "1"}) { payment { number } errors { code } } }',
        lambda w: {"p": w.payment_id, "i": w.sent_invoice_id},
        lambda d: d["applyRetainerPayment"]["errors"][0]["code"],
        deny_contacts_and_partners("INVALID", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "refundPayment",
        'mutation($p: ID!) { refundPayment(input: {paymentId: $p, amount: "1", mode: CASH}) '
        "{ payment { refundedAmount { amount } } errors { code } } }",
        lambda w: {"p": w.payment_id},
        lambda d: (
            (
                d["refundPayment"]["payment"]
                and d["refundPayment"]["payment"]["refundedAmount"]["amount"]
            )
            or d["refundPayment"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("1.00", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "savedPaymentMethods",
        "{ savedPaymentMethods { last4 } }",
        lambda w: {},
        lambda d: [m["last4"] for m in d["savedPaymentMethods"]],
        every(
            ["4242"],
            anonymous=UNAUTH,
            contact_b=[],
            contact_other_org=[],
            staff_other_org=[],
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
            customer_key=FORBIDDEN,  # no key sees how a customer pays
        ),
    ),
    Case(
        "payInvoices",
        'mutation($i: ID!) { payInvoices(input: {idempotencyKey: "perm-matrix-1", '
        'token: "tok_visa", allocations: [{documentId: $i, amount: "1"}]}) { '
        "payment { status } errors { code } } }",
        lambda w: {"i": w.sent_invoice_id},
        lambda d: (
            (d["payInvoices"]["payment"] and d["payInvoices"]["payment"]["status"])
            or d["payInvoices"]["errors"][0]["code"]
        ),
        every(
            FORBIDDEN,
            anonymous=UNAUTH,
            contact_a="SUCCEEDED",
            contact_b="NOT_FOUND",
            contact_other_org="NOT_FOUND",
        ),
    ),
    Case(
        "payAllOutstanding",
        'mutation { payAllOutstanding(input: {idempotencyKey: "perm-matrix-2", '
        'token: "tok_visa"}) { payment { status } errors { code } } }',
        lambda w: {},
        lambda d: (
            (d["payAllOutstanding"]["payment"] and d["payAllOutstanding"]["payment"]["status"])
            or d["payAllOutstanding"]["errors"][0]["code"]
        ),
        every(
            FORBIDDEN,
            anonymous=UNAUTH,
            contact_a="SUCCEEDED",
            contact_b="NOTHING_OUTSTANDING",
            contact_other_org="NOTHING_OUTSTANDING",
        ),
    ),
    Case(
        "addPaymentMethod",
        'mutation { addPaymentMethod(input: {token: "tok_mastercard"}) { '
        "savedPaymentMethod { last4 } errors { code } } }",
        lambda w: {},
        lambda d: d["addPaymentMethod"]["savedPaymentMethod"]["last4"],
        every(
            FORBIDDEN,
            anonymous=UNAUTH,
            contact_a="4444",
            contact_b="4444",
            contact_other_org="4444",
        ),
    ),
    Case(
        "setDefaultPaymentMethod",
        "mutation($id: ID!) { setDefaultPaymentMethod(input: {id: $id}) { "
        "savedPaymentMethod { isDefault } errors { code } } }",
        lambda w: {"id": w.method_id},
        lambda d: (
            (
                d["setDefaultPaymentMethod"]["savedPaymentMethod"]
                and d["setDefaultPaymentMethod"]["savedPaymentMethod"]["isDefault"]
            )
            or d["setDefaultPaymentMethod"]["errors"][0]["code"]
        ),
        every(
            FORBIDDEN,
            anonymous=UNAUTH,
            contact_a=True,
            contact_b="NOT_FOUND",
            contact_other_org="NOT_FOUND",
        ),
    ),
    Case(
        "removePaymentMethod",
        "mutation($id: ID!) { removePaymentMethod(input: {id: $id}) { removedId "
        "errors { code } } }",
        lambda w: {"id": w.method_id},
        lambda d: (d["removePaymentMethod"]["errors"] or [{"code": "REMOVED"}])[0]["code"],
        every(
            FORBIDDEN,
            anonymous=UNAUTH,
            contact_a="REMOVED",
            contact_b="NOT_FOUND",
            contact_other_org="NOT_FOUND",
        ),
    ),
    Case(
        "settleTestPayment",
        "mutation($id: ID!) { settleTestPayment(input: {paymentId: $id}) { "
        "payment { status } errors { code } } }",
        lambda w: {"id": w.payment_id},
        lambda d: d["settleTestPayment"]["errors"][0]["code"],
        deny_contacts_and_partners("INVALID", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "statementOfAccounts",
        "query($c: ID!, $from: Date!, $to: Date!) { statementOfAccounts(customerId: $c, "
        "from: $from, to: $to) { currencies { closingBalance { amount } entries { number } } } }",
        lambda w: {
            "c": gid("Customer", w.customer_a),
            "from": TODAY.replace(day=1).isoformat(),
            "to": TODAY.isoformat(),
        },
        lambda d: (
            d["statementOfAccounts"]
            and [
                (len(c["entries"]), c["closingBalance"]["amount"])
                for c in d["statementOfAccounts"]["currencies"]
            ]
        ),
        every(
            [(4, "6.00")],
            anonymous=UNAUTH,
            contact_b=None,
            contact_other_org=None,
            staff_other_org=None,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "reconcilePayments",
        "mutation { reconcilePayments { changed errors { code } } }",
        lambda w: {},
        lambda d: d["reconcilePayments"]["changed"],
        deny_contacts_and_partners(0, staff=FORBIDDEN),
    ),
    Case(
        "publicLinks",
        "query($id: ID!) { publicLinks(documentId: $id) { totalCount } }",
        lambda w: {"id": w.sent_invoice_id},
        lambda d: d["publicLinks"]["totalCount"],
        deny_contacts_and_partners(0),
    ),
    Case(
        "shareSalesDocument",
        "mutation($id: ID!) { shareSalesDocument(input: {documentId: $id}) { "
        "publicLink { url } errors { code } } }",
        lambda w: {"id": w.sent_invoice_id},
        lambda d: (
            (
                d["shareSalesDocument"]["publicLink"]
                and "#token=pl_" in d["shareSalesDocument"]["publicLink"]["url"]
            )
            or d["shareSalesDocument"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners(True, staff_other_org="NOT_FOUND"),
    ),
    Case(
        "revokePublicLink",
        "mutation($id: ID!) { revokePublicLink(input: {id: $id}) { errors { code } } }",
        lambda w: {"id": str(GlobalID("PublicLink", "999999"))},
        lambda d: d["revokePublicLink"]["errors"][0]["code"],
        deny_contacts_and_partners("NOT_FOUND"),
    ),
    Case(
        "revokeAllPublicLinks",
        "mutation($id: ID!) { revokeAllPublicLinks(input: {documentId: $id}) { "
        "revokedCount errors { code } } }",
        lambda w: {"id": w.sent_invoice_id},
        lambda d: (
            d["revokeAllPublicLinks"]["revokedCount"]
            if d["revokeAllPublicLinks"]["revokedCount"] is not None
            else d["revokeAllPublicLinks"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners(0, staff_other_org="NOT_FOUND"),
    ),
    # Anyone may try a public link; a bogus one gets the same refusal whoever asks.
    Case(
        "publicDocument",
        '{ publicDocument(token: "pl_bogus") { number } }',
        lambda w: {},
        lambda d: d["publicDocument"],
        every(LINK_INVALID),
    ),
    Case(
        "requestPublicLinkCode",
        'mutation { requestPublicLinkCode(input: {token: "pl_bogus", channel: EMAIL}) { '
        "maskedDestination errors { code } } }",
        lambda w: {},
        lambda d: d["requestPublicLinkCode"],
        every(LINK_INVALID),
    ),
    Case(
        "verifyPublicLinkCode",
        'mutation { verifyPublicLinkCode(input: {token: "pl_bogus", code: "123456"}) { '
        "visitToken errors { code } } }",
        lambda w: {},
        lambda d: d["verifyPublicLinkCode"],
        every(LINK_INVALID),
    ),
    Case(
        "payPublicDocument",
        'mutation { payPublicDocument(input: {token: "pl_bogus", idempotencyKey: "perm-matrix-2", '
        'amount: "1", paymentToken: "tok_visa"}) { payment { status } errors { code } } }',
        lambda w: {},
        lambda d: d["payPublicDocument"],
        every(LINK_INVALID),
    ),
    Case(
        "sharedFiles",
        "{ sharedFiles { totalCount nodes { filename } } }",
        lambda w: {},
        lambda d: [node["filename"] for node in d["sharedFiles"]["nodes"]],
        every(
            ["seed.pdf"],
            anonymous=UNAUTH,
            contact_b=[],
            contact_other_org=[],
            staff_other_org=[],
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "node shared file",
        "query($id: ID!) { node(id: $id) { ... on SharedFile { filename } } }",
        lambda w: {"id": w.shared_file_id},
        lambda d: d["node"] and d["node"]["filename"],
        every(
            "seed.pdf",
            anonymous=UNAUTH,
            contact_b=None,
            contact_other_org=None,
            staff_other_org=None,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "uploadSharedFile",
        "mutation($c: ID, $file: Upload!) { uploadSharedFile(input: {customerId: $c, "
        "file: $file}) { sharedFile { filename } errors { code } } }",
        lambda w: {"c": gid("Customer", w.customer_a)},
        lambda d: (
            (d["uploadSharedFile"]["sharedFile"] or {}).get("filename")
            or d["uploadSharedFile"]["errors"][0]["code"]
        ),
        every(
            "notes.txt",
            anonymous=UNAUTH,
            contact_b="NOT_FOUND",
            contact_other_org="NOT_FOUND",
            staff_other_org="NOT_FOUND",
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
        upload=("file", "notes.txt", b"Plain notes.\n"),
    ),
    Case(
        "deleteSharedFile",
        "mutation($id: ID!) { deleteSharedFile(input: {id: $id}) { deletedId errors { code } } }",
        lambda w: {"id": w.shared_file_id},
        lambda d: (d["deleteSharedFile"]["errors"] or [{"code": "DELETED"}])[0]["code"],
        every(
            "DELETED",
            anonymous=UNAUTH,
            contact_b="NOT_FOUND",
            contact_other_org="NOT_FOUND",
            staff_other_org="NOT_FOUND",
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "forwardSalesDocument",
        'mutation($id: ID!) { forwardSalesDocument(input: {id: $id, to: "cfo@acorn.example"}) '
        "{ sentTo errors { code } } }",
        lambda w: {"id": w.sent_invoice_id},
        lambda d: (
            d["forwardSalesDocument"]["sentTo"] or d["forwardSalesDocument"]["errors"][0]["code"]
        ),
        every(
            FORBIDDEN,
            anonymous=UNAUTH,
            contact_a="cfo@acorn.example",
            contact_b="NOT_FOUND",
            contact_other_org="NOT_FOUND",
        ),
    ),
    Case(
        "document comments",
        "query($id: ID!) { salesDocument(id: $id) { comments { nodes { body } } } }",
        lambda w: {"id": w.sent_invoice_id},
        lambda d: (
            d["salesDocument"] and [n["body"] for n in d["salesDocument"]["comments"]["nodes"]]
        ),
        every(
            ["Paid yesterday.", "Call them first."],
            anonymous=UNAUTH,
            contact_a=["Paid yesterday."],
            contact_b=None,
            contact_other_org=None,
            staff_other_org=None,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "node internal comment",
        "query($id: ID!) { node(id: $id) { ... on Comment { body } } }",
        lambda w: {"id": w.internal_comment_id},
        lambda d: d["node"] and d["node"]["body"],
        every(
            "Call them first.",
            anonymous=UNAUTH,
            contact_a=None,
            contact_b=None,
            contact_other_org=None,
            staff_other_org=None,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "staff-only comment field",
        "query($id: ID!) { node(id: $id) { ... on Comment { internal } } }",
        lambda w: {"id": w.comment_id},
        lambda d: d["node"] and d["node"]["internal"],
        every(
            False,
            anonymous=UNAUTH,
            contact_a=FORBIDDEN,
            contact_b=None,
            contact_other_org=None,
            staff_other_org=None,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "addComment",
        'mutation($id: ID!) { addComment(input: {documentId: $id, body: "Hi"}) { '
        "comment { body } errors { code } } }",
        lambda w: {"id": w.sent_invoice_id},
        lambda d: (
            (d["addComment"]["comment"] and d["addComment"]["comment"]["body"])
            or d["addComment"]["errors"][0]["code"]
        ),
        every(
            "Hi",
            anonymous=UNAUTH,
            contact_b="NOT_FOUND",
            contact_other_org="NOT_FOUND",
            staff_other_org="NOT_FOUND",
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "deleteComment",
        "mutation($id: ID!) { deleteComment(input: {id: $id}) { deletedId errors { code } } }",
        lambda w: {"id": w.comment_id},
        lambda d: (
            (d["deleteComment"]["deletedId"] and "DELETED")
            or d["deleteComment"]["errors"][0]["code"]
        ),
        every(
            "DELETED",
            anonymous=UNAUTH,
            contact_b="NOT_FOUND",
            contact_other_org="NOT_FOUND",
            staff_other_org="NOT_FOUND",
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "reviewRequests",
        "{ reviewRequests { totalCount nodes { answered } } }",
        lambda w: {},
        lambda d: sorted(node["answered"] for node in d["reviewRequests"]["nodes"]),
        every(
            [False, True],
            anonymous=UNAUTH,
            contact_b=[],
            contact_other_org=[],
            staff_other_org=[],
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "node reviewRequest",
        "query($id: ID!) { node(id: $id) { ... on ReviewRequest { answered } } }",
        lambda w: {"id": w.open_review_request_id},
        lambda d: d["node"] and d["node"]["answered"],
        every(
            False,
            anonymous=UNAUTH,
            contact_b=None,
            contact_other_org=None,
            staff_other_org=None,
            partner=FORBIDDEN,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "reviewReport",
        "query($from: Date!, $to: Date!) { reviewReport(from: $from, to: $to) { count "
        "averageRating } }",
        lambda w: {
            "from": (datetime.now(UTC).date() - timedelta(days=1)).isoformat(),
            "to": (datetime.now(UTC).date() + timedelta(days=1)).isoformat(),
        },
        lambda d: (d["reviewReport"]["count"], d["reviewReport"]["averageRating"]),
        deny_contacts_and_partners((1, "4.00"), staff_other_org=(0, None)),
    ),
    Case(
        "requestReview",
        "mutation($c: ID!) { requestReview(input: {customerId: $c}) { "
        "reviewRequest { customer { displayName } } errors { code } } }",
        lambda w: {"c": gid("Customer", w.customer_b)},
        lambda d: (
            (
                d["requestReview"]["reviewRequest"]
                and d["requestReview"]["reviewRequest"]["customer"]["displayName"]
            )
            or d["requestReview"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("Birch Inc", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "submitReview",
        "mutation($r: ID!) { submitReview(input: {requestId: $r, rating: 5}) { "
        "review { rating } errors { code } } }",
        lambda w: {"r": w.open_review_request_id},
        lambda d: (
            (d["submitReview"]["review"] and d["submitReview"]["review"]["rating"])
            or d["submitReview"]["errors"][0]["code"]
        ),
        every(
            FORBIDDEN,
            anonymous=UNAUTH,
            contact_a=5,
            contact_b="NOT_FOUND",
            contact_other_org="NOT_FOUND",
        ),
    ),
    Case(
        "emailTemplate",
        "{ emailTemplate(name: REVIEW_REQUEST) { customized placeholders { token } } }",
        lambda w: {},
        lambda d: d["emailTemplate"]["customized"],
        deny_contacts_and_partners(False),
    ),
    Case(
        "updateEmailTemplate",
        'mutation { updateEmailTemplate(input: {name: REVIEW_REQUEST, subject: "Rate us", '
        'body: "Here: {{ review_link }}"}) { emailTemplate { customized } errors { code } } }',
        lambda w: {},
        lambda d: d["updateEmailTemplate"]["emailTemplate"]["customized"],
        deny_contacts_and_partners(True, staff=FORBIDDEN),
    ),
    Case(
        "resetEmailTemplate",
        "mutation { resetEmailTemplate(input: {name: REVIEW_REQUEST}) { "
        "emailTemplate { customized } errors { code } } }",
        lambda w: {},
        lambda d: d["resetEmailTemplate"]["emailTemplate"]["customized"],
        deny_contacts_and_partners(False, staff=FORBIDDEN),
    ),
    Case(
        "customFieldDefinitions",
        "{ customFieldDefinitions { nodes { name editableInPortal } } }",
        lambda w: {},
        lambda d: [node["name"] for node in d["customFieldDefinitions"]["nodes"]],
        every(
            ["PO reference"],
            anonymous=UNAUTH,
            contact_other_org=[],
            staff_other_org=[],
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "node customFieldDefinition",
        "query($id: ID!) { node(id: $id) { ... on CustomFieldDefinition { name } } }",
        lambda w: {"id": w.custom_field_id},
        lambda d: d["node"] and d["node"]["name"],
        every(
            "PO reference",
            anonymous=UNAUTH,
            contact_other_org=None,
            staff_other_org=None,
            partner_no_scope=FORBIDDEN,
        ),
    ),
    Case(
        "defineCustomField",
        'mutation { defineCustomField(input: {name: "Region", editableInPortal: true}) { '
        "customFieldDefinition { name } errors { code } } }",
        lambda w: {},
        lambda d: d["defineCustomField"]["customFieldDefinition"]["name"],
        deny_contacts_and_partners("Region"),
    ),
    Case(
        "updateCustomFieldDefinition",
        'mutation($id: ID!) { updateCustomFieldDefinition(input: {id: $id, name: "PO number"}) '
        "{ customFieldDefinition { name } errors { code } } }",
        lambda w: {"id": w.custom_field_id},
        lambda d: (
            (
                d["updateCustomFieldDefinition"]["customFieldDefinition"]
                and d["updateCustomFieldDefinition"]["customFieldDefinition"]["name"]
            )
            or d["updateCustomFieldDefinition"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("PO number", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "deleteCustomFieldDefinition",
        "mutation($id: ID!) { deleteCustomFieldDefinition(input: {id: $id}) { "
        "deletedId errors { code } } }",
        lambda w: {"id": w.custom_field_id},
        lambda d: (
            (d["deleteCustomFieldDefinition"]["deletedId"] and "deleted")
            or d["deleteCustomFieldDefinition"]["errors"][0]["code"]
        ),
        deny_contacts_and_partners("deleted", staff_other_org="NOT_FOUND"),
    ),
    Case(
        "updateMyCustomer",
        'mutation { updateMyCustomer(input: {phone: "+1 555 0100"}) { '
        "customer { displayName phone } errors { code } } }",
        lambda w: {},
        lambda d: d["updateMyCustomer"]["customer"]["displayName"],
        every(
            FORBIDDEN,
            anonymous=UNAUTH,
            contact_a="Acorn Ltd",
            contact_b="Birch Inc",
            contact_other_org="Cedar Co",
        ),
    ),
    Case(
        "updateMyContactDetails",
        'mutation { updateMyContactDetails(input: {mobile: "+1 555 0101"}) { '
        "contactPerson { email mobile } errors { code } } }",
        lambda w: {},
        lambda d: d["updateMyContactDetails"]["contactPerson"]["email"],
        every(
            FORBIDDEN,
            anonymous=UNAUTH,
            contact_a="ann@acorn.example",
            contact_b="bob@birch.example",
            contact_other_org="cy@cedar.example",
        ),
    ),
    Case(
        "addMyContactPerson",
        'mutation { addMyContactPerson(input: {firstName: "Dana"}) { '
        "contactPerson { name customer { displayName } } errors { code } } }",
        lambda w: {},
        lambda d: d["addMyContactPerson"]["contactPerson"]["customer"]["displayName"],
        every(
            FORBIDDEN,
            anonymous=UNAUTH,
            contact_a="Acorn Ltd",
            contact_b="Birch Inc",
            contact_other_org="Cedar Co",
        ),
    ),
    Case(
        "updateMyContactPerson",
        'mutation($id: ID!) { updateMyContactPerson(input: {id: $id, lastName: "Z"}) { '
        "contactPerson { name } errors { code } } }",
        lambda w: {"id": gid("ContactPerson", w.contact_a)},
        lambda d: (
            (
                d["updateMyContactPerson"]["contactPerson"]
                and d["updateMyContactPerson"]["contactPerson"]["name"]
            )
            or d["updateMyContactPerson"]["errors"][0]["code"]
        ),
        every(
            FORBIDDEN,
            anonymous=UNAUTH,
            contact_a="Acorn Z",
            contact_b="NOT_FOUND",
            contact_other_org="NOT_FOUND",
        ),
    ),
]


def _with_customer_key(case: Case) -> Case:
    if CUSTOMER_KEY in case.expect:
        return case
    # A mutation treats every key alike; a query shows what the customer's contact sees.
    mutation = case.query.lstrip().startswith("mutation")
    expect = case.expect["partner" if mutation else "contact_a"]
    return dataclasses.replace(case, expect=case.expect | {CUSTOMER_KEY: expect})


CASES = [_with_customer_key(case) for case in CASES]


@pytest.fixture
async def seeded(db: Settings, snapshots: dict[Hashable, tuple[Any, Snapshot]]) -> World:
    """The world with one row of every kind the cases ask about. It is the same for every
    case, so it is seeded once per backend and worker and its rows are put back, ids and all,
    before each case (a mutation changes them; the teardown of `db` empties the tables)."""
    return await copied_once(snapshots, "permission matrix", lambda: _seeded_world(db))


async def _seeded_world(db: Settings) -> World:
    world = await make_world(db)
    await _seed(world)
    return world


async def _seed(world: World) -> None:
    from models.api_keys import ApiKey

    world.partner_key_id = gid("ApiKey", await ApiKey.get(name="Sync"))  # type: ignore[attr-defined]
    world.payment_activity_id = gid("Activity", await _seed_activity(world))  # type: ignore[attr-defined]
    sent, draft, quote = await _seed_documents(world)
    world.sent_invoice_id = gid("Invoice", sent)  # type: ignore[attr-defined]
    world.draft_invoice_id = gid("Invoice", draft)  # type: ignore[attr-defined]
    world.sent_quote_id = gid("Quote", quote)  # type: ignore[attr-defined]
    world.credit_note_id = gid("CreditNote", await _seed_credit(world))  # type: ignore[attr-defined]
    order, shipment = await _seed_shipment(world)
    world.sent_order_id = gid("SalesOrder", order)  # type: ignore[attr-defined]
    world.shipment_id = gid("Shipment", shipment)  # type: ignore[attr-defined]
    world.project_id = gid("Project", await _seed_project(world))  # type: ignore[attr-defined]
    world.payment_id = gid("Payment", await _seed_payment(world))  # type: ignore[attr-defined]
    world.method_id = gid("SavedPaymentMethod", await _seed_method(world))  # type: ignore[attr-defined]
    world.custom_field_id = gid("CustomFieldDefinition", await _seed_custom_field(world))  # type: ignore[attr-defined]
    public, internal = await _seed_comments(world, sent)
    world.comment_id = gid("Comment", public)  # type: ignore[attr-defined]
    world.internal_comment_id = gid("Comment", internal)  # type: ignore[attr-defined]
    world.open_review_request_id = gid("ReviewRequest", await _seed_reviews(world))  # type: ignore[attr-defined]
    world.shared_file_id = gid("SharedFile", await _seed_shared_file(world))  # type: ignore[attr-defined]


@pytest.mark.parametrize("principal", [*PRINCIPALS, CUSTOMER_KEY])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_permission_matrix(client, seeded: World, case: Case, principal: str) -> None:
    world = seeded
    token = world.tokens.get(principal)
    if case.upload is None:
        body = await gql(client, case.query, case.variables(world), token=token)
    else:
        body = await _multipart(client, case, case.variables(world), token)
    expected = case.expect[principal]
    if isinstance(expected, Denied):
        codes = [error["extensions"]["code"] for error in body.get("errors") or []]
        assert codes and set(codes) == {expected.code}, body
        if body.get("data"):
            assert not any(body["data"].values()), body
    else:
        assert "errors" not in body, body
        assert case.extract(body["data"]) == expected


async def _seed_custom_field(world: World):
    from models.customers import CustomFieldDefinition

    return await CustomFieldDefinition.create(
        organization=world.org_a, name="PO reference", editable_in_portal=True
    )


async def _seed_activity(world: World):
    """A payment the customer sees and a first login only staff see, both notifying staff."""
    from models.activity import Activity, ActivityKind
    from resolvers import activity, transactions

    async with transactions.unit_of_work():
        for kind, customer in (
            (ActivityKind.PAYMENT_MADE, world.customer_a),
            (ActivityKind.FIRST_LOGIN, world.customer_b),
        ):
            activity.record(
                kind, actor=None, organization_id=world.org_a.id, customer_id=customer.id
            )
    return await Activity.get(kind=ActivityKind.PAYMENT_MADE)


async def _seed_documents(world: World):
    """A sent invoice of customer A and a draft of customer B."""
    from auth.principals import StaffPrincipal
    from resolvers.documents import create_document, send_document

    staff = StaffPrincipal(world.staff)
    line = {"name": "X", "quantity": 1, "rate": 1}
    sent = await create_document(
        staff,
        {"customer_id": world.customer_a.id, "kind": "INVOICE", "line_items": [line],
         "payment_methods": ["card"]},
    )  # fmt: skip
    await send_document(staff, sent.id)
    draft = await create_document(
        staff, {"customer_id": world.customer_b.id, "kind": "INVOICE", "line_items": [line]}
    )
    quote = await create_document(
        staff, {"customer_id": world.customer_a.id, "kind": "QUOTE", "line_items": [line]}
    )
    await send_document(staff, quote.id)
    return sent, draft, quote


async def _seed_credit(world: World):
    from auth.principals import StaffPrincipal
    from resolvers.documents import create_document, send_document

    staff = StaffPrincipal(world.staff)
    line = {"name": "Credit", "quantity": 1, "rate": 1}
    credit = await create_document(
        staff, {"customer_id": world.customer_a.id, "kind": "CREDIT_NOTE", "line_items": [line]}
    )
    await send_document(staff, credit.id)
    return credit


async def _seed_shipment(world: World):
    from auth.principals import StaffPrincipal
    from resolvers.documents import create_document, send_document
    from resolvers.shipments import record_shipment

    staff = StaffPrincipal(world.staff)
    line = {"name": "Crate", "quantity": 1, "rate": 1}
    order = await create_document(
        staff, {"customer_id": world.customer_a.id, "kind": "SALES_ORDER", "line_items": [line]}
    )
    await send_document(staff, order.id)
    # Partial, so the order is still to ship for recordShipment's cases.
    shipment, _ = await record_shipment(
        staff, order.id, carrier="FedEx", tracking_number="", shipped_on=None, partial=True
    )
    return order, shipment


async def _seed_project(world: World):
    from auth.principals import StaffPrincipal
    from resolvers.projects import create_project

    return await create_project(
        StaffPrincipal(world.staff),
        {"customer_id": world.customer_a.id, "name": "Fit-out", "billing_method": "HOURLY"},
    )


async def _seed_method(world: World):
    from models.payments import MethodKind, SavedPaymentMethod

    return await SavedPaymentMethod.create(
        organization_id=world.org_a.id, customer_id=world.customer_a.id, kind=MethodKind.CARD,
        gateway="test", token="tok_visa", brand="visa", last4="4242", is_default=True,
    )  # fmt: skip


async def _seed_comments(world: World, document):
    """On customer A's sent invoice: contact A's comment, and an internal one by staff."""
    from models.activity import ActorKind
    from models.comments import Comment

    common = {"organization_id": world.org_a.id, "customer_id": world.customer_a.id,
              "document_id": document.id}  # fmt: skip
    public = await Comment.create(
        **common, author_kind=ActorKind.CONTACT, author_contact_id=world.contact_a.id,
        author_name="Acorn Contact", body="Paid yesterday.",
    )  # fmt: skip
    internal = await Comment.create(
        **common, author_kind=ActorKind.STAFF, author_staff_id=world.staff.id,
        author_name="Staff", body="Call them first.", internal=True,
    )  # fmt: skip
    return public, internal


async def _seed_payment(world: World):
    """PAY-000001: 4.00 in cash from customer A toward an invoice of 10.00."""
    from decimal import Decimal

    from auth.principals import StaffPrincipal
    from models.payments import PaymentMode
    from resolvers.documents import create_document, send_document
    from resolvers.payments import Allocation, PaymentDetails, record_payment

    staff = StaffPrincipal(world.staff)
    line = {"name": "Service", "quantity": 1, "rate": 10}
    invoice = await create_document(
        staff, {"customer_id": world.customer_a.id, "kind": "INVOICE", "line_items": [line]}
    )
    await send_document(staff, invoice.id)
    return await record_payment(
        staff,
        world.customer_a.id,
        [Allocation(invoice.id, Decimal(4))],
        PaymentDetails(mode=PaymentMode.CASH, internal_notes="till 2"),
    )


async def _seed_reviews(world: World):
    """Both organizations take reviews; customer A answered one request (4 stars) and has
    another open. Returns the open one."""
    from models.preferences import PortalPreferences
    from models.reviews import Review, ReviewRequest
    from resolvers.preferences import preferences_for

    for org in (world.org_a, world.org_b):
        await preferences_for(org.id)
        await PortalPreferences.filter(organization_id=org.id).update(customer_reviews=True)
    answered = await ReviewRequest.create(organization=world.org_a, customer=world.customer_a)
    await Review.create(
        organization=world.org_a, customer=world.customer_a, request=answered, rating=4,
        contact=world.contact_a, contact_name="Acorn Contact",
    )  # fmt: skip
    return await ReviewRequest.create(organization=world.org_a, customer=world.customer_a)


async def _seed_shared_file(world: World):
    """seed.pdf, uploaded by customer A's contact (its bytes are not needed here)."""
    from integrations.storage import new_key
    from models.activity import ActorKind
    from models.files import SharedFile

    return await SharedFile.create(
        organization_id=world.org_a.id, customer_id=world.customer_a.id, storage_key=new_key(),
        filename="seed.pdf", content_type="application/pdf", size_bytes=5, sha256="0" * 64,
        uploaded_by_kind=ActorKind.CONTACT, uploaded_by_contact_id=world.contact_a.id,
        uploader_name="Acorn Contact",
    )  # fmt: skip


async def _multipart(client, case: Case, variables: dict[str, Any], token: str | None) -> dict:
    """The GraphQL multipart request spec: operations, map, and the file part."""
    import json

    assert case.upload is not None
    variable, filename, content = case.upload
    operations = {"query": case.query, "variables": {**variables, variable: None}}
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": [f"variables.{variable}"]}),
        },
        files={"0": (filename, content, "application/octet-stream")},
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_every_root_field_is_in_the_matrix() -> None:
    from schema.root import build_schema

    schema = build_schema()
    asked = " ".join(case.query for case in CASES)
    roots = [
        *schema.get_type_by_name("Query").fields,
        *schema.get_type_by_name("Mutation").fields,
    ]
    missing = [f.name for f in roots if _camel(f.name) not in {"login", "portalLogin"}]
    missing = [name for name in missing if _camel(name) not in asked]
    assert missing == []


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
