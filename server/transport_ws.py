"""Portico's graphql-transport-ws handler: strawberry's, with two differences.

- A `subscribe` whose document does not parse gets an `error` message for that operation, as
  one that does not validate does, instead of closing the socket and with it the client's other
  subscriptions.
- Each operation runs `serving` its client (schema.delivery): a subscription can send it a
  `next` payload encoded once for many subscribers, framed here with the operation's id, byte
  for byte the frame strawberry would have sent.

Running operations and the events sent to them are counted (integrations.metrics), and each
operation's start and end get a DEBUG line carrying the connection's request id.
"""

from __future__ import annotations

import asyncio
import logging
from time import perf_counter
from typing import Any

from graphql import GraphQLError
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

from integrations import metrics
from schema import delivery

logger = logging.getLogger("portico.subscriptions")


class TransportWSHandler(BaseGraphQLTransportWSHandler):
    @staticmethod
    def _get_pre_execution_close_reason(error: GraphQLError) -> str | None:
        return None

    async def run_operation(self, operation: Operation[Any, Any]) -> None:
        client = delivery.ClientOperation(
            query=operation.query,
            variables=operation.variables,
            operation_name=operation.operation_name,
            send_payload=_PayloadSender(self, operation),
        )
        name = (operation.operation_name or "(unnamed)")[:100]
        logger.debug("Operation %s started: %s", operation.id[:100], name)
        started = perf_counter()
        metrics.SUBSCRIPTIONS_OPEN.inc()
        try:
            with delivery.serving(client):
                await super().run_operation(operation)
        finally:
            metrics.SUBSCRIPTIONS_OPEN.dec()
            logger.debug(
                "Operation %s ended after %.1f ms: %s",
                operation.id[:100],
                (perf_counter() - started) * 1000,
                name,
            )

    async def send_message(self, message: Any) -> None:
        if message["type"] == "next":
            metrics.SUBSCRIPTION_EVENTS.inc()
        await super().send_message(message)


class _PayloadSender:
    def __init__(self, handler: TransportWSHandler, operation: Operation[Any, Any]) -> None:
        self.operation = operation
        # Starlette's socket, under strawberry's adapter: the frame is already text.
        self.websocket: WebSocket = handler.websocket.ws  # type: ignore[attr-defined]
        self.frames = delivery.NextFrames(operation.id)

    async def __call__(self, payload: delivery.EncodedPayload) -> None:
        if self.operation.completed:
            return
        try:
            await self.websocket.send_text(self.frames.around(payload))
            metrics.SUBSCRIPTION_EVENTS.inc()
        except WebSocketDisconnect:
            # The connection is gone and the handler is ending its operations: this one ends
            # as they do, instead of reporting an error nobody can receive.
            raise asyncio.CancelledError from None
