"""Answers given at the edge, before or instead of any route, in GraphQL's error shape:
`{"errors": [{"message": ..., "extensions": {"code": ...}}]}`."""

from __future__ import annotations

import json

from starlette.types import Send

from resolvers import request_record


async def send_refusal(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    request_record.note_error_codes([code])
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    extra = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
