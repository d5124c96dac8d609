"""The hand-written baselines' own database access: a driver pool of their own, never Portico's
or Tortoise's connection, the same size as Portico's (asyncpg with at most 5 connections, as
Tortoise's default; one aiosqlite connection on SQLite, as Tortoise keeps, opened with its
pragmas). Statements are written with ? placeholders and numbered for PostgreSQL. Each database
counts the statements and writes it runs (transaction control aside), for the benchmarks'
SQL-per-request figures.

Imports nothing of Portico: bench.raw_portal runs on it in a process of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

import aiosqlite
import asyncpg

Row = Mapping[str, Any]
POOL_SIZE = 5


class Connection(Protocol):
    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]: ...

    async def execute(self, sql: str, *args: Any) -> None: ...


class Database(Connection, Protocol):
    statements: int
    writes: int

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Connection]: ...

    async def close(self) -> None: ...


@functools.cache
def numbered(sql: str) -> str:
    """PostgreSQL's $1, $2 ... for the ? placeholders the statements are written with."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


@functools.cache
def is_write(sql: str) -> bool:
    return sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))


class Counted:
    statements = 0
    writes = 0

    def count(self, sql: str) -> None:
        self.statements += 1
        self.writes += is_write(sql)


class Postgres(Counted):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def open(cls, url: str) -> Postgres:
        return cls(await asyncpg.create_pool(url, min_size=1, max_size=POOL_SIZE))

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        self.count(sql)
        return await self.pool.fetch(numbered(sql), *args)

    async def execute(self, sql: str, *args: Any) -> None:
        self.count(sql)
        await self.pool.execute(numbered(sql), *args)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.pool.acquire() as connection, connection.transaction():
            yield PostgresTransaction(connection, self)

    async def close(self) -> None:
        await self.pool.close()


class PostgresTransaction:
    def __init__(self, connection: asyncpg.Connection, database: Postgres) -> None:
        self.connection = connection
        self.database = database

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        self.database.count(sql)
        return await self.connection.fetch(numbered(sql), *args)

    async def execute(self, sql: str, *args: Any) -> None:
        self.database.count(sql)
        await self.connection.execute(numbered(sql), *args)


def sqlite_value(value: Any) -> Any:
    """Values as Tortoise writes them to SQLite: ISO 8601 dates and times, decimals as text."""
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class Sqlite(Counted):
    """One connection: a transaction holds it (the lock) until it ends, so that no other
    request's statement lands inside it."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection
        self.lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str) -> Sqlite:
        connection = await aiosqlite.connect(path, isolation_level=None)
        connection.row_factory = sqlite3.Row
        for pragma in ("journal_mode=WAL", "journal_size_limit=16384", "foreign_keys=ON"):
            await connection.execute(f"PRAGMA {pragma}")  # as Tortoise opens it
        return cls(connection)

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        async with self.lock:
            return await self.fetch_unlocked(sql, *args)

    async def execute(self, sql: str, *args: Any) -> None:
        async with self.lock:
            await self.execute_unlocked(sql, *args)

    async def fetch_unlocked(self, sql: str, *args: Any) -> Sequence[Row]:
        self.count(sql)
        async with self.connection.execute(sql, [sqlite_value(a) for a in args]) as cursor:
            return await cursor.fetchall()  # type: ignore[return-value]

    async def execute_unlocked(self, sql: str, *args: Any) -> None:
        self.count(sql)
        await self.connection.execute(sql, [sqlite_value(a) for a in args])

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.lock:
            # The write lock up front: the transaction reads, then writes what it read.
            await self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTransaction(self)
            except BaseException:
                await self.connection.execute("ROLLBACK")
                raise
            await self.connection.execute("COMMIT")

    async def close(self) -> None:
        await self.connection.close()


class SqliteTransaction:
    def __init__(self, database: Sqlite) -> None:
        self.database = database

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        return await self.database.fetch_unlocked(sql, *args)

    async def execute(self, sql: str, *args: Any) -> None:
        await self.database.execute_unlocked(sql, *args)


async def open_database(url: str) -> Database:
    """A Portico database URL (sqlite://path or postgres://...), options after ? left out."""
    url = url.split("?", 1)[0]
    if url.startswith("sqlite://"):
        return await Sqlite.open(url.removeprefix("sqlite://"))
    return await Postgres.open(url)
