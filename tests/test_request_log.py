"""The request log: one line per request with its id, who asked, the operation, the errors
answered and the SQL statements sent; every record of the request carries the id; one format
for every logger, JSON or readable."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server import logs
from server.request_log import RequestLine
from server.settings import ConfigurationError, Settings
from tests.conftest import (
    CREATE_CUSTOMER,
    QueryCounter,
    World,
    app_client,
    fail_customer_creation,
)

CUSTOMERS = "query Customers { customers(first: 5) { totalCount nodes { displayName } } }"


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [
        {**record.msg.fields(), "request_id": record.request_id}
        for record in caplog.records
        if record.name == "portico.request" and isinstance(record.msg, RequestLine)
    ]


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="portico.request"):
        yield caplog


async def post(client: httpx.AsyncClient, query: str, token: str | None = None, **headers: str):
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await client.post("/graphql", json={"query": query}, headers=headers)


async def test_each_request_gets_an_id_in_its_response_and_its_line(
    client, world: World, lines
) -> None:
    first = await post(client, CUSTOMERS, world.tokens["staff"])
    second = await post(client, CUSTOMERS, world.tokens["staff"])
    generated = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert generated[0] != generated[1] and all(len(each) >= 16 for each in generated)

    echoed = await post(client, CUSTOMERS, world.tokens["staff"], **{"X-Request-ID": "lb-42.a:b"})
    assert echoed.headers["x-request-id"] == "lb-42.a:b"
    for insane in ("x" * 129, "has space", "semi;colon", ""):
        replaced = await client.get("/healthz", headers={"X-Request-ID": insane})
        assert replaced.headers["x-request-id"] not in (insane, "")
    assert [line["request_id"] for line in request_lines(lines)][:3] == [*generated, "lb-42.a:b"]


async def test_the_line_tells_the_operation_principal_status_and_statements_sent(
    client, world: World, lines, count_queries: QueryCounter
) -> None:
    await post(client, CUSTOMERS, world.tokens["staff"])
    sent = count_queries.count
    assert sent > 0
    [line] = request_lines(lines)
    assert line == {
        "method": "POST",
        "path": "/graphql",
        "status": 200,
        "duration_ms": line["duration_ms"],
        "principal": "staff",
        "operation_type": "query",
        "operation_name": "Customers",
        "error_codes": [],
        "sql_statements": sent,
        "request_id": line["request_id"],
    }
    assert line["duration_ms"] > 0

    lines.clear()
    count_queries.reset()
    mutation = 'mutation Add { createCustomer(input: {displayName: "New"}) { errors { code } } }'
    await post(client, mutation, world.tokens["staff"])
    await post(
        client, "query Mine { customers(first: 1) { totalCount } }", world.tokens["contact_a"]
    )
    await post(client, "{ customers(first: 1) { totalCount } }", world.tokens["partner_no_scope"])
    await post(client, "query Nobody { customers(first: 1) { totalCount } }")
    await post(client, "{ customers(first: 1) { nope } }", world.tokens["staff"])
    staff, contact, partner, anonymous, invalid = request_lines(lines)
    assert (staff["operation_type"], staff["operation_name"]) == ("mutation", "Add")
    assert staff["error_codes"] == [] and staff["sql_statements"] > 0
    assert (contact["principal"], contact["operation_name"]) == ("contact", "Mine")
    assert (partner["principal"], partner["operation_name"]) == ("api_key", None)
    assert partner["error_codes"] == ["FORBIDDEN"]
    assert (anonymous["principal"], anonymous["error_codes"]) == ("anonymous", ["UNAUTHENTICATED"])
    # Refused before it ran: the validation error's code, and a 200 as GraphQL says.
    assert (anonymous["operation_type"], anonymous["operation_name"]) == ("query", "Nobody")
    assert (invalid["status"], invalid["error_codes"]) == (200, ["GRAPHQL_VALIDATION_FAILED"])
    assert sum(line["sql_statements"] for line in request_lines(lines)) == count_queries.count


async def test_paths_lose_link_secrets_and_query_strings(client, world: World, lines) -> None:
    await client.get("/public/pl_s3cr3t-value/pdf?visit=pv_secret")
    await client.get("/graphql?query={__typename}&variables={}")
    public, by_get = request_lines(lines)
    assert public["path"] == "/public/[secret]/pdf" and public["status"] == 404
    assert by_get["path"] == "/graphql" and by_get["operation_type"] == "query"
    # (httpx, the client, logs the URLs it asked for)
    text = "\n".join(r.getMessage() for r in lines.records if r.name != "httpx")
    assert "s3cr3t" not in text and "pv_secret" not in text and "__typename" not in text


async def test_every_record_of_a_request_carries_its_id(
    client, world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fail_customer_creation(monkeypatch, "boom")
    with caplog.at_level(logging.INFO):
        response = await post(
            client,
            CREATE_CUSTOMER,
            world.tokens["staff"],
            **{"X-Request-ID": "trace-me"},
        )
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    [unexpected] = [r for r in caplog.records if r.name == "portico.graphql"]
    assert unexpected.levelno == logging.ERROR and unexpected.exc_info
    assert unexpected.request_id == "trace-me"
    [line] = request_lines(caplog)
    assert line["error_codes"] == ["INTERNAL_SERVER_ERROR"]
    # Outside a request, none.
    logging.getLogger("portico.test").warning("between requests")
    assert caplog.records[-1].request_id is None


def portico_output() -> io.StringIO:
    """What Portico's handler (set up by the app) writes from now on."""
    [handler] = [h for h in logging.getLogger().handlers if isinstance(h, logs.PorticoHandler)]
    stream = io.StringIO()
    handler.setStream(stream)
    return stream


async def test_production_writes_json_lines(db: Settings, world: World) -> None:
    async with app_client(db, log_format="json") as http:
        stream = portico_output()
        await post(http, CUSTOMERS, world.tokens["staff"], **{"X-Request-ID": "j-1"})
        logging.getLogger("uvicorn.error").warning("uvicorn says %s", "hello")
        try:
            raise ValueError("went wrong")
        except ValueError:
            logging.getLogger("tortoise").exception("tortoise says")
    written = [json.loads(line) for line in stream.getvalue().splitlines()]
    request = next(line for line in written if line["logger"] == "portico.request")
    assert request["request_id"] == "j-1" and request["level"] == "INFO"
    assert request["time"].endswith("Z") and "T" in request["time"]
    assert request["operation_name"] == "Customers" and request["operation_type"] == "query"
    assert request["principal"] == "staff" and request["status"] == 200
    assert request["sql_statements"] > 0 and request["duration_ms"] > 0
    assert request["message"].startswith("POST /graphql 200 ")
    uvicorn = next(line for line in written if line["logger"] == "uvicorn.error")
    assert uvicorn["message"] == "uvicorn says hello" and "request_id" not in uvicorn
    tortoise = next(line for line in written if line["logger"] == "tortoise")
    assert "ValueError: went wrong" in tortoise["exception"]


async def test_development_writes_one_readable_line(db: Settings, world: World) -> None:
    async with app_client(db) as http:
        stream = portico_output()
        await post(http, CUSTOMERS, world.tokens["staff"], **{"X-Request-ID": "t-1"})
    [line] = [each for each in stream.getvalue().splitlines() if "portico.request" in each]
    stamp, level, logger, request_id, rest = line.split(" ", 4)
    assert stamp.endswith("Z") and (level, logger, request_id) == (
        "INFO",
        "portico.request",
        "[t-1]",
    )
    assert rest.startswith("POST /graphql 200 ") and " staff query Customers sql=" in rest


def test_the_format_follows_the_environment_unless_chosen(tmp_path: Path) -> None:
    base = {"PORTICO_VAR_DIR": str(tmp_path), "PORTICO_SECRET_KEY": "k" * 40}
    assert Settings.from_env(base).log_format_in_use == "text"
    production = {**base, "PORTICO_ENV": "production"}
    assert Settings.from_env(production).log_format_in_use == "json"
    chosen = {**production, "PORTICO_LOG_FORMAT": "TEXT"}
    assert Settings.from_env(chosen).log_format_in_use == "text"
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({**base, "PORTICO_LOG_FORMAT": "xml"})
    assert refused.value.problems == [
        "PORTICO_LOG_FORMAT='xml' is not valid: expected json or text"
    ]


async def test_a_websocket_logs_its_opening_its_operations_and_its_closing_under_one_id(
    db: Settings, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    from tests import graphql_ws
    from tests.test_activity import websocket_client

    with caplog.at_level(logging.DEBUG, logger="portico"):
        async with (
            websocket_client(db) as http,
            graphql_ws.connect(http, token=world.tokens["staff"]) as ws,
        ):
            operation = await ws.subscribe("subscription Live { portalActivity { cursor } }")
            await ws.complete(operation)
            await ws.expect_silence(0.1)
    said = [
        (record.request_id, record.getMessage())
        for record in caplog.records
        if record.name in ("portico.request", "portico.subscriptions")
    ]
    [request_id] = {request_id for request_id, _ in said}
    assert request_id is not None
    messages = [message for _, message in said]
    assert messages[0] == "Websocket /graphql opened"
    # Named as the subscribe message names it (operationName); this client names none.
    assert messages[1] == "Operation 1 started: (unnamed)"
    assert messages[2].startswith("Operation 1 ended after ")
    assert re.fullmatch(
        r"Websocket /graphql closed after [\d.]+ ms: code 1000 by the client, "
        r"principal=staff sql=\d+",
        messages[-1],
    ), messages[-1]
