"""Requests Portico cannot serve now are told to come back later, and the log gets one line
for each, instead of a 500 and a traceback:

- the database is out of reach (resolvers.database_outage says which failures mean that),
  whichever route was asked; a GraphQL operation that met the outage is answered as a whole
  (server.graphql raises it out of its result). A websocket is closed with 1013, "try again
  later";
- the server is shutting down and the request was still running when the graceful-shutdown
  timeout (PORTICO_SHUTDOWN_TIMEOUT_SECONDS) ran out, so uvicorn cancelled it.

Over HTTP the answer is 503 with Retry-After, in GraphQL's error shape, code
SERVICE_UNAVAILABLE. Neither is a fault in Portico, so neither logs a traceback, nor does
asyncpg while it reconnects its pool in the background.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resolvers.database_outage import SERVICE_UNAVAILABLE_MESSAGE, is_database_unreachable
from server.access_log import redacted
from server.refusals import send_refusal

logger = logging.getLogger("portico.unavailable")

RETRY_AFTER_SECONDS: Final = 5
TRY_AGAIN_LATER: Final = 1013  # websocket close code


class ServiceUnavailable:
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

        request = f"{scope.get('method', 'WEBSOCKET')} {redacted(scope['path'])}"
        try:
            await self.app(scope, receive, watched_send)
        except asyncio.CancelledError:
            # Only the graceful-shutdown timeout cancels a request (websockets were closed
            # with 1012 when the shutdown began).
            logger.warning("Shutdown: %s cut short", request)
            if scope["type"] == "http" and not answered:
                await _try_again_later(
                    send, "The server is restarting. Please try again.", {"Connection": "close"}
                )
            raise
        except Exception as exc:
            if not is_database_unreachable(exc):
                raise
            logger.warning(
                "Database unreachable (%s): %s told to try again later", describe(exc), request
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
            await _try_again_later(send, SERVICE_UNAVAILABLE_MESSAGE)


async def _try_again_later(send: Send, message: str, headers: dict[str, str] | None = None) -> None:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), **(headers or {})}
    await send_refusal(send, 503, "SERVICE_UNAVAILABLE", message, headers)


class OutagesInOneLine(logging.Filter):
    """asyncpg logs each failed attempt to refill its pool with a traceback: during an outage
    the record keeps its message and the error's one-line summary instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and is_database_unreachable(error):
            record.msg = f"{record.getMessage()} ({describe(error)})"
            record.args = None
            record.exc_info = record.exc_text = None
        return True


class CutShortAlreadyLogged(logging.Filter):
    """uvicorn logs a request it cancelled as a crash, with a traceback; ServiceUnavailable
    has already said it in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


def install_log_filters() -> None:
    for name, kind in (
        ("asyncpg.pool", OutagesInOneLine),
        ("uvicorn.error", CutShortAlreadyLogged),
    ):
        log = logging.getLogger(name)
        if not any(isinstance(each, kind) for each in log.filters):
            log.addFilter(kind())


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
