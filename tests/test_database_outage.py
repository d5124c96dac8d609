"""A database out of reach is an outage, not a fault: 503 "try again later" in GraphQL's error
shape and one warning line, never INTERNAL_SERVER_ERROR, a bare 500 or a traceback.

The failures here are real ones from the driver (asyncpg connecting to a port where nothing
listens); tests/e2e/test_database_outage.py stops a real PostgreSQL under `portico serve`.
"""

from __future__ import annotations

import logging

import asyncpg
import httpx
import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from tortoise.exceptions import DBConnectionError, OperationalError

from resolvers import authentication
from resolvers.database_outage import is_database_unreachable
from server import graphql as graphql_endpoint
from server.app import create_app
from tests.conftest import PASSWORD, World, gid
from tests.services import free_port

CUSTOMERS = "{ customers { totalCount } }"
LOGIN = 'mutation { login(input: {email: "staff@alpha.example", password: "%s"}) { token } }'


async def unreachable(*args: object, **kwargs: object) -> None:
    await asyncpg.connect(host="127.0.0.1", port=free_port(), user="portico", timeout=5)


async def driver_error() -> BaseException:
    try:
        await unreachable()
    except OSError as exc:
        return exc
    raise AssertionError("nothing listens there, yet asyncpg connected")


async def test_errors_that_mean_the_database_is_out_of_reach() -> None:
    refused = await driver_error()
    assert is_database_unreachable(refused)
    assert is_database_unreachable(DBConnectionError("cannot connect"))
    assert is_database_unreachable(asyncpg.ConnectionDoesNotExistError("closed mid-query"))
    assert is_database_unreachable(asyncpg.CannotConnectNowError("starting up"))
    lost = OperationalError("connection lost")
    lost.__cause__ = asyncpg.ConnectionDoesNotExistError("closed mid-query")
    assert is_database_unreachable(lost)

    # The same kinds of error met elsewhere, or a refusal by a database that answers, are not.
    assert not is_database_unreachable(ConnectionRefusedError("the mail server"))
    assert not is_database_unreachable(TimeoutError())
    assert not is_database_unreachable(OperationalError(asyncpg.UndefinedTableError("no table")))
    assert not is_database_unreachable(ValueError("a bug"))
    assert not is_database_unreachable(None)


def assert_told_to_retry(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    assert response.json() == {
        "errors": [
            {
                "message": "The service is briefly unavailable. Please try again shortly.",
                "extensions": {"code": "SERVICE_UNAVAILABLE"},
            }
        ]
    }


async def test_a_request_whose_principal_cannot_be_read_gets_503(
    client: httpx.AsyncClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(graphql_endpoint, "principal_for_session", unreachable)
    bearer = {"Authorization": f"Bearer {world.tokens['staff']}"}
    with caplog.at_level(logging.INFO):
        query = {"query": CUSTOMERS}
        assert_told_to_retry(await client.post("/graphql", json=query, headers=bearer))
        pdf = f"/customers/{gid('Customer', world.customer_a)}/statement.pdf"
        assert_told_to_retry(await client.get(pdf, headers=bearer))
    outage_lines = [r for r in caplog.records if r.name == "portico.unavailable"]
    assert [r.levelname for r in outage_lines] == ["WARNING", "WARNING"]
    assert "POST /graphql" in outage_lines[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_an_operation_that_meets_the_outage_is_answered_503_as_a_whole(
    client: httpx.AsyncClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(authentication, "log_in_staff", unreachable)
    with caplog.at_level(logging.INFO):
        assert_told_to_retry(await client.post("/graphql", json={"query": LOGIN % PASSWORD}))
    assert [r.name for r in caplog.records if r.levelno >= logging.WARNING] == [
        "portico.unavailable"
    ]
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_websocket_that_cannot_authenticate_is_told_to_try_again_later(
    db, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graphql_endpoint, "principal_for_session", unreachable)
    app = create_app(db, manage_database=False)
    async with (
        httpx.AsyncClient(
            transport=ASGIWebSocketTransport(app=app), base_url="http://127.0.0.1:8000"
        ) as http,
        aconnect_ws(
            "/graphql",
            http,
            subprotocols=["graphql-transport-ws"],
            headers={"origin": "http://127.0.0.1:8000"},
        ) as ws,
    ):
        token = world.tokens["staff"]
        await ws.send_json({"type": "connection_init", "payload": {"token": token}})
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json()
    assert closed.value.code == 1013
