"""The least a server can do to push one event to N websocket subscribers: the baseline of
bench.activity_fanout. No Portico code: Starlette under uvicorn, as `portico serve` runs.

It speaks just enough graphql-transport-ws for the bench's clients (connection_init, ping,
subscribe, complete). `POST /publish?channel=C&seq=N` builds one `next` payload shaped like
Portico's `portalActivity` event at position N (cursor, kind, occurredAt), encodes it once and
sends it to every subscriber of channel C in turn, each frame with its subscription's id.
    .venv/bin/python -m uvicorn bench.minimal_broadcaster:app --port 8001
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

# channel -> {socket: frame start, id included}
subscribers: defaultdict[str, dict[WebSocket, str]] = defaultdict(dict)


async def graphql(websocket: WebSocket) -> None:
    channel = websocket.query_params.get("channel", "")
    await websocket.accept(subprotocol="graphql-transport-ws")
    try:
        while True:
            message = json.loads(await websocket.receive_text())
            kind = message.get("type")
            if kind == "connection_init":
                await websocket.send_text('{"type":"connection_ack"}')
            elif kind == "ping":
                await websocket.send_text('{"type":"pong"}')
            elif kind == "subscribe":
                operation_id = json.dumps(message["id"])
                subscribers[channel][websocket] = f'{{"id":{operation_id},"type":"next",'
            elif kind == "complete":
                subscribers[channel].pop(websocket, None)
    except WebSocketDisconnect:
        pass
    finally:
        subscribers[channel].pop(websocket, None)


async def publish(request: Request) -> Response:
    channel = request.query_params["channel"]
    seq = int(request.query_params["seq"])
    cursor = base64.urlsafe_b64encode(json.dumps([seq, seq]).encode()).decode().rstrip("=")
    node = {"kind": "PREFERENCES_CHANGED", "occurredAt": datetime.now(UTC).isoformat()}
    # Encoded as compactly as Portico encodes, so both send the same number of bytes.
    payload = json.dumps(
        {"data": {"portalActivity": {"cursor": cursor, "node": node}}}, separators=(",", ":")
    )
    for websocket, frame_start in tuple(subscribers[channel].items()):
        try:
            await websocket.send_text(f'{frame_start}"payload":{payload}}}')
        except (WebSocketDisconnect, RuntimeError):
            subscribers[channel].pop(websocket, None)
    return Response(status_code=204)


async def ready(request: Request) -> Response:
    return Response(status_code=200)


app = Starlette(
    routes=[
        WebSocketRoute("/graphql", graphql),
        Route("/publish", publish, methods=["POST"]),
        Route("/readyz", ready),
    ]
)
