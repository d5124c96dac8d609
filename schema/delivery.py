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

import orjson
from strawberry.types import ExecutionResult


@dataclass(frozen=True)
class ClientOperation:
    query: str
    variables: Mapping[str, Any] | None
    operation_name: str | None
    # Sends a `next` message with this payload (from `encoded_payload`).
    send_payload: Callable[[EncodedPayload], Awaitable[None]]


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
    """How Portico's endpoint writes JSON, responses and websocket messages alike
    (server.graphql). orjson writes a page of documents ten times faster than the json module;
    text comes out as UTF-8 rather than \\u escapes. A str, since websocket messages must be text
    frames. What orjson refuses (a lone surrogate someone stored) is still written, the way the
    json module writes it."""
    try:
        return orjson.dumps(data).decode()
    except TypeError:
        return _by_json_module(data)


def _by_json_module(data: object) -> str:
    return json.dumps(data, separators=(",", ":"))


@dataclass(frozen=True)
class EncodedPayload:
    """A `next` message's payload, written once for many subscribers, and by which encoder: the
    frame around it must come from the same one, as when encode_json writes the whole frame."""

    text: str
    by_orjson: bool


def encoded_payload(result: ExecutionResult) -> EncodedPayload:
    """The payload strawberry's handler builds for a `next` message, encoded as encode_json
    would encode it inside the frame."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    try:
        return EncodedPayload(orjson.dumps(payload).decode(), by_orjson=True)
    except TypeError:
        return EncodedPayload(_by_json_module(payload), by_orjson=False)


class NextFrames:
    """An operation's `next` frames around payloads encoded once: byte for byte what
    encode_json writes for {"id": operation_id, "type": "next", "payload": ...}, whose keys
    strawberry puts in this order. Both encoders write no spaces, so the frame is its parts."""

    def __init__(self, operation_id: str) -> None:
        self.operation_id = operation_id
        self._json_module_start = f'{{"id":{_by_json_module(operation_id)},"type":"next","payload":'
        try:
            id_text = orjson.dumps(operation_id).decode()
        except TypeError:
            self._orjson_start: str | None = None
        else:
            self._orjson_start = f'{{"id":{id_text},"type":"next","payload":'

    def around(self, payload: EncodedPayload) -> str:
        if not payload.by_orjson:
            return self._json_module_start + payload.text + "}"
        if self._orjson_start is not None:
            return self._orjson_start + payload.text + "}"
        # orjson writes the payload but not this id, so encode_json writes the whole frame with
        # the json module; it takes a client choosing an id with a lone surrogate.
        frame = {"id": self.operation_id, "type": "next", "payload": json.loads(payload.text)}
        return _by_json_module(frame)
