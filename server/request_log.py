"""One log line per HTTP request, and a line when a websocket opens and when it closes, written
by Portico instead of uvicorn's access log (pure ASGI middleware, outermost of Portico's).

Each request gets an id: the client's `X-Request-ID` when it is sane (at most 128 letters,
digits and `._:-`), else a new one. The response carries it back in `X-Request-ID`, and every
log record made while the request is handled carries it (server.logs). The line tells who asked
(the principal's kind), which GraphQL operation ran, the error codes answered, how many SQL
statements were sent and how long it took; the metrics (server.metrics) are read from the same
record. Query strings are never logged, and public links' secrets are cut from paths.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from time import perf_counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resolvers import request_record
from resolvers.request_record import RequestRecord
from server import metrics
from server.access_log import redacted

logger = logging.getLogger("portico.request")

REQUEST_ID_HEADER = b"x-request-id"
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
# Probes and scrapes come every few seconds: their lines are for DEBUG.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_LOGGED = "_portico_logged"


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = perf_counter()
        record = RequestRecord(request_id(scope), scope["method"], redacted(scope["path"]))
        header = (REQUEST_ID_HEADER, record.request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = request_record.begin(record)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            logger.error("Unhandled error in %s %s", record.method, record.path, exc_info=exc)
            with contextlib.suppress(AttributeError):
                setattr(exc, _LOGGED, True)
            if not record.status:
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                    }
                )
                await send({"type": "http.response.body", "body": b"Internal Server Error"})
            raise
        finally:
            seconds = perf_counter() - started
            metrics.observe(record, seconds)
            level = logging.DEBUG if record.path in QUIET_PATHS else logging.INFO
            if logger.isEnabledFor(level):
                logger.log(level, RequestLine(record, seconds))
            request_record.end(token)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = perf_counter()
        record = RequestRecord(request_id(scope), "WEBSOCKET", redacted(scope["path"]))
        header = (REQUEST_ID_HEADER, record.request_id.encode())
        closed: dict[str, Any] = {}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "websocket.accept":
                record.status = 101
                message["headers"] = [*message.get("headers", ()), header]
                logger.info("Websocket %s opened", record.path)
            elif message["type"] == "websocket.close":
                closed.setdefault("code", message.get("code", 1000))
                closed.setdefault("by", "server")
            await send(message)

        async def receive_noting_close() -> Message:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                closed.setdefault("code", message.get("code", 1005))
                closed.setdefault("by", "client")
            return message

        token = request_record.begin(record)
        try:
            await self.app(scope, receive_noting_close, send_with_id)
        finally:
            seconds = perf_counter() - started
            logger.info(
                "Websocket %s %s after %.1f ms: code %s by the %s, principal=%s sql=%d",
                record.path,
                "closed" if record.status == 101 else "refused",
                seconds * 1000,
                closed.get("code", "-"),
                closed.get("by", "server"),
                record.principal,
                record.sql_statements,
            )
            request_record.end(token)


def request_id(scope: Scope) -> str:
    """The client's X-Request-ID if it is sane, else a new one."""
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            if _SANE_REQUEST_ID.fullmatch(value):
                return value.decode()
            break
    return secrets.token_hex(8)


class RequestLine:
    """The request's line: text for the readable format, fields for JSON (server.logs)."""

    __slots__ = ("record", "seconds")

    def __init__(self, record: RequestRecord, seconds: float) -> None:
        self.record = record
        self.seconds = seconds

    def fields(self) -> dict[str, Any]:
        record = self.record
        return {
            "method": record.method,
            "path": record.path,
            "status": record.status,
            "duration_ms": round(self.seconds * 1000, 2),
            "principal": record.principal,
            "operation_type": record.operation_type,
            "operation_name": record.operation_name,
            "error_codes": record.error_codes,
            "sql_statements": record.sql_statements,
        }

    def __str__(self) -> str:
        record = self.record
        operation = ""
        if record.operation_type is not None:
            operation = f" {record.operation_type} {record.operation_name or '(unnamed)'}"
        errors = f" errors={','.join(record.error_codes)}" if record.error_codes else ""
        return (
            f"{record.method} {record.path} {record.status} {self.seconds * 1000:.1f}ms "
            f"{record.principal}{operation} sql={record.sql_statements}{errors}"
        )


class AlreadyLogged(logging.Filter):
    """uvicorn logs an error that escaped the app with a traceback; RequestLog has already
    logged it, with the request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not getattr(error, _LOGGED, False)
