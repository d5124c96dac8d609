"""Refuse request bodies over the configured size, or slower to arrive than the configured
time, before anything parses them.

Multipart uploads to the GraphQL endpoint may be as large as a file upload plus a little for
the operation and the part headers; everything else keeps the general limit. The time limit
counts from the start of the request, so a client trickling its body a byte at a time holds a
connection (and delays a shutdown) for that long at most.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.refusals import send_refusal

UPLOAD_OVERHEAD_BYTES = 64 * 1024
MULTIPART = b"multipart/form-data"


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


class BodyLimits:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        deadline_seconds: float,
        upload_max_bytes: int = 0,
        upload_path: str | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.deadline_seconds = deadline_seconds
        self.upload_max_bytes = max(max_bytes, upload_max_bytes)
        self.upload_path = upload_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        max_bytes = self._limit_for(scope["path"], headers.get(b"content-type", b""))
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await _too_large(send, max_bytes)
            return
        deadline = asyncio.get_running_loop().time() + self.deadline_seconds
        received = 0
        body_complete = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, body_complete
            if body_complete:  # what follows is the client hanging up, whenever it does
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge
                body_complete = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await _too_large(send, max_bytes)
        except BodyTooSlow:
            if not response_started:
                await _too_slow(send, self.deadline_seconds)

    def _limit_for(self, path: str, content_type: bytes) -> int:
        if path == self.upload_path and content_type.lower().startswith(MULTIPART):
            return self.upload_max_bytes
        return self.max_bytes


async def _too_large(send: Send, max_bytes: int) -> None:
    await send_refusal(
        send, 413, "PAYLOAD_TOO_LARGE", f"Request body larger than {max_bytes} bytes."
    )


async def _too_slow(send: Send, deadline_seconds: float) -> None:
    # The rest of the body may still be on its way: this connection cannot carry another request.
    await send_refusal(
        send,
        408,
        "REQUEST_TIMEOUT",
        f"The request body did not arrive within {deadline_seconds:g} seconds.",
        {"Connection": "close"},
    )
