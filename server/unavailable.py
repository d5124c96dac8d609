"""Requests the database cannot serve for now (resolvers.database_outage says which failures
mean that): the client is told to come back later, the log gets one line.

Over HTTP the answer is 503 with Retry-After, in GraphQL's error shape, code
SERVICE_UNAVAILABLE, whichever route was asked: a GraphQL operation that met the outage is
answered as a whole (server.graphql raises it out of its result). A websocket is closed with
1013, "try again later". An outage is not a fault in Portico, so no traceback is logged, nor by
asyncpg while it reconnects its pool in the background.
"""

from __future__ import annotations

import logging
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resolvers.database_outage import SERVICE_UNAVAILABLE_MESSAGE, is_database_unreachable
from server.access_log import redacted
from server.refusals import send_refusal

logger = logging.getLogger("portico.unavailable")

RETRY_AFTER_SECONDS: Final = 5
TRY_AGAIN_LATER: Final = 1013  # websocket close code


class DatabaseOutages:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        answered = False

        async def watched_send(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] in {"http.response.start", "websocket.close"}
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:
            if not is_database_unreachable(exc):
                raise
            logger.warning(
                "Database unreachable (%s): %s %s told to try again later",
                describe(exc),
                scope.get("method", "WEBSOCKET"),
                redacted(scope["path"]),
            )
            if answered:
                return  # too late to say so; the server ends the response
            if scope["type"] == "websocket":
                await send(
                    {
                        "type": "websocket.close",
                        "code": TRY_AGAIN_LATER,
                        "reason": "Try again later.",
                    }
                )
                return
            await send_refusal(
                send,
                503,
                "SERVICE_UNAVAILABLE",
                SERVICE_UNAVAILABLE_MESSAGE,
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )


class ConciseOutageRecords(logging.Filter):
    """asyncpg logs each failed attempt to refill its pool with a traceback; during an outage
    that is expected, so the record keeps its message and the error's one-line summary."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and is_database_unreachable(error):
            record.msg = f"{record.getMessage()} ({describe(error)})"
            record.args = None
            record.exc_info = record.exc_text = None
        return True


def install_log_filter() -> None:
    pool_log = logging.getLogger("asyncpg.pool")
    if not any(isinstance(each, ConciseOutageRecords) for each in pool_log.filters):
        pool_log.addFilter(ConciseOutageRecords())


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
