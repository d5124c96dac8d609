"""A small graphql-transport-ws client for tests, over any httpx client (ASGI or TCP)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws

PROTOCOL = "graphql-transport-ws"


class GraphQLWebSocket:
    def __init__(self, ws: AsyncWebSocketSession) -> None:
        self.ws = ws
        self._ids = 0

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._ids += 1
        operation_id = str(self._ids)
        payload = {"query": query, "variables": variables or {}}
        await self.ws.send_json({"id": operation_id, "type": "subscribe", "payload": payload})
        return operation_id

    async def receive(self, within: float = 5.0) -> dict[str, Any]:
        return json.loads(await self.receive_text(within))

    async def receive_text(self, within: float = 5.0) -> str:
        """The next message as the server encoded it, pings answered on the way."""
        while True:
            async with asyncio.timeout(within):
                text = await self.ws.receive_text()
            if json.loads(text)["type"] == "ping":
                await self.ws.send_json({"type": "pong"})
                continue
            return text

    async def expect_silence(self, within: float = 0.3) -> None:
        with contextlib.suppress(TimeoutError):
            message = await self.receive(within)
            raise AssertionError(f"unexpected message {message}")

    async def complete(self, operation_id: str) -> None:
        await self.ws.send_json({"id": operation_id, "type": "complete"})


@contextlib.asynccontextmanager
async def connect(
    http: httpx.AsyncClient,
    *,
    token: str | None = None,
    origin: str = "http://127.0.0.1:8000",
) -> AsyncIterator[GraphQLWebSocket]:
    headers = {"origin": origin}
    async with aconnect_ws("/graphql", http, subprotocols=[PROTOCOL], headers=headers) as ws:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await ws.send_json({"type": "connection_init", "payload": payload})
        client = GraphQLWebSocket(ws)
        ack = await client.receive()
        assert ack["type"] == "connection_ack", ack
        yield client
