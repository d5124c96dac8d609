"""Start `portico serve` as a real process and use it like a client would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_ws import aconnect_ws

from server.demo import ADMIN_EMAIL, ADMIN_PASSWORD, CONTACT_EMAIL, CONTACT_PASSWORD, DEMO_PORTAL
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var = tmp_path_factory.mktemp("e2e")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PORTICO_VAR_DIR": str(var),
        "PORTICO_PUBLIC_URL": base,
        "PORTICO_ALLOWED_ORIGINS": base,
        "PORTICO_ARGON2_TIME_COST": "1",
        "PORTICO_ARGON2_MEMORY_KIB": "1024",
    }
    env.pop("DATABASE_URL", None)

    def portico(*args: str) -> list[str]:
        return [sys.executable, "-m", "server", *args]

    subprocess.run(portico("migrate"), env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(portico("demo"), env=env, cwd=ROOT, check=True, capture_output=True)
    process = subprocess.Popen(
        portico("serve", "--port", str(port)),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_until_up(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "exited")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("portico serve did not start within 30 s")


def _post(base: str, query: str, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{base}/graphql", json={"query": query}, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_ready_and_demo_logins_work(server: str) -> None:
    assert httpx.get(f"{server}/readyz").json() == {"status": "ok", "database": "ok"}
    staff = _post(
        server,
        f'mutation {{ login(input: {{email: "{ADMIN_EMAIL}", password: "{ADMIN_PASSWORD}"}}) '
        "{ token errors { message } } }",
    )["data"]["login"]
    assert staff["errors"] == []
    body = _post(server, "{ customers { totalCount } }", staff["token"])
    assert body["data"]["customers"]["totalCount"] == 12
    contact = _post(
        server,
        f'mutation {{ portalLogin(input: {{portalName: "{DEMO_PORTAL}", email: "{CONTACT_EMAIL}",'
        f' password: "{CONTACT_PASSWORD}"}}) {{ token errors {{ message }} }} }}',
    )["data"]["portalLogin"]
    body = _post(server, "{ customers { nodes { displayName } } }", contact["token"])
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
