"""Portico's graphql-transport-ws handler: strawberry's, with two differences.

- A `subscribe` whose document does not parse gets an `error` message for that operation, as
  one that does not validate does, instead of closing the socket and with it the client's other
  subscriptions.
- Each operation runs `serving` its client (schema.delivery): a subscription can send it a
  `next` payload encoded once for many subscribers, framed here with the operation's id, byte
  for byte the frame strawberry would have sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from graphql import GraphQLError
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

from schema import delivery


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
        with delivery.serving(client):
            await super().run_operation(operation)


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
        except WebSocketDisconnect:
            # The connection is gone and the handler is ending its operations: this one ends
            # as they do, instead of reporting an error nobody can receive.
            raise asyncio.CancelledError from None
