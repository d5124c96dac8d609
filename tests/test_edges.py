"""Bad input at the edge: each gets a typed error, changes nothing, and logs no traceback."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest

from integrations.gateways import registry
from models.documents import SalesDocument
from models.outbox import OutboxMessage
from models.subscriptions import CustomerSubscription
from server.graphql import PorticoGraphQL
from tests import graphql_ws
from tests.conftest import World, collected_logs, error_codes, gid, gql
from tests.test_activity import websocket_client
from tests.test_documents import CREATE, invoice_input

LOGIN = """mutation($e: String!) { login(input: {email: $e, password: "x"}) {
  token errors { code } } }"""
PORTAL_LOGIN = """mutation($p: String!, $e: String!) {
  portalLogin(input: {portalName: $p, email: $e, password: "x"}) { token errors { code } } }"""
RESET = """mutation($p: String!, $e: String!) {
  requestPasswordReset(input: {portalName: $p, email: $e}) { errors { code } } }"""
SEARCHES = {
    "customers": "query($s: String) { customers(filter: {search: $s}) { totalCount } }",
    "contactPersons": "query($s: String) { contactPersons(filter: {search: $s}) { totalCount } }",
    "salesDocuments": "query($s: String) { salesDocuments(filter: {search: $s}) { totalCount } }",
    "payments": "query($s: String) { payments(filter: {search: $s}) { totalCount } }",
    "staffUsers": "query($s: String) { staffUsers(filter: {search: $s}) { totalCount } }",
    "sharedFiles": "query($s: String) { sharedFiles(filter: {search: $s}) { totalCount } }",
}
SUBSCRIPTION = """mutation($c: ID!, $amount: Decimal!) { createCustomerSubscription(input: {
  customerId: $c, planName: "Plan", interval: MONTHLY, amount: $amount}) { errors { code } } }"""


@pytest.fixture
def tracebacks() -> Iterator[list[logging.LogRecord]]:
    """Errors logged from here to the end of the test: bad input must never produce one.
    (Not caplog's records: those it hands a fixture are the setup's, and a test's are others.)"""
    with collected_logs(logging.ERROR) as errors:
        yield errors


def refused(body: dict) -> bool:
    return body.get("data") is None and error_codes(body) == ["BAD_USER_INPUT"]


async def test_a_nul_character_is_refused_before_login_and_everywhere(
    client, world: World, tracebacks
) -> None:
    for query, variables in (
        (LOGIN, {"e": "admin\x00@alpha.example"}),
        (PORTAL_LOGIN, {"p": "al\x00pha", "e": "ann@acorn.example"}),
        (PORTAL_LOGIN, {"p": "alpha", "e": "ann\x00@acorn.example"}),
        (RESET, {"p": "alpha", "e": "ann@acorn.example\x00"}),
        (RESET, {"p": "alpha\x00", "e": "ann@acorn.example"}),
    ):
        assert refused(await gql(client, query, variables)), variables
    for name, query in SEARCHES.items():
        body = await gql(client, query, {"s": "a\x00b"}, token=world.tokens["admin"])
        assert refused(body), name
    inline = await gql(client, 'query { customers(filter: {search: "a\\u0000b"}) { totalCount } }',
                       token=world.tokens["admin"])  # fmt: skip
    assert refused(inline)
    assert await OutboxMessage.all().count() == 0  # no reset email to anyone
    assert tracebacks == []


async def test_strings_longer_than_their_place_are_refused(
    client, world: World, tracebacks
) -> None:
    assert refused(await gql(client, LOGIN, {"e": "a" * 290 + "@alpha.example"}))
    for name, query in SEARCHES.items():
        for pattern in ("a%" * 25_000, "a%_" * 33_400):
            body = await gql(client, query, {"s": pattern}, token=world.tokens["admin"])
            assert refused(body), name
    lines = [{"name": "x" * 5_000, "quantity": "1", "rate": "1"}]
    long_name = await gql(client, CREATE, {"input": invoice_input(world, lineItems=lines)},
                          token=world.tokens["staff"])  # fmt: skip
    assert refused(long_name)
    assert await SalesDocument.all().count() == 0
    assert tracebacks == []


async def test_a_string_under_the_bound_still_gets_its_fields_own_rule(
    client, world: World
) -> None:
    lines = [{"name": "x" * 201, "quantity": "1", "rate": "1"}]
    body = await gql(client, CREATE, {"input": invoice_input(world, lineItems=lines)},
                     token=world.tokens["staff"])  # fmt: skip
    errors = body["data"]["createSalesDocument"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("TOO_LONG", ["lineItems", "0", "name"])]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($id: ID!) { node(id: $id) { id } }", {"id": None}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": ["a", "b"]}),
        ("query($id: ID!) { node(id: $id) { id } }", {}),
        (
            "query($d: Date) { salesDocuments(filter: {issuedFrom: $d}) { totalCount } }",
            {"d": "not-a-date"},
        ),
        (
            "query($t: DateTime) { activities(filter: {since: $t}) { totalCount } }",
            {"t": "2020-13-45T99:99:99Z"},
        ),
        (
            "query($k: [DocumentKind!]) { salesDocuments(filter: {kinds: $k}) { totalCount } }",
            {"k": ["INVOIC"]},
        ),
        ("query($f: Int) { customers(first: $f) { totalCount } }", {"f": 2**40}),
        (
            "query($f: SalesDocumentFilter) { salesDocuments(filter: $f) { totalCount } }",
            {"f": {"unknown": 1}},
        ),
    ],
)
async def test_variables_that_fail_coercion_are_bad_user_input(
    client, world: World, tracebacks, query: str, variables: dict
) -> None:
    body = await gql(client, query, variables, token=world.tokens["admin"])
    assert refused(body), body
    assert tracebacks == []


@pytest.mark.parametrize("amount", ["abc", "0x10", "NaN", "-Infinity", "1e100000", "1e-20",
                                    "123456789012345678901234567890", True, [1]])  # fmt: skip
async def test_decimals_are_exact_finite_and_bounded(
    client, world: World, tracebacks, amount: object
) -> None:
    body = await gql(client, SUBSCRIPTION, {"c": gid("Customer", world.customer_a),
                     "amount": amount}, token=world.tokens["staff"])  # fmt: skip
    assert refused(body), body
    lines = [{"name": "Item", "quantity": amount, "rate": "1"}]
    created = await gql(client, CREATE, {"input": invoice_input(world, lineItems=lines)},
                        token=world.tokens["staff"])  # fmt: skip
    assert refused(created), created
    assert await CustomerSubscription.all().count() == await SalesDocument.all().count() == 0
    assert tracebacks == []


@pytest.mark.parametrize(
    ("amount", "told"),
    [("NaN", "'NaN' is not a number."), ("-sNaN", "'-sNaN' is not a number."),
     ("Infinity", "Use a number of less than"), ("1.5x", "'1.5x' is not a decimal number.")],
)  # fmt: skip
async def test_a_bad_decimal_is_told_what_is_wrong_with_it(
    client, world: World, amount: str, told: str
) -> None:
    body = await gql(client, SUBSCRIPTION, {"c": gid("Customer", world.customer_a),
                     "amount": amount}, token=world.tokens["staff"])  # fmt: skip
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and told in error["message"], error


async def test_amounts_too_large_to_keep_are_refused_as_amounts(
    client, world: World, tracebacks
) -> None:
    body = await gql(client, SUBSCRIPTION, {"c": gid("Customer", world.customer_a),
                     "amount": "99999999999999"}, token=world.tokens["staff"])  # fmt: skip
    assert body["data"]["createCustomerSubscription"]["errors"] == [{"code": "INVALID_AMOUNT"}]
    lines = [{"name": "Item", "quantity": "999999999999", "rate": "999999999999"}]
    created = await gql(client, CREATE, {"input": invoice_input(world, lineItems=lines)},
                        token=world.tokens["staff"])  # fmt: skip
    errors = created["data"]["createSalesDocument"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID_AMOUNT", ["lineItems"])]
    assert await CustomerSubscription.all().count() == await SalesDocument.all().count() == 0
    assert tracebacks == []


async def test_ids_beyond_any_row_are_simply_not_found(client, world: World, tracebacks) -> None:
    for global_id in ("Q3VzdG9tZXI6OTk5OTk5OTk5OTk5OTk5OTk5OTk5",  # Customer:9999...9 (21 digits)
                      "Q3VzdG9tZXI6wrI=",  # Customer:² (a digit to str.isdigit, not to int)
                      "Q3VzdG9tZXI6LTE="):  # Customer:-1  # fmt: skip
        body = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": global_id},
                         token=world.tokens["admin"])  # fmt: skip
        assert body == {"data": {"node": None}}, global_id
        customer = await gql(client, "query($id: ID!) { customer(id: $id) { id } }",
                             {"id": global_id}, token=world.tokens["admin"])  # fmt: skip
        assert customer == {"data": {"customer": None}}, global_id
    assert tracebacks == []


async def test_a_body_that_is_not_utf8_is_a_bad_request(client, tracebacks) -> None:
    response = await client.post("/graphql", content=b'{"query": "{__typename\xff}"}',
                                 headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert tracebacks == []


async def test_a_subscription_sent_by_post_is_refused(client, world: World, tracebacks) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "subscription { portalActivity { cursor } }"},
        headers={"Authorization": f"Bearer {world.tokens['admin']}"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert tracebacks == []


async def test_several_operations_run_only_the_one_named(client, world: World) -> None:
    document = "query A { viewer { __typename } } mutation B { logout { errors { code } } }"
    body = await gql(client, document, token=world.tokens["admin"])
    assert refused(body)
    named = await client.post(
        "/graphql",
        json={"query": document, "operationName": "A"},
        headers={"Authorization": f"Bearer {world.tokens['admin']}"},
    )
    assert named.json() == {"data": {"viewer": {"__typename": "StaffUser"}}}
    still = await gql(client, "{ viewer { __typename } }", token=world.tokens["admin"])
    assert still == {"data": {"viewer": {"__typename": "StaffUser"}}}  # B never logged out


async def test_a_client_hanging_up_mid_body_is_not_an_error(db, tracebacks) -> None:
    from tests.conftest import app_client

    async with app_client(db) as http:
        app = http._transport.app  # type: ignore[attr-defined]
    sent: list[dict] = []
    parts = iter([{"type": "http.request", "body": b'{"query": "{', "more_body": True},
                  {"type": "http.disconnect"}])  # fmt: skip

    async def receive() -> dict:
        return next(parts)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/graphql", "raw_path": b"/graphql",
             "query_string": b"", "root_path": "", "scheme": "http", "server": ("t", 80),
             "client": ("127.0.0.1", 1), "http_version": "1.1",
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", b"500")]}  # fmt: skip
    await asyncio.wait_for(app(scope, receive, send), 5)
    assert tracebacks == []


async def test_a_subscribe_that_does_not_parse_gets_an_error_message(
    db, world: World, tracebacks
) -> None:
    async with (
        websocket_client(db) as http,
        graphql_ws.connect(http, token=world.tokens["staff"]) as ws,
    ):
        operation = await ws.subscribe("subscription { portalActivity { cursor ")
        message = await ws.receive()
        assert message["type"] == "error" and message["id"] == operation
        assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
        await ws.expect_silence()
        again = await ws.subscribe("subscription { portalActivity { cursor } }")
        await ws.expect_silence()  # the connection still serves the client
        await ws.complete(again)
    assert tracebacks == []


@pytest.mark.parametrize(("event_id", "key"), [("e" * 101, "k"), ("evt_1", "k" * 65),
                                               ("evt\x00", "k"), ("", "k")])  # fmt: skip
async def test_a_signed_webhook_that_cannot_be_stored_is_refused(
    client, tracebacks, event_id: str, key: str
) -> None:
    gateway = registry.gateway("test")
    event = {"id": event_id, "type": "charge.updated", "data": {"key": key}, "created": 0}
    body = json.dumps(event).encode()
    headers, _ = gateway.signed_webhook("charge.updated", key, event_id="x")
    headers = {**headers, **_resign(gateway, body)}
    response = await client.post("/webhooks/gateways/test", content=body, headers=headers)
    assert response.status_code == 400
    assert tracebacks == []


def _resign(gateway, body: bytes) -> dict[str, str]:
    """The signature header for `body`, made as the test gateway makes it."""
    timestamp = int(gateway.clock())
    return {"Portico-Signature": f"t={timestamp},v1={gateway._signature(timestamp, body)}"}


def test_text_that_utf8_cannot_hold_is_still_written_as_json() -> None:
    """Responses are written by orjson, which refuses a lone surrogate; the answer must still
    come out, escaped as the json module writes it, and not as an internal error."""
    view = PorticoGraphQL.__new__(PorticoGraphQL)
    answer = {"data": {"name": "caf\u00e9 \ud800"}}
    assert json.loads(view.encode_json(answer)) == answer
    assert json.loads(view.encode_json({"data": {"name": "café"}})) == {"data": {"name": "café"}}
