"""Automatic persisted queries (Apollo's APQ protocol), the trusted registry's rule for portal
contacts, and the flag that tells the executor a document is registered."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx_ws.transport import ASGIWebSocketTransport

from models.persisted_queries import PersistedQuery
from resolvers import persisted_queries
from resolvers.persisted_queries import sha256_of
from schema.execution import PorticoExecution
from server.app import create_app
from server.settings import ConfigurationError, Settings
from tests import graphql_ws
from tests.conftest import World, app_client, error_codes, gid
from tests.sample_files import PDF

VIEWER = "query Viewer { viewer { __typename } }"
CUSTOMERS = "query Customers { customers(first: 5) { totalCount } }"
UPLOAD = """mutation Upload($input: UploadSharedFileInput!) { uploadSharedFile(input: $input) {
  sharedFile { filename } errors { code } } }"""


def apq(query: str | None, sha256: str | None = None, version: Any = 1) -> dict[str, Any]:
    """A request body naming its document by hash, with its text unless `query` is None."""
    named = {"version": version, "sha256Hash": sha256 or sha256_of(query or "")}
    body: dict[str, Any] = {"extensions": {"persistedQuery": named}}
    if query is not None:
        body["query"] = query
    return body


async def post(
    http: httpx.AsyncClient, body: dict[str, Any], token: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    # Escaped as JSON allows, so a lone surrogate can be sent.
    return await http.post("/graphql", content=json.dumps(body), headers=headers)


async def answer(
    http: httpx.AsyncClient, body: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    response = await post(http, body, token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def assert_bad_request(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert error_codes(response.json()) == ["BAD_REQUEST"]


# -- the handshake -----------------------------------------------------------------------------


async def test_an_unknown_hash_is_asked_for_then_kept_for_every_worker(
    client, db: Settings, world: World
) -> None:
    staff = world.tokens["staff"]
    not_found = await answer(client, apq(None, sha256_of(VIEWER)), staff)
    assert not_found == {
        "data": None,
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ],
    }
    sent = await answer(client, apq(VIEWER), staff)
    assert sent == {"data": {"viewer": {"__typename": "StaffUser"}}}
    assert await answer(client, apq(None, sha256_of(VIEWER)), staff) == sent
    async with app_client(db) as other_worker:
        assert await answer(other_worker, apq(None, sha256_of(VIEWER)), staff) == sent
        # Anyone may run a kept document by its hash, as whoever they are.
        anonymous = await answer(other_worker, apq(None, sha256_of(VIEWER)))
        assert anonymous == {"data": {"viewer": None}}


async def test_the_hash_may_be_written_in_capitals(client, world: World) -> None:
    staff = world.tokens["staff"]
    await answer(client, apq(VIEWER, sha256_of(VIEWER).upper()), staff)
    body = await answer(client, apq(None, sha256_of(VIEWER).upper()), staff)
    assert body == {"data": {"viewer": {"__typename": "StaffUser"}}}


async def test_a_hash_that_is_not_the_querys_is_refused_and_keeps_nothing(
    client, world: World
) -> None:
    staff = world.tokens["staff"]
    response = await post(client, apq(VIEWER, sha256_of(CUSTOMERS)), staff)
    assert_bad_request(response)
    assert "SHA-256" in response.json()["errors"][0]["message"]
    assert await PersistedQuery.all().count() == 0
    for hash_of in (VIEWER, CUSTOMERS):
        body = await answer(client, apq(None, sha256_of(hash_of)), staff)
        assert error_codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": sha256_of(VIEWER)}},
        {"persistedQuery": {"version": "1", "sha256Hash": sha256_of(VIEWER)}},
        {"persistedQuery": {"version": True, "sha256Hash": sha256_of(VIEWER)}},
        {"persistedQuery": {"sha256Hash": sha256_of(VIEWER)}},
        {"persistedQuery": {"version": 1}},
        {"persistedQuery": {"version": 1, "sha256Hash": 12}},
        {"persistedQuery": {"version": 1, "sha256Hash": "abc"}},
        {"persistedQuery": {"version": 1, "sha256Hash": "g" * 64}},
        {"persistedQuery": "yes"},
        {"persistedQuery": [1]},
    ],
    ids=[
        "version-2",
        "version-as-text",
        "version-true",
        "no-version",
        "no-hash",
        "hash-a-number",
        "hash-too-short",
        "hash-not-hex",
        "not-an-object",
        "a-list",
    ],
)
@pytest.mark.parametrize("with_query", [True, False])
async def test_an_unsupported_version_or_a_malformed_hash_is_a_bad_request(
    client, world: World, extensions: dict[str, Any], with_query: bool
) -> None:
    body: dict[str, Any] = {"extensions": extensions}
    if with_query:
        body["query"] = VIEWER
    assert_bad_request(await post(client, body, world.tokens["staff"]))
    assert await PersistedQuery.all().count() == 0


async def test_anonymous_clients_run_but_do_not_keep_documents(client) -> None:
    query = "query Hello { __typename }"
    assert await answer(client, apq(query)) == {"data": {"__typename": "Query"}}
    body = await answer(client, apq(None, sha256_of(query)))
    assert error_codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert await PersistedQuery.all().count() == 0


async def test_portal_contacts_and_partner_keys_keep_documents(client, world: World) -> None:
    for who, typename in (("contact_a", "ContactPerson"), ("partner", "ApiKey")):
        query = f"query {who.title().replace('_', '')} {{ viewer {{ __typename }} }}"
        await answer(client, apq(query), world.tokens[who])
        body = await answer(client, apq(None, sha256_of(query)), world.tokens[who])
        assert body["data"] == {"viewer": {"__typename": typename}}
        assert "errors" not in body


@pytest.mark.parametrize(
    "query",
    [
        '{ customers(filter: {search: "north"}) { totalCount } }',
        'query($q: String = "north") { customers(filter: {search: $q}) { totalCount } }',
        '{ customers(filter: {search: """north"""}) { totalCount } }',
    ],
    ids=["inline", "variable-default", "block-string"],
)
async def test_documents_with_string_values_written_in_them_are_not_kept(
    client, world: World, query: str
) -> None:
    """A password written into a document would otherwise be stored in the database."""
    staff = world.tokens["staff"]
    assert "errors" not in await answer(client, apq(query), staff)
    body = await answer(client, apq(None, sha256_of(query)), staff)
    assert error_codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ viewer { __typename }", "GRAPHQL_PARSE_FAILED"),
        ("{ nosuchfield }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ %s }" % " ".join(["__typename"] * 2100), "GRAPHQL_PARSE_FAILED"),
        ("{ __typename } # \ud800", "GRAPHQL_PARSE_FAILED"),
    ],
    ids=["syntax", "validation", "token-limit", "lone-surrogate"],
)
async def test_documents_that_do_not_run_are_not_kept(
    client, world: World, query: str, code: str
) -> None:
    staff = world.tokens["staff"]
    assert error_codes(await answer(client, apq(query), staff)) == [code]
    body = await answer(client, apq(None, sha256_of(query)), staff)
    assert error_codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert await PersistedQuery.all().count() == 0


async def test_documents_that_cannot_be_stored_run_without_being_kept(client, world: World) -> None:
    staff = world.tokens["staff"]
    nul_in_a_comment = "{ __typename } # \x00"
    too_long = "{ __typename }" + " " * persisted_queries.MAX_KEPT_LENGTH
    for query in (nul_in_a_comment, too_long):
        assert await answer(client, apq(query), staff) == {"data": {"__typename": "Query"}}
        body = await answer(client, apq(None, sha256_of(query)), staff)
        assert error_codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert await PersistedQuery.all().count() == 0


async def test_the_oldest_kept_documents_make_room_registered_ones_stay(
    client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(persisted_queries, "MAX_KEPT", 3)
    registered, _ = await persisted_queries.register(CUSTOMERS)
    queries = [f"query Q{n} {{ __typename }}" for n in range(5)]
    for query in queries:
        await answer(client, apq(query), world.tokens["staff"])
    kept = set(await PersistedQuery.filter(registered_at=None).values_list("sha256", flat=True))
    assert kept == {sha256_of(query) for query in queries[2:]}
    assert await PersistedQuery.exists(sha256=registered)


async def test_a_multipart_upload_may_name_its_document_by_hash(
    client, world: World, storage_root
) -> None:
    staff = {"Authorization": f"Bearer {world.tokens['staff']}"}
    variables = {"input": {"customerId": gid("Customer", world.customer_a), "file": None}}

    async def upload(operations: dict[str, Any]) -> httpx.Response:
        return await client.post(
            "/graphql",
            data={
                "operations": json.dumps({**operations, "variables": variables}),
                "map": json.dumps({"0": ["variables.input.file"]}),
            },
            files={"0": ("scan.pdf", PDF, "application/pdf")},
            headers=staff,
        )

    first = (await upload(apq(None, sha256_of(UPLOAD)))).json()
    assert error_codes(first) == ["PERSISTED_QUERY_NOT_FOUND"]
    for operations in (apq(UPLOAD), apq(None, sha256_of(UPLOAD))):
        response = await upload(operations)
        assert response.status_code == 200, response.text
        payload = response.json()["data"]["uploadSharedFile"]
        assert payload == {"sharedFile": {"filename": "scan.pdf"}, "errors": []}
    assert_bad_request(await upload(apq(UPLOAD, sha256_of(VIEWER))))


# -- portal contacts run registered documents only ---------------------------------------------


@contextlib.asynccontextmanager
async def registered_only(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings, trusted_documents="contacts") as http:
        yield http


async def test_contacts_run_registered_documents_only(db: Settings, world: World) -> None:
    await persisted_queries.register(VIEWER)
    contact = world.tokens["contact_a"]
    async with registered_only(db) as http:
        for body in (
            {"query": CUSTOMERS},
            apq(CUSTOMERS),
            {"query": VIEWER + " "},  # a registered document is its exact text
            {"query": "{ nosuchfield }"},  # refused before validation could describe the schema
            {"query": "mutation { logout { errors { code } } }"},
        ):
            refused = await answer(http, body, contact)
            assert refused["data"] is None, body
            assert error_codes(refused) == ["DOCUMENT_NOT_REGISTERED"], body
            assert "registered" in refused["errors"][0]["message"]
        expected = {"data": {"viewer": {"__typename": "ContactPerson"}}}
        assert await answer(http, {"query": VIEWER}, contact) == expected
        assert await answer(http, apq(None, sha256_of(VIEWER)), contact) == expected
        assert await answer(http, apq(VIEWER), contact) == expected
        # Trying to keep it did not keep it: by hash it is still unknown, even to staff.
        body = await answer(http, apq(None, sha256_of(CUSTOMERS)), world.tokens["staff"])
        assert error_codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_document_kept_for_staff_is_not_registered_for_contacts(
    db: Settings, world: World
) -> None:
    async with registered_only(db) as http:
        kept = await answer(http, apq(CUSTOMERS), world.tokens["staff"])
        assert kept == {"data": {"customers": {"totalCount": 2}}}
        for body in (apq(None, sha256_of(CUSTOMERS)), {"query": CUSTOMERS}):
            refused = await answer(http, body, world.tokens["contact_a"])
            assert error_codes(refused) == ["DOCUMENT_NOT_REGISTERED"]


@pytest.mark.parametrize("who", [None, "staff", "admin", "partner"])
async def test_staff_partner_keys_and_anonymous_clients_send_any_document(
    db: Settings, world: World, who: str | None
) -> None:
    token = world.tokens[who] if who else None
    async with registered_only(db) as http:
        mine = await answer(http, {"query": "query Mine { viewer { __typename } }"}, token)
        assert "errors" not in mine
        by_apq = await answer(http, apq(CUSTOMERS), token)
        assert set(error_codes(by_apq)) <= {"UNAUTHENTICATED"}, by_apq


async def test_anonymous_clients_log_in_with_any_document(db: Settings, world: World) -> None:
    login = """mutation { portalLogin(input: {portalName: "alpha", email: "ann@acorn.example",
      password: "correct-horse-battery"}) { token errors { code } } }"""
    async with registered_only(db) as http:
        body = await answer(http, {"query": login})
        assert body["data"]["portalLogin"]["errors"] == []
        token = body["data"]["portalLogin"]["token"]
        refused = await answer(http, {"query": VIEWER}, token)
        assert error_codes(refused) == ["DOCUMENT_NOT_REGISTERED"]


async def test_a_document_registered_while_serving_counts_at_once(
    db: Settings, world: World
) -> None:
    contact = world.tokens["contact_a"]
    async with registered_only(db) as http:
        assert error_codes(await answer(http, {"query": VIEWER}, contact)) == [
            "DOCUMENT_NOT_REGISTERED"
        ]
        await persisted_queries.register(VIEWER)
        body = await answer(http, {"query": VIEWER}, contact)
        assert body == {"data": {"viewer": {"__typename": "ContactPerson"}}}


async def test_uploads_by_contacts_follow_the_rule(db: Settings, world: World) -> None:
    contact = {"Authorization": f"Bearer {world.tokens['contact_a']}"}
    variables = {"input": {"customerId": gid("Customer", world.customer_a), "file": None}}
    async with registered_only(db) as http:
        response = await http.post(
            "/graphql",
            data={
                "operations": json.dumps({"query": UPLOAD, "variables": variables}),
                "map": json.dumps({"0": ["variables.input.file"]}),
            },
            files={"0": ("scan.pdf", PDF, "application/pdf")},
            headers=contact,
        )
    assert response.status_code == 200, response.text
    assert error_codes(response.json()) == ["DOCUMENT_NOT_REGISTERED"]


@contextlib.asynccontextmanager
async def websocket_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # The transport must be entered and left in one task, so not as a fixture.
    app = create_app(settings, manage_database=False)
    transport = ASGIWebSocketTransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        yield http


async def test_contacts_on_a_websocket_run_registered_documents_only(
    db: Settings, world: World
) -> None:
    await persisted_queries.register(VIEWER)
    settings = dataclasses.replace(db, trusted_documents="contacts")
    async with (
        websocket_client(settings) as http,
        graphql_ws.connect(http, token=world.tokens["contact_a"]) as ws,
    ):
        refused = await ws.subscribe(CUSTOMERS)
        message = await ws.receive()
        assert message["type"] == "error" and message["id"] == refused, message
        assert [error["extensions"]["code"] for error in message["payload"]] == [
            "DOCUMENT_NOT_REGISTERED"
        ]
        allowed = await ws.subscribe(VIEWER)
        message = await ws.receive()
        assert message == {
            "id": allowed,
            "type": "next",
            "payload": {"data": {"viewer": {"__typename": "ContactPerson"}}},
        }


def test_the_setting_is_off_or_contacts_and_contacts_in_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("PORTICO_SECRET_KEY", "s" * 48)
    monkeypatch.setenv("PORTICO_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("PORTICO_TRUSTED_DOCUMENTS", raising=False)
    for environment, expected in (("development", False), ("production", True)):
        monkeypatch.setenv("PORTICO_ENV", environment)
        assert Settings.from_env().contacts_run_registered_documents_only is expected
        for value, chosen in (("off", False), ("contacts", True), ("Contacts", True)):
            monkeypatch.setenv("PORTICO_TRUSTED_DOCUMENTS", value)
            assert Settings.from_env().contacts_run_registered_documents_only is chosen
        monkeypatch.delenv("PORTICO_TRUSTED_DOCUMENTS")
    monkeypatch.setenv("PORTICO_TRUSTED_DOCUMENTS", "everyone")
    with pytest.raises(ConfigurationError, match="PORTICO_TRUSTED_DOCUMENTS"):
        Settings.from_env()


async def test_production_holds_contacts_to_the_registry_by_default(
    db: Settings, world: World
) -> None:
    async with app_client(db, environment="production") as http:
        refused = await answer(http, {"query": VIEWER}, world.tokens["contact_a"])
        assert error_codes(refused) == ["DOCUMENT_NOT_REGISTERED"]
    async with app_client(db, environment="production", trusted_documents="off") as http:
        assert "errors" not in await answer(http, {"query": VIEWER}, world.tokens["contact_a"])


# -- the flag for the executor -----------------------------------------------------------------


@pytest.fixture
def flags(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """`Context.registered_document` as each execution starts."""
    seen: list[bool] = []
    build = PorticoExecution.build.__func__  # type: ignore[attr-defined]

    def recording(cls, schema, document, root_value=None, context_value=None, *args, **kwargs):
        seen.append(context_value.registered_document)
        return build(cls, schema, document, root_value, context_value, *args, **kwargs)

    monkeypatch.setattr(PorticoExecution, "build", classmethod(recording))
    return seen


@pytest.mark.parametrize("who", ["contact_a", "staff"])
async def test_the_context_says_whether_the_document_is_registered(
    db: Settings, world: World, flags: list[bool], who: str
) -> None:
    await persisted_queries.register(VIEWER)
    token = world.tokens[who]
    async with app_client(db) as http:
        for body, registered in (
            ({"query": VIEWER}, True),
            (apq(None, sha256_of(VIEWER)), True),
            ({"query": CUSTOMERS}, False),
            (apq(CUSTOMERS), False),  # kept for APQ, which is not registering
            (apq(None, sha256_of(CUSTOMERS)), False),
            ({"query": VIEWER}, True),
        ):
            flags.clear()
            await answer(http, body, token)
            assert flags == [registered], body
