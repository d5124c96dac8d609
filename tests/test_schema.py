import json
import logging
from pathlib import Path

import httpx
import pytest
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from schema.root import build_schema
from server.app import create_app
from tests.conftest import (
    CREATE_CUSTOMER,
    World,
    app_client,
    error_codes,
    fail_customer_creation,
    gql,
)

ROOT = Path(__file__).resolve().parent.parent


def test_schema_graphql_matches_the_code() -> None:
    exported = build_schema().as_str() + "\n"
    assert (ROOT / "schema.graphql").read_text() == exported, "run `make schema`"


def test_staff_only_fields_say_so_in_their_description() -> None:
    types = build_schema()._schema.type_map
    guarded = {
        "Customer": ("internalNotes", "creditLimit"),
        "ContactPerson": ("portalAccess", "invitedAt", "acceptedAt", "lastLoginAt"),
    }
    for type_name, fields in guarded.items():
        for field in fields:
            description = types[type_name].fields[field].description or ""
            assert "staff users and organization-wide partner keys only" in description, (
                type_name,
                field,
            )


async def test_too_deep_query_is_rejected(client, world: World) -> None:
    nested = "contactPersons { customer { " * 5 + "displayName" + " } }" * 5
    body = await gql(client, "{ customers { nodes { %s } } }" % nested, token=world.tokens["staff"])
    assert body.get("data") is None
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "depth" in body["errors"][0]["message"]


async def test_sixteen_aliases_are_rejected_fifteen_are_fine(client, world: World) -> None:
    token = world.tokens["staff"]
    fifteen = "{ %s }" % " ".join(f"a{i}: viewer {{ __typename }}" for i in range(15))
    assert "errors" not in await gql(client, fifteen, token=token)
    sixteen = "{ %s }" % " ".join(f"a{i}: viewer {{ __typename }}" for i in range(16))
    body = await gql(client, sixteen, token=token)
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "aliases" in body["errors"][0]["message"]


async def test_too_many_tokens_are_rejected(client) -> None:
    query = "{ %s }" % " ".join(["__typename"] * 2100)
    body = await gql(client, query)
    assert body.get("data") is None
    assert error_codes(body) == ["GRAPHQL_PARSE_FAILED"]


async def test_oversized_body_is_refused_before_parsing(client) -> None:
    big = {"query": "{ __typename }", "variables": {"pad": "x" * 2_000_000}}
    response = await client.post("/graphql", content=json.dumps(big),
                                 headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_body_that_is_not_a_json_object_is_a_bad_request(client) -> None:
    for body in ("5", "null", '"query"', "[" * 100_000 + "]" * 100_000):
        response = await client.post(
            "/graphql", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, body[:20]


async def test_unknown_fields_get_no_suggestions(client, world: World) -> None:
    body = await gql(client, "{ customerz { totalCount } }", token=world.tokens["staff"])
    message = body["errors"][0]["message"]
    assert "customerz" in message
    assert "Did you mean" not in message


async def test_unexpected_errors_are_masked_and_logged(
    client, world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fail_customer_creation(monkeypatch, "secret database detail")
    with caplog.at_level(logging.ERROR, logger="portico.graphql"):
        body = await gql(
            client,
            CREATE_CUSTOMER,
            token=world.tokens["staff"],
        )
    assert body["errors"] == [
        {
            "message": "Unexpected error.",
            "locations": [{"line": 1, "column": 12}],
            "path": ["createCustomer"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    assert "secret database detail" not in json.dumps(body)
    assert "secret database detail" in caplog.text
    assert "Traceback" in caplog.text


async def test_node_with_a_malformed_id_is_bad_input(client, world: World) -> None:
    body = await gql(client, '{ node(id: "%%%") { id } }', token=world.tokens["staff"])
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_graphiql_is_served_in_development_only(db) -> None:
    for graphiql, expected in ((True, 200), (False, 404)):
        async with app_client(db, graphiql=graphiql) as http:
            response = await http.get("/graphql", headers={"accept": "text/html"})
        assert response.status_code == expected
        assert ("graphiql" in response.text.lower()) == (expected == 200)


async def test_websocket_speaks_graphql_transport_ws_from_allowed_origins(db, world: World) -> None:
    app = create_app(db, manage_database=False)
    transport = ASGIWebSocketTransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        headers = {"origin": "http://127.0.0.1:8000"}
        async with aconnect_ws(
            "/graphql", http, subprotocols=["graphql-transport-ws"], headers=headers
        ) as ws:
            assert ws.subprotocol == "graphql-transport-ws"
            await ws.send_json({"type": "connection_init"})
            assert (await ws.receive_json())["type"] == "connection_ack"
            await ws.send_json(
                {"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}}
            )
            message = await ws.receive_json()
            assert message == {
                "id": "1",
                "type": "next",
                "payload": {"data": {"__typename": "Query"}},
            }
        with pytest.raises(Exception):  # noqa: B017 - the handshake itself is refused
            async with aconnect_ws(
                "/graphql",
                http,
                subprotocols=["graphql-transport-ws"],
                headers={"origin": "https://evil.example"},
            ) as ws:
                await ws.send_json({"type": "connection_init"})
                await ws.receive_json()
        with pytest.raises(Exception):  # noqa: B017 - the legacy protocol is not offered
            async with aconnect_ws(
                "/graphql", http, subprotocols=["graphql-ws"], headers=headers
            ) as ws:
                await ws.send_json({"type": "connection_init"})
                await ws.receive_json()


async def test_repeated_queries_hit_the_validation_cache(client, world: World) -> None:
    from schema.validation import validate_without_suggestions as cache

    query = "{ customers(first: 1) { totalCount } }"
    await gql(client, query, token=world.tokens["staff"])
    hits = cache.cache_info().hits
    await gql(client, query, token=world.tokens["staff"])
    assert cache.cache_info().hits == hits + 1


@pytest.mark.slow
async def test_a_long_subscription_does_not_accumulate_per_event_state() -> None:
    import gc
    from collections.abc import AsyncGenerator

    import strawberry
    from graphql.execution.executor import Executor

    from schema.execution import PorticoExecution

    @strawberry.type
    class Thing:
        name: str

    @strawberry.type
    class Query:
        ok: bool = True

    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def things(self) -> AsyncGenerator[Thing, None]:
            for index in range(300):
                yield Thing(name=str(index))

    def memo_entries() -> int:
        gc.collect()
        return sum(len(o._relevant_sub_fields) for o in gc.get_objects() if isinstance(o, Executor))

    schema = strawberry.Schema(
        Query, subscription=Subscription, execution_context_class=PorticoExecution
    )
    stream = await schema.subscribe("subscription { things { name } }")
    sizes = []
    async for index, _ in _enumerate(stream):
        if index in (10, 299):
            sizes.append(memo_entries())
    assert sizes[1] <= sizes[0] + 2, sizes
    assert build_schema().execution_context_class is PorticoExecution


async def _enumerate(stream):
    index = 0
    async for item in stream:
        yield index, item
        index += 1


def test_every_root_field_says_who_may_call_it_as_its_permissions_check() -> None:
    schema = build_schema()
    for root in ("Query", "Mutation", "Subscription"):
        for name, field in schema._schema.type_map[root].fields.items():
            permissions = schema.get_field_for_type(name, root).permission_classes
            said = (field.description or "").split("Who may call: ")
            assert len(said) == 2 and permissions, (root, name)
            assert said[1] == " Also: ".join(p.who for p in permissions), (root, name)


def test_a_root_field_that_declares_no_caller_is_refused() -> None:
    import strawberry

    from schema.permissions import describe_callers

    @strawberry.type
    class Undeclared:
        @strawberry.field
        def secret(self) -> str:
            return "x"

    with pytest.raises(TypeError, match="secret does not declare who may call it"):
        describe_callers(Undeclared)
