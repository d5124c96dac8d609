"""Throwaway servers for the test session: PostgreSQL from initdb/pg_ctl on a free port."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
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
