"""Throwaway servers for tests: PostgreSQL from initdb/pg_ctl and redis-server, on free ports."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

POSTGRES = "PostgreSQL (initdb/pg_ctl)"
REDIS = "redis-server"


def services_required() -> bool:
    return os.environ.get("PORTICO_REQUIRE_SERVICES", "") not in {"", "0", "false"}


def missing(service: str) -> NoReturn:
    """Ends a test that needs a service this machine lacks: a failure where
    PORTICO_REQUIRE_SERVICES says it must be there (CI), a skip elsewhere."""
    import pytest  # here, not above: the benchmarks start servers with this module too

    if services_required():
        pytest.fail(f"{service} is required but not installed")
    pytest.skip(f"{service} is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _run_as() -> tuple[list[str], str | None]:
    """initdb refuses to run as root; drop to the postgres (or nobody) account then."""
    if os.geteuid() != 0:
        return [], None
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--"], user
    raise RuntimeError("running as root without a postgres or nobody account")


_QUIET = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb) on a free port, which a test may stop and start
    again (an outage)."""

    def __init__(
        self, initdb: str, pg_ctl: str, root: Path | None = None, port: int | None = None
    ) -> None:
        self._initdb, self._pg_ctl = initdb, pg_ctl
        self._prefix, user = _run_as()
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="portico-pg-"))
            if user:
                shutil.chown(root, user=user)
        self.root = root
        self.port = port or free_port()
        self.url = f"postgres://portico@127.0.0.1:{self.port}/postgres"

    def create(self) -> None:
        subprocess.run(
            [*self._prefix, self._initdb, "-D", str(self.root / "data"), "-U", "portico",
             "--auth=trust", "-E", "UTF8", "--locale=C", "-N"], **_QUIET,
        )  # fmt: skip
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        subprocess.run(
            [*self._prefix, self._pg_ctl, "-D", str(self.root / "data"), "-o", options, "-l",
             str(self.root / "log"), "-w", "start"], **_QUIET,
        )  # fmt: skip

    def stop(self) -> None:
        """Stops at once, as a crash would: clients' connections simply end."""
        subprocess.run(
            [*self._prefix, self._pg_ctl, "-D", str(self.root / "data"), "-m", "immediate", "-w",
             "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def copy_database(source_url: str, target_url: str) -> None:
    """Every table and row of the database at `source_url` into the empty one at `target_url`,
    through pg_dump and psql, which work across servers (unlike `CREATE DATABASE ... TEMPLATE`)
    and in a fraction of the CPU that migrating takes."""
    pg_dump, psql = _postgres_bin("pg_dump"), _postgres_bin("psql")
    assert pg_dump and psql, "pg_dump and psql come with initdb"
    dump = subprocess.run(
        [pg_dump, "--no-owner", "--no-privileges", source_url], check=True, capture_output=True
    ).stdout
    subprocess.run(
        [psql, "--quiet", "--set=ON_ERROR_STOP=1", target_url],
        input=dump, check=True, capture_output=True,
    )  # fmt: skip


def _postgres_bins() -> tuple[str, str] | None:
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    return (initdb, pg_ctl) if initdb and pg_ctl else None


def start_postgres() -> PostgresServer | None:
    """A running cluster that the caller removes, or None when PostgreSQL is not installed."""
    bins = _postgres_bins()
    if bins is None:
        return None
    server = PostgresServer(*bins)
    try:
        server.create()
    except BaseException:
        server.remove()
        raise
    return server


def postgres_cluster_at(root: str, port: int) -> PostgresServer:
    """The cluster that another process started there, for this one to stop and remove."""
    bins = _postgres_bins()
    assert bins is not None
    return PostgresServer(*bins, root=Path(root), port=port)


@contextmanager
def postgres_cluster() -> Iterator[PostgresServer | None]:
    """Yields a running cluster of the caller's own, or None when PostgreSQL is not installed."""
    server = start_postgres()
    try:
        yield server
    finally:
        if server is not None:
            server.remove()


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """Yields a database URL, or None when PostgreSQL is not installed."""
    with postgres_cluster() as server:
        yield server.url if server else None


class RedisServer:
    """A redis-server on a fixed free port that a test can stop and start again (an outage)."""

    def __init__(self, binary: str, port: int) -> None:
        self.binary = binary
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self.thaw()  # a stopped process would not see the SIGTERM
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def freeze(self) -> None:
        """Suspend the server (SIGSTOP): its sockets stay open, even accept connections, and
        nothing answers, as when a network silently drops packets."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)


@contextmanager
def redis_server() -> Iterator[RedisServer | None]:
    """Yields a running Redis, or None when redis-server is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    server = RedisServer(binary, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """A new database on the PostgreSQL server at `server_url`, empty or a copy of `template`;
    returns its URL."""
    import asyncpg

    copy_of = f' TEMPLATE "{template}"' if template else ""
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await connection.execute(f'CREATE DATABASE "{name}"{copy_of}')
    finally:
        await connection.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
