"""`portico migrate`: bringing a database to the models' schema.

A database without tables gets the schema in one step, made from the models and recorded as
every migration applied, as Django applies a squashed migration: replaying the migrations one by
one costs about ten seconds of CPU (Tortoise re-renders its whole model state for every
operation), and their data migrations have no rows to change. tests/test_migrations.py holds the
two ways to the same tables, columns, constraints and indexes on both databases.

Any other database gets the migrations it lacks, one by one. On SQLite, Tortoise alters a table
by copying it into a new one, which drops the indexes and the unique constraints over several
columns the table had; once the migrations are applied, those the models declare and the
database lacks are made again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.migrations.api.migrate import migrate as apply_migrations
from tortoise.migrations.executor import MigrationExecutor
from tortoise.transactions import in_transaction
from tortoise.utils import generate_schema_for_client, get_schema_sql

from server.database import ensure_sqlite_directory, tortoise_config

# Where Tortoise records the migrations applied (tortoise.migrations.recorder).
RECORDER_TABLE = "tortoise_migrations"


class DuplicateRows(Exception):
    """Rows of an SQLite database share values that a unique constraint it lost (see above)
    keeps apart: the constraint cannot be made again until someone removes the duplicates."""


@dataclass(frozen=True)
class Migrated:
    # The migrations recorded as applied by this run, in order.
    applied: list[str]
    # Whether the schema was made from the models in one step (a database without tables).
    created: bool


async def migrate(database_url: str) -> Migrated:
    config = tortoise_config(database_url)
    ensure_sqlite_directory(database_url)
    try:
        await Tortoise.init(config=config)
        client = connections.get("default")
        if await _is_empty(client):
            return Migrated(await _create(client, config["apps"]), created=True)
        await Tortoise.close_connections()
        applied = await _apply(config)
        if client.capabilities.dialect == "sqlite":
            # Tortoise's migrate left the models initialized, and reconnects on demand.
            await _restore_lost_indexes(connections.get("default"))
        return Migrated(applied, created=False)
    finally:
        await Tortoise.close_connections()


async def _is_empty(client: BaseDBAsyncClient) -> bool:
    """No table but, perhaps, Tortoise's record of migrations with none recorded (a first
    `migrate` that failed in its first migration)."""
    if client.capabilities.dialect == "sqlite":
        listing = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    else:
        listing = "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
    _, rows = await client.execute_query(listing)
    tables = {row["name"] for row in rows}
    if tables - {RECORDER_TABLE}:
        return False
    if not tables:
        return True
    counting = f'SELECT count(*) AS n FROM "{RECORDER_TABLE}"'  # noqa: S608 - Tortoise's table
    _, [count] = await client.execute_query(counting)
    return count["n"] == 0


async def _create(client: BaseDBAsyncClient, apps: dict[str, Any]) -> list[str]:
    async def create_and_record(connection: BaseDBAsyncClient) -> list[str]:
        await generate_schema_for_client(connection, safe=False)
        executor = MigrationExecutor(connection, apps)
        # Before `migrate` reads the record: on PostgreSQL, reading a table that does not exist
        # yet would abort the transaction.
        await executor.recorder.ensure_schema(executor._schema_editor(atomic=False))
        await executor.migrate(fake=True)
        return [key.name for key in await executor.recorder.applied_migrations()]

    if client.capabilities.dialect == "sqlite":
        # SQLite runs a script only outside a transaction: a first `migrate` cut short leaves a
        # new database file to delete.
        return await create_and_record(client)
    async with in_transaction("default") as connection:
        return await create_and_record(connection)


async def _apply(config: dict[str, Any]) -> list[str]:
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(name)

    await apply_migrations(config=config, progress=progress)
    return applied


async def _restore_lost_indexes(client: BaseDBAsyncClient) -> None:
    """Makes each index and unique constraint of the models' schema that the SQLite database
    lacks (see above), as a unique index where the schema has a table constraint."""
    wanted = sqlite3.connect(":memory:")
    try:
        wanted.executescript(get_schema_sql(client, safe=False))
        for table, unique, columns, sql in _sqlite_indexes(wanted):
            if await _has_index(client, table, unique, columns):
                continue
            try:
                await client.execute_script(sql or _unique_index_sql(client, table, columns))
            except IntegrityError as error:
                raise DuplicateRows(
                    f"rows of {table} share their {', '.join(columns)}, which must be unique; "
                    "remove the duplicates and run `portico migrate` again"
                ) from error
    finally:
        wanted.close()


def _sqlite_indexes(database: sqlite3.Connection) -> list[tuple[str, bool, list[str], str | None]]:
    """Each index of each table: table, unique, columns, and the statement that made it (None
    for those SQLite made for a constraint)."""
    found = []
    tables = database.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    for (table,) in tables:
        for _, name, unique, origin, _ in database.execute(f'PRAGMA index_list("{table}")'):
            if origin == "pk":
                continue
            columns = [row[2] for row in database.execute(f'PRAGMA index_info("{name}")')]
            [(sql,)] = database.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,))
            found.append((table, bool(unique), columns, sql))
    return found


async def _has_index(
    client: BaseDBAsyncClient, table: str, unique: bool, columns: list[str]
) -> bool:
    _, indexes = await client.execute_query(f'PRAGMA index_list("{table}")')
    for index in indexes:
        if unique and not index["unique"]:
            continue
        _, info = await client.execute_query(f'PRAGMA index_info("{index["name"]}")')
        if [row["name"] for row in info] == columns:
            return True
    return False


def _unique_index_sql(client: BaseDBAsyncClient, table: str, columns: list[str]) -> str:
    generator = client.schema_generator(client)
    # The name Tortoise gives the constraint, as its migrations find it again.
    name = generator._get_index_name("uid", table, columns)
    quoted = ", ".join(f'"{column}"' for column in columns)
    return f'CREATE UNIQUE INDEX "{name}" ON "{table}" ({quoted})'
