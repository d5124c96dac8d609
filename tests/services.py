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


def services_required() -> bool:
    return os.environ.get("PORTICO_REQUIRE_SERVICES", "") not in {"", "0", "false"}


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


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """Yields a database URL, or None when PostgreSQL is not installed."""
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not (initdb and pg_ctl):
        yield None
        return
    prefix, user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="portico-pg-"))
    if user:
        shutil.chown(root, user=user)
    data, port = root / "data", free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
    )
    quiet = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "portico", "--auth=trust", "-E", "UTF8",
             "--locale=C", "-N"], **quiet,
        )  # fmt: skip
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w",
             "start"], **quiet,
        )  # fmt: skip
        yield f"postgres://portico@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(root, ignore_errors=True)


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


async def create_database(server_url: str, name: str) -> str:
    """A new, empty database on the PostgreSQL server at `server_url`; returns its URL."""
    import asyncpg

    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
