"""SIGTERM ends `portico serve` within PORTICO_SHUTDOWN_TIMEOUT_SECONDS, whatever its clients
do: a request whose body trickles in is cut short with a 503, open subscriptions are closed
with 1012 (service restart), and nothing is logged as a crash."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from httpx_ws import WebSocketDisconnect

from server.demo import ADMIN_EMAIL, ADMIN_PASSWORD
from tests import graphql_ws
from tests.databases import DemoTemplates
from tests.e2e.processes import installed, login, serve_process

SHUTDOWN_SECONDS = 2
EVENTS = "subscription { portalActivity { cursor } }"


class TricklingClient(threading.Thread):
    """Sends a request's headers, then its body one byte every 0.2 s, keeping what comes back."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        address = urlsplit(base)
        self.address = (address.hostname, address.port)
        self.answer = b""
        self.body_sent = 0

    def run(self) -> None:
        body = b" " * 10_000
        head = (
            f"POST /graphql HTTP/1.1\r\nHost: {self.address[0]}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        with socket.create_connection(self.address, timeout=0.2) as connection:
            connection.sendall(head.encode())
            for byte in body:
                try:
                    connection.sendall(bytes([byte]))
                    self.body_sent += 1
                    while chunk := connection.recv(65536):
                        self.answer += chunk
                    return  # the server closed the connection
                except TimeoutError:
                    continue
                except OSError:
                    return


async def test_sigterm_ends_the_server_within_the_shutdown_timeout(
    tmp_path: Path, demo_templates: DemoTemplates
) -> None:
    env = installed(
        tmp_path,
        demo_templates,
        PORTICO_SHUTDOWN_TIMEOUT_SECONDS=str(SHUTDOWN_SECONDS),
        PORTICO_BODY_TIMEOUT_SECONDS="600",
    )
    log = tmp_path / "serve.log"
    with serve_process(env, log) as (base, process):
        token = login(base, ADMIN_EMAIL, ADMIN_PASSWORD)
        trickler = TricklingClient(base)
        trickler.start()
        async with (
            httpx.AsyncClient(base_url=base) as http,
            graphql_ws.connect(http, token=token, origin=base) as ws,
        ):
            await ws.subscribe(EVENTS)
            await asyncio.sleep(1.0)
            assert trickler.body_sent > 0 and not trickler.answer

            process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            try:
                await asyncio.to_thread(process.wait, timeout=SHUTDOWN_SECONDS + 10)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail(f"portico serve still running {SHUTDOWN_SECONDS + 10} s after SIGTERM")
            stopped_after = time.monotonic() - started
            with pytest.raises(WebSocketDisconnect) as closed:
                await ws.receive(within=1)
    trickler.join(timeout=5)

    assert stopped_after < SHUTDOWN_SECONDS + 3
    assert closed.value.code == 1012
    head, _, body = trickler.answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503"), trickler.answer
    assert json.loads(body)["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
    written = log.read_text()
    assert "Shutdown: POST /graphql cut short" in written
    assert "Traceback" not in written
