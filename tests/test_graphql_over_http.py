"""GraphQL over HTTP: the two response media types, queries over GET, and when a GET's
session cookie counts."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from models.activity import Activity, ActivityKind
from models.customers import Customer
from resolvers import persisted_queries
from resolvers.persisted_queries import sha256_of
from schema.authentication import SESSION_COOKIE
from server.settings import Settings
from tests.conftest import World, app_client, error_codes, gql
from tests.test_documents import SEND, create

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
VIEWER = "query Viewer { viewer { __typename } }"
SEARCH = "query($s: String) { customers(filter: {search: $s}) { nodes { displayName } } }"
DETAIL = "query($id: ID!) { salesDocument(id: $id) { number } }"
CREATE_CUSTOMER = """mutation { createCustomer(input: {displayName: "Over GET", currency: "USD"})
  { errors { code } } }"""

# Each request error, with the code it gets whatever the media type.
REQUEST_ERRORS = {
    "parse": ({"query": "{ viewer { __typename "}, "GRAPHQL_PARSE_FAILED"),
    "validation": ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
    "variable": (
        {
            "query": "query($n: Int) { customers(first: $n) { totalCount } }",
            "variables": {"n": "many"},
        },
        "BAD_USER_INPUT",
    ),
    "no-operation-name": (
        {"query": "query A { __typename } query B { __typename }"},
        "BAD_USER_INPUT",
    ),
}


async def post(
    client: httpx.AsyncClient, body: dict[str, Any], accept: str | None, token: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": JSON}
    if accept is not None:
        headers["Accept"] = accept
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post("/graphql", content=json.dumps(body), headers=headers)


async def get(
    client: httpx.AsyncClient,
    params: dict[str, Any],
    token: str | None = None,
    **headers: str,
) -> httpx.Response:
    query = {key: value if isinstance(value, str) else json.dumps(value)
             for key, value in params.items()}  # fmt: skip
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await client.get("/graphql", params=query, headers=headers)


# -- media types -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", REQUEST_ERRORS)
@pytest.mark.parametrize("accept", [None, JSON, "*/*"])
async def test_with_json_a_request_error_is_200_with_null_data(client, world, case, accept) -> None:
    body, code = REQUEST_ERRORS[case]
    response = await post(client, body, accept, world.tokens["staff"])
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json()["data"] is None
    assert error_codes(response.json()) == [code]


@pytest.mark.parametrize("case", REQUEST_ERRORS)
async def test_with_graphql_response_json_a_request_error_is_400_without_data(
    client, world, case
) -> None:
    body, code = REQUEST_ERRORS[case]
    response = await post(client, body, GRAPHQL_RESPONSE, world.tokens["staff"])
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    answer = response.json()
    assert "data" not in answer
    assert error_codes(answer) == [code]


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
async def test_a_field_error_is_200_with_data_in_both_media_types(client, world, accept) -> None:
    # Anonymous: `viewer` answers null, `customer` is refused on its own.
    body = {"query": '{ viewer { __typename } customer(id: "Q3VzdG9tZXI6MQ==") { id } }'}
    response = await post(client, body, accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == accept
    answer = response.json()
    assert answer["data"] == {"viewer": None, "customer": None}
    assert error_codes(answer) == ["UNAUTHENTICATED"]
    assert answer["errors"][0]["path"] == ["customer"]
    # A non-null root field's error nulls all of `data`; it executed, so `data` is there.
    refused = await post(client, {"query": "{ customers { totalCount } }"}, accept)
    assert refused.status_code == 200
    assert refused.headers["content-type"] == accept
    assert refused.json()["data"] is None
    assert refused.json()["errors"][0]["path"] == ["customers"]


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("text/html, application/json", JSON),
        ("text/plain", JSON),  # nothing we serve: Accept is disregarded, not a 406
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE};q=0.5", JSON),
        (f"{GRAPHQL_RESPONSE};q=0, */*", JSON),
        (f"{JSON};q=0, */*;q=0.2", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=bogus, {JSON};q=0.1", JSON),
    ],
)
async def test_the_response_is_sent_as_the_media_type_accepted(client, accept, chosen) -> None:
    response = await post(client, {"query": "{ __typename }"}, accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == chosen
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_a_body_refused_before_graphql_is_400_in_the_media_type_accepted(client) -> None:
    for accept in (JSON, GRAPHQL_RESPONSE):
        response = await client.post(
            "/graphql", content=b"{not json", headers={"Content-Type": JSON, "Accept": accept}
        )
        assert response.status_code == 400
        assert response.headers["content-type"] == accept
        assert error_codes(response.json()) == ["BAD_REQUEST"]


# -- GET ---------------------------------------------------------------------------------------


async def test_a_query_over_get_takes_its_variables_from_the_url(client, world: World) -> None:
    params = {"query": SEARCH, "variables": {"s": "acorn"}}
    response = await get(client, params, world.tokens["staff"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"data": {"customers": {"nodes": [{"displayName": "Acorn Ltd"}]}}}
    named = {"query": f"query A {{ a: __typename }} {SEARCH.replace('query', 'query B', 1)}",
             "operationName": "B", "variables": {"s": "birch"}}  # fmt: skip
    body = (await get(client, named, world.tokens["staff"])).json()
    assert body == {"data": {"customers": {"nodes": [{"displayName": "Birch Inc"}]}}}


async def test_a_bad_variable_over_get_is_a_request_error_like_over_post(
    client, world: World
) -> None:
    params = {"query": SEARCH, "variables": {"s": 12}}
    as_json = await get(client, params, world.tokens["staff"])
    assert as_json.status_code == 200 and error_codes(as_json.json()) == ["BAD_USER_INPUT"]
    strict = await get(client, params, world.tokens["staff"], accept=GRAPHQL_RESPONSE)
    assert strict.status_code == 400 and "data" not in strict.json()
    not_json = await get(client, {"query": SEARCH, "variables": "{s:"}, world.tokens["staff"])
    assert not_json.status_code == 400
    assert error_codes(not_json.json()) == ["BAD_REQUEST"]


async def test_a_mutation_over_get_is_405_and_changes_nothing(client, world: World) -> None:
    for accept in (JSON, GRAPHQL_RESPONSE):
        response = await get(
            client, {"query": CREATE_CUSTOMER}, world.tokens["admin"], accept=accept
        )
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert response.headers["content-type"] == accept
        assert error_codes(response.json()) == ["BAD_REQUEST"]
    assert await Customer.filter(display_name="Over GET").count() == 0
    # The same document by POST runs.
    created = await gql(client, CREATE_CUSTOMER, token=world.tokens["admin"])
    assert created["data"]["createCustomer"]["errors"] == []
    # Subscriptions are for the websocket: a 400 over GET as over POST, not a 405.
    subscription = await get(client, {"query": "subscription { __typename }"})
    assert subscription.status_code == 400


async def test_a_get_may_name_its_document_by_hash(client, world: World) -> None:
    staff = world.tokens["staff"]
    by_hash = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(VIEWER)}}}
    unknown = await get(client, by_hash, staff)
    assert error_codes(unknown.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    sent = await get(client, {**by_hash, "query": VIEWER}, staff)
    assert sent.json() == {"data": {"viewer": {"__typename": "StaffUser"}}}
    known = await get(client, by_hash, staff)
    assert known.status_code == 200
    assert known.json() == {"data": {"viewer": {"__typename": "StaffUser"}}}
    wrong = {"query": SEARCH, **by_hash}
    assert (await get(client, wrong, staff)).status_code == 400


async def test_contacts_run_registered_documents_by_hash_over_get(
    db: Settings, world: World
) -> None:
    await persisted_queries.register(VIEWER)
    contact = world.tokens["contact_a"]
    async with app_client(db, trusted_documents="contacts") as http:
        by_hash = {
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(VIEWER)}}
        }
        registered = await get(http, by_hash, contact)
        assert registered.json() == {"data": {"viewer": {"__typename": "ContactPerson"}}}
        as_text = await get(http, {"query": "{ viewer { __typename } }"}, contact)
        assert error_codes(as_text.json()) == ["DOCUMENT_NOT_REGISTERED"]


# -- the session cookie on GET -----------------------------------------------------------------


async def sent_invoice(client: httpx.AsyncClient, world: World) -> str:
    invoice = await create(client, world)
    await gql(client, SEND, {"id": invoice["id"]}, token=world.tokens["staff"])
    return invoice["id"]


async def views() -> int:
    return await Activity.filter(kind=ActivityKind.DOCUMENT_VIEWED).count()


@pytest.mark.parametrize(
    "forged",
    [
        {"sec-fetch-site": "cross-site"},  # a link or an image on another site
        {"sec-fetch-site": "same-site"},  # a sibling subdomain is another site's page too
        {"origin": "https://evil.example", "sec-fetch-site": "cross-site"},  # fetch() there
        {"origin": "https://evil.example", "sec-fetch-site": "same-origin"},
        {"origin": "null"},  # a sandboxed frame
        {},  # a client that says nothing about where it comes from
    ],
)
async def test_a_cross_site_get_with_the_cookie_is_anonymous_and_records_no_view(
    client, world: World, forged: dict[str, str]
) -> None:
    invoice = await sent_invoice(client, world)
    client.cookies.set(SESSION_COOKIE, world.tokens["contact_a"])
    response = await get(client, {"query": DETAIL, "variables": {"id": invoice}}, **forged)
    assert response.status_code == 200
    assert response.json()["data"]["salesDocument"] is None
    viewer = await get(client, {"query": VIEWER}, **forged)
    assert viewer.json() == {"data": {"viewer": None}}
    assert await views() == 0


async def test_a_bearer_get_opens_a_document_and_records_its_first_view(
    client, world: World
) -> None:
    invoice = await sent_invoice(client, world)
    response = await get(
        client,
        {"query": DETAIL, "variables": {"id": invoice}},
        world.tokens["contact_a"],
        **{"sec-fetch-site": "cross-site"},  # a token is never attached by another site
    )
    assert response.json() == {"data": {"salesDocument": {"number": "INV-000001"}}}
    assert await views() == 1


@pytest.mark.parametrize(
    "vouched",
    [
        {"sec-fetch-site": "same-origin"},  # the API's own pages (GraphiQL)
        {"origin": "http://localhost:8000", "sec-fetch-site": "same-site"},  # the portal, CORS
    ],
)
async def test_a_get_the_browser_vouches_for_counts_the_cookie(
    client, world: World, vouched: dict[str, str]
) -> None:
    invoice = await sent_invoice(client, world)
    client.cookies.set(SESSION_COOKIE, world.tokens["contact_a"])
    response = await get(client, {"query": DETAIL, "variables": {"id": invoice}}, **vouched)
    assert response.json() == {"data": {"salesDocument": {"number": "INV-000001"}}}
    assert await views() == 1


# -- the request parameters and body (the graphql-http audit's checks, tools/) -----------------

TYPENAME = {"query": "{ __typename }"}


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize(
    "extra",
    [
        {"variables": None},
        {"operationName": None},
        {"extensions": None},
        {"extensions": {"some": "value"}},  # an extension Portico does not know is ignored
        {"operationName": "Query", "query": "query Query { __typename }"},
    ],
)
async def test_null_parameters_and_unknown_extensions_are_accepted(client, accept, extra) -> None:
    response = await post(client, {**TYPENAME, **extra}, accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == accept
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "Application/JSON; Charset=UTF-8",  # media types are case-insensitive
        "application/json;charset=utf-8",
    ],
)
async def test_a_utf8_json_body_is_read_whatever_the_spelling_of_its_type(
    client, world: World, content_type: str
) -> None:
    body = {"query": '{ customers(filter: {search: "Ünïcode 🏃"}) { totalCount } }'}
    response = await client.post(
        "/graphql",
        content=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": content_type, "Authorization": f"Bearer {world.tokens['staff']}"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"customers": {"totalCount": 0}}}


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (None, json.dumps(TYPENAME)),  # no Content-Type at all
        ("text/plain;charset=UTF-8", json.dumps(TYPENAME)),  # what fetch() sends for a string
        (JSON, ""),  # no body
        (JSON, json.dumps({"qeury": "{ __typename }"})),  # no `query`
    ],
)
async def test_a_post_graphql_cannot_read_is_a_400(client, accept, content_type, body) -> None:
    headers = {"Accept": accept}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == accept
    assert error_codes(response.json()) == ["BAD_REQUEST"]


NOT_STRINGS = [{"obj": "ect"}, 0, False, ["array"]]
NOT_OBJECTS = ["string", 0, False, ["array"]]
WRONG_TYPES = [
    *(("query", value) for value in NOT_STRINGS),
    *(("operationName", value) for value in NOT_STRINGS),
    *(("variables", value) for value in NOT_OBJECTS),
    *(("extensions", value) for value in NOT_OBJECTS),
]


@pytest.mark.parametrize(("parameter", "value"), WRONG_TYPES)
async def test_a_parameter_of_the_wrong_json_type_is_a_400_that_names_it(
    client, parameter, value
) -> None:
    response = await post(client, {**TYPENAME, parameter: value}, GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_REQUEST"]
    assert f"`{parameter}`" in response.json()["errors"][0]["message"]
