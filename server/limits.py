"""Refuse request bodies over the configured size before anything parses them.

Multipart uploads to the GraphQL endpoint may be as large as a file upload plus a little for
the operation and the part headers; everything else keeps the general limit.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.refusals import send_refusal

UPLOAD_OVERHEAD_BYTES = 64 * 1024
MULTIPART = b"multipart/form-data"


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_max_bytes: int = 0,
        upload_path: str | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
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
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge
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

    def _limit_for(self, path: str, content_type: bytes) -> int:
        if path == self.upload_path and content_type.lower().startswith(MULTIPART):
            return self.upload_max_bytes
        return self.max_bytes


async def _too_large(send: Send, max_bytes: int) -> None:
    await send_refusal(
        send, 413, "PAYLOAD_TOO_LARGE", f"Request body larger than {max_bytes} bytes."
    )
