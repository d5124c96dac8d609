"""The migrated databases of a test run.

A run migrates each backend once, into a template (`portico migrate` on an empty database: the
schema in one step, server.migrations), and every pytest-xdist worker and every test that wants a
migrated database of its own starts from a copy: a file copy for SQLite, `CREATE DATABASE ...
TEMPLATE` on the run's one PostgreSQL server, cheaper still than a process that migrates.

The run's root process (xdist's controller, or the only process) makes a directory that its
workers find through `RUN_DIRECTORY`; the first process that needs a template builds the missing
ones there under a lock, with `portico migrate` for each backend at once; the root process stops
the server and removes the directory at the end.

The tests that start `portico serve` on the demo organization copy an installation with the demo
loaded, made once per run and backend under a lock in the same way (`DemoTemplates`): `portico
demo` on a copy of the migrated template, in a var directory of its own whose files (the secret
key that sealed the demo's emails; SQLite's database) the copies take along.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient

from tests import launcher
from tests.services import (
    POSTGRES,
    copy_database,
    create_database,
    missing,
    postgres_cluster_at,
    start_postgres,
)

RUN_DIRECTORY = "PORTICO_TEST_RUN_DIR"
TEMPLATE_DATABASE = "portico_template"
DEMO_DATABASE = "portico_demo_template"
BACKENDS = ("sqlite", "postgres")
ROOT = Path(__file__).resolve().parent.parent
# Durability settings, not behaviour: the tests' PostgreSQL server runs with fsync off too. With
# SQLite's default, emptying the tables after a test waited for the disk 40 times.
SQLITE_TEST_OPTIONS = "?synchronous=OFF"
# The cheapest argon2 the settings accept, for the `portico` processes the tests start: the
# demo's passwords are hashed with it, and the e2e tests' logins check them.
FAST_HASHING = {"PORTICO_ARGON2_TIME_COST": "1", "PORTICO_ARGON2_MEMORY_KIB": "32"}


def begin_run() -> Path:
    run_dir = Path(tempfile.mkdtemp(prefix="portico-tests-"))
    os.environ[RUN_DIRECTORY] = str(run_dir)
    return run_dir


def end_run(run_dir: Path) -> None:
    server = run_dir / "postgres.json"
    if server.exists():
        postgres_cluster_at(**json.loads(server.read_text())).remove()
    shutil.rmtree(run_dir, ignore_errors=True)


def worker_name() -> str:
    """This process's name in the run, for what it must not share with the other workers."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@dataclass(frozen=True)
class Templates:
    sqlite: Path | None
    # The server's maintenance database; None when PostgreSQL is not installed.
    postgres_server: str | None

    def sqlite_copy(self, target: Path) -> str:
        """A migrated SQLite database at `target`; returns its URL."""
        assert self.sqlite is not None
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.sqlite, target)
        return f"sqlite://{target}"

    async def postgres_copy(self, name: str) -> str:
        """A migrated PostgreSQL database of that name, made anew; returns its URL."""
        return await create_database(self.server_url(), name, template=TEMPLATE_DATABASE)

    def server_url(self) -> str:
        if self.postgres_server is None:
            missing(POSTGRES)
        return self.postgres_server


def templates(backends: Iterable[str]) -> Templates:
    """The run's templates, built first for whichever of `backends` are still missing."""
    run_dir = Path(os.environ[RUN_DIRECTORY])
    record = run_dir / "templates.json"
    with _locked(run_dir / "templates.lock"):
        built = json.loads(record.read_text()) if record.exists() else {}
        wanted = [backend for backend in BACKENDS if backend in backends and backend not in built]
        if wanted:
            built |= _build(run_dir, wanted)
            record.write_text(json.dumps(built))
    sqlite = built.get("sqlite")
    return Templates(Path(sqlite) if sqlite else None, built.get("postgres"))


@dataclass(frozen=True)
class DemoTemplates:
    """Installations with the demo loaded, one per backend, each loaded by the first process of
    the run that asks for it: the var directory `portico demo` ran with (SQLite's database is in
    it; PostgreSQL's is `DEMO_DATABASE` on the run's server)."""

    run_dir: Path

    def sqlite_install(self, var_dir: Path) -> None:
        """The demo installation on SQLite in `var_dir`, its default database included."""
        shutil.copytree(self._var_dir("sqlite"), var_dir, dirs_exist_ok=True)

    def postgres_install(self, var_dir: Path, name: str) -> str:
        """The demo installation's files in `var_dir` and a copy of its database of that name,
        made anew; returns the database's URL. (Not a coroutine: it may wait for `portico demo`
        to load the demo first.)"""
        server = templates(["postgres"]).server_url()
        shutil.copytree(self._var_dir("postgres"), var_dir, dirs_exist_ok=True)
        return asyncio.run(create_database(server, name, template=DEMO_DATABASE))

    def postgres_install_into(self, var_dir: Path, database_url: str) -> None:
        """As `postgres_install`, into the empty database at `database_url` on a server of its
        own (a cluster a test stops and starts), where a template cannot reach."""
        server = templates(["postgres"]).server_url()
        shutil.copytree(self._var_dir("postgres"), var_dir, dirs_exist_ok=True)
        copy_database(f"{server.rsplit('/', 1)[0]}/{DEMO_DATABASE}", database_url)

    def _var_dir(self, backend: str) -> Path:
        record = self.run_dir / "demo.json"
        with _locked(self.run_dir / "demo.lock"):
            loaded = json.loads(record.read_text()) if record.exists() else {}
            if backend not in loaded:
                loaded[backend] = str(_load_demo(self.run_dir, backend))
                record.write_text(json.dumps(loaded))
        return Path(loaded[backend])


def demo_templates() -> DemoTemplates:
    return DemoTemplates(Path(os.environ[RUN_DIRECTORY]))


def made_once(name: str, make: Callable[[], Any]) -> Any:
    """What `make()` returns (as JSON), made by the run's first process that asks for it under
    that name and read by the others."""
    run_dir = Path(os.environ[RUN_DIRECTORY])
    record = run_dir / f"{name}.json"
    with _locked(run_dir / f"{name}.lock"):
        if not record.exists():
            record.write_text(json.dumps(make()))
    return json.loads(record.read_text())


def portico_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a `portico` process the tests start: Portico installed in `var_dir`,
    hashing with FAST_HASHING, and none of the runner's database, Redis or mail."""
    env = {**os.environ, **FAST_HASHING, "PORTICO_VAR_DIR": str(var_dir)}
    for name in ("DATABASE_URL", "REDIS_URL", "PORTICO_MAIL_URL"):
        env.pop(name, None)
    env.update(overrides)
    return env


def _load_demo(run_dir: Path, backend: str) -> Path:
    """`portico demo` on a copy of the migrated template, in a var directory of its own."""
    migrated = templates([backend])
    var_dir = run_dir / f"demo-{backend}"
    var_dir.mkdir(exist_ok=True)  # a failed attempt may have left it
    env = portico_env(var_dir)
    if backend == "sqlite":
        migrated.sqlite_copy(var_dir / "portico.sqlite3")  # the var directory's default
    else:
        migrated.server_url()  # fails or skips without PostgreSQL
        env["DATABASE_URL"] = asyncio.run(migrated.postgres_copy(DEMO_DATABASE))
    process = _portico("demo", env)
    output, _ = process.communicate()
    if process.returncode != 0 or "Loaded the demo organization." not in output:
        raise RuntimeError(f"portico demo failed:\n{output}")
    return var_dir


def _build(run_dir: Path, backends: list[str]) -> dict[str, str | None]:
    built: dict[str, str | None] = {}
    targets: list[str] = []
    if "sqlite" in backends:
        built["sqlite"] = str(run_dir / "template.sqlite3")
        targets.append(f"sqlite://{built['sqlite']}{SQLITE_TEST_OPTIONS}")
    if "postgres" in backends:
        built["postgres"] = _start_postgres(run_dir)
        if built["postgres"] is not None:
            targets.append(asyncio.run(create_database(built["postgres"], TEMPLATE_DATABASE)))
    # Side by side: each is a process of its own.
    env = {**os.environ, "PORTICO_VAR_DIR": str(run_dir / "var")}
    migrations = [_portico("migrate", {**env, "DATABASE_URL": url}) for url in targets]
    for process in migrations:
        output, _ = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"portico migrate failed:\n{output}")
    return built


def _start_postgres(run_dir: Path) -> str | None:
    server = start_postgres()
    if server is None:
        return None
    record = {"root": str(server.root), "port": server.port}
    (run_dir / "postgres.json").write_text(json.dumps(record))
    return server.url


def _portico(command: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return launcher.popen(
        [command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Snapshot:
    """Every row of the database at one moment, kept beside the tables in the database itself,
    so that putting it back is one round trip on the server, whatever the columns' types."""

    fill_script: str


async def take_snapshot(name: str) -> Snapshot:
    """A copy of every table's rows, named `name` (unique among the worker's snapshots).
    PostgreSQL keeps it in a schema of that name, SQLite in tables prefixed with it, for as long as
    the database lives; `fill` puts it back."""
    connection = connections.get("default")
    filled = await filled_tables()
    copy_of = {table: _snapshot_table(name, table, connection) for table in filled}
    schema = f'CREATE SCHEMA "{name}";' if _postgres(connection) else ""
    await connection.execute_script(
        schema + "".join(f'CREATE TABLE {copy_of[t]} AS SELECT * FROM "{t}";' for t in filled)  # noqa: S608
    )
    inserts = "".join(f'INSERT INTO "{t}" SELECT * FROM {copy_of[t]};' for t in filled)  # noqa: S608
    return Snapshot(_without_constraints(connection, inserts))


async def filled_tables() -> list[str]:
    """The tables that hold rows."""
    tables = _tables()
    counts = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM \"{t}\"" for t in tables)  # noqa: S608 - our names
    rows = await connections.get("default").execute_query_dict(counts)
    return [row["t"] for row in rows if row["n"]]


async def fill(snapshot: Snapshot) -> None:
    """Puts the rows of `snapshot` into the emptied database, with the same ids. A row already
    there with one of those ids fails it, rather than being lost. (PostgreSQL's sequences go on
    counting from where they are, as after `empty_tables`.)"""
    await connections.get("default").execute_script(snapshot.fill_script)


async def empty_tables() -> None:
    """Deletes every row, in one round trip. PostgreSQL's TRUNCATE makes new files for each of
    the 40 tables (100 ms and more a test); a DELETE of a few rows, with the foreign keys'
    triggers off for the transaction (the tests' server role is a superuser), takes 2 ms.
    SQLite gets the same with its foreign key checks off."""
    connection = connections.get("default")
    await connection.execute_script(_without_constraints(connection, _deletes(_tables())))


def _tables() -> list[str]:
    return [model._meta.db_table for model in Tortoise.apps.get_models_iterable()]


def _deletes(tables: list[str]) -> str:
    return "".join(f'DELETE FROM "{table}";' for table in tables)  # noqa: S608 - our names


def _without_constraints(connection: BaseDBAsyncClient, statements: str) -> str:
    """`statements` in one transaction that checks no foreign keys (rows may come in any order)."""
    if _postgres(connection):
        return f"BEGIN; SET LOCAL session_replication_role = replica; {statements} COMMIT;"
    return f"PRAGMA foreign_keys = OFF; BEGIN; {statements} COMMIT; PRAGMA foreign_keys = ON;"


def _postgres(connection: BaseDBAsyncClient) -> bool:
    return connection.capabilities.dialect == "postgres"


def _snapshot_table(name: str, table: str, connection: BaseDBAsyncClient) -> str:
    return f'"{name}"."{table}"' if _postgres(connection) else f'"{name}__{table}"'
