"""Tortoise configuration shared by the server, the CLI and the `tortoise` migration tool."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import tortoise.backends.base.client
from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url

from resolvers import request_record
from server.settings import Settings

MODEL_MODULES = [
    "models.organizations",
    "models.staff",
    "models.customers",
    "models.api_keys",
    "models.sessions",
    "models.security",
    "models.activity",
    "models.outbox",
    "models.preferences",
    "models.tokens",
    "models.mfa",
    "models.documents",
    "models.projects",
    "models.subscriptions",
    "models.payments",
    "models.sharing",
    "models.comments",
    "models.files",
    "models.reviews",
    "models.persisted_queries",
]


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(database_url: str) -> dict[str, Any]:
    connection = expand_db_url(database_url)
    if connection["engine"] == "tortoise.backends.sqlite":
        # Deleted and overwritten values are zeroed, not left in the file's free space: an
        # email body dropped after sending is gone from the file too. Some builds of SQLite
        # do this by default, upstream's does not.
        connection["credentials"].setdefault("secure_delete", "on")
    elif connection["engine"] == "tortoise.backends.asyncpg":
        connection["credentials"]["reset"] = _keep_session
    return connection


async def _keep_session(connection: object) -> None:
    """asyncpg resets a connection it takes back after every statement: one more round trip
    each. Portico sets no session state (no SET, LISTEN, cursors or session advisory locks;
    its locks are transaction-scoped), and asyncpg still rolls back an open transaction."""


def ensure_sqlite_directory(database_url: str) -> None:
    if database_url.startswith("sqlite://") and ":memory:" not in database_url:
        Path(database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)


class CountingLog:
    """Tortoise's client logger, as each client (and each transaction it opens) holds it: every
    statement a client sends passes through its `debug`, whether or not DEBUG is on, so the
    request's record counts it there (server.request_log), for the price of an addition."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        # Statements are logged as "%s: %s" (with their values) or bare (scripts); connecting
        # and closing say so with arguments of their own.
        if msg == "%s: %s" or not args:
            request_record.count_statement()
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug(msg, *args, stacklevel=2, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.log, name)


def _count_statements() -> None:
    base = tortoise.backends.base.client
    if not isinstance(base.db_client_logger, CountingLog):
        # Clients made from now on (Tortoise makes them lazily) take it from here...
        base.db_client_logger = CountingLog(base.db_client_logger)  # type: ignore[assignment]
    for client in connections.all():
        # ...and those already made get it too.
        if not isinstance(client.log, CountingLog):
            client.log = CountingLog(client.log)


async def open_database(settings: Settings) -> None:
    ensure_sqlite_directory(settings.database_url)
    # The lifespan runs in its own task; requests only see the ORM through the global fallback.
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    _count_statements()


async def close_database() -> None:
    await Tortoise.close_connections()


# Read by `tortoise makemigrations` / `tortoise migrate` through [tool.tortoise] in pyproject.
TORTOISE_ORM = tortoise_config(Settings.database_url_from_env())
