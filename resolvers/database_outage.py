"""Which failures mean the database cannot be reached right now, as opposed to a fault in
Portico: the one place that tells them apart, so that such a request is answered "try again
later" (server.unavailable) instead of with an internal error and a traceback."""

from __future__ import annotations

from typing import Final

import asyncpg
from tortoise.exceptions import DBConnectionError

SERVICE_UNAVAILABLE_MESSAGE: Final = "The service is briefly unavailable. Please try again shortly."

_UNREACHABLE: Final = (
    DBConnectionError,
    asyncpg.PostgresConnectionError,  # refused, failed, or gone in the middle of a query
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
# Network errors (refused, reset, unreachable, timed out, name not found) count when the
# database driver met them, not when, say, a mail server did.
_DRIVER_MODULES: Final = ("asyncpg", "tortoise.backends")


def is_database_unreachable(error: BaseException | None) -> bool:
    """Whether `error`, or an error it was raised from or while handling, says the database
    cannot be reached (e.g. Tortoise's OperationalError for a connection that was lost)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, _UNREACHABLE):
            return True
        if isinstance(error, OSError) and _raised_in_driver(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def _raised_in_driver(error: BaseException) -> bool:
    frame = error.__traceback__
    while frame is not None:
        if frame.tb_frame.f_globals.get("__name__", "").startswith(_DRIVER_MODULES):
            return True
        frame = frame.tb_next
    return False
