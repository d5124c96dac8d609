"""The websocket operation a subscription serves: the document as its client sent it, and a way
to send it a result already encoded, so that one encoding serves many subscribers.

The graphql-transport-ws handler (server.graphql) sets `serving` around each operation it runs.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from strawberry.types import ExecutionResult


@dataclass(frozen=True)
class ClientOperation:
    query: str
    variables: Mapping[str, Any] | None
    operation_name: str | None
    # Sends a `next` message whose payload is this JSON text (from `encoded_payload`).
    send_payload: Callable[[str], Awaitable[None]]


_serving: ContextVar[ClientOperation | None] = ContextVar("client_operation", default=None)


@contextlib.contextmanager
def serving(operation: ClientOperation) -> Iterator[None]:
    token = _serving.set(operation)
    try:
        yield
    finally:
        _serving.reset(token)


def current() -> ClientOperation:
    operation = _serving.get()
    if operation is None:
        raise RuntimeError("Subscriptions are served over graphql-transport-ws (server.graphql)")
    return operation


def encode_json(data: object) -> str:
    """How Portico's endpoint encodes JSON, websocket messages included (server.graphql): as
    strawberry does by default, compact."""
    return json.dumps(data, separators=(",", ":"))


def encoded_payload(result: ExecutionResult) -> str:
    """A `next` message's payload as strawberry's handler builds it, encoded as the endpoint
    encodes it, so a frame spliced around it (`next_frame`) is byte for byte the one strawberry
    would have sent."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return encode_json(payload)


def next_frame(operation_id: str, payload: str) -> str:
    """encode_json({"id": operation_id, "type": "next", "payload": ...}) around a payload
    already encoded."""
    start, end = next_frame_around(operation_id)
    return start + payload + end


def next_frame_around(operation_id: str) -> tuple[str, str]:
    """What comes before and after the payload in an operation's `next` frames: strawberry's
    keys in its order, encoded as encode_json encodes them."""
    return f'{{"id":{encode_json(operation_id)},"type":"next","payload":', "}"
