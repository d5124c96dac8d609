"""Start `portico serve` as a real process and use it like a client would."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from httpx_ws import aconnect_ws

from server.demo import ADMIN_EMAIL, ADMIN_PASSWORD, CONTACT_EMAIL, CONTACT_PASSWORD, DEMO_PORTAL
from tests.databases import DemoTemplates
from tests.e2e.processes import graphql, installed, login, portal_login, serve


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, demo_templates: DemoTemplates
) -> Iterator[str]:
    env = installed(tmp_path_factory.mktemp("e2e"), demo_templates)
    with serve(env) as base:
        yield base


def test_ready_and_demo_logins_work(server: str) -> None:
    assert httpx.get(f"{server}/readyz").json() == {"status": "ok", "database": "ok"}
    staff = login(server, ADMIN_EMAIL, ADMIN_PASSWORD)
    body = graphql(server, "{ customers { totalCount } }", staff)
    assert body["data"]["customers"]["totalCount"] == 12
    contact = portal_login(server, DEMO_PORTAL, CONTACT_EMAIL, CONTACT_PASSWORD)
    body = graphql(server, "{ customers { nodes { displayName } } }", contact)
    assert body["data"]["customers"]["nodes"] == [{"displayName": "Northwind Traders"}]


def test_graphiql_page_is_served(server: str) -> None:
    response = httpx.get(f"{server}/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_websocket_over_tcp(server: str) -> None:
    async with (
        httpx.AsyncClient(base_url=server) as http,
        aconnect_ws(
            "/graphql", http, subprotocols=["graphql-transport-ws"], headers={"origin": server}
        ) as ws,
    ):
        await ws.send_json({"type": "connection_init"})
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}})
        assert (await ws.receive_json())["payload"] == {"data": {"__typename": "Query"}}
