"""Run `portico` commands and `portico serve` processes the way an operator would."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests import launcher
from tests.databases import DemoTemplates, portico_env
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]


def installed(var_dir: Path, demo: DemoTemplates, **overrides: str) -> dict[str, str]:
    """The environment of Portico installed in `var_dir` on SQLite with the demo loaded: a copy
    of the run's installation where `portico demo` ran once on the migrated database
    (tests.databases). `portico migrate` and `portico demo` cost seconds these tests are not
    about; tests.test_cli runs them."""
    demo.sqlite_install(var_dir)
    return portico_env(var_dir, **overrides)


def portico(*args: str, env: dict[str, str]) -> None:
    launcher.run(args, env=env, check=True, capture_output=True)


@contextlib.contextmanager
def serve(env: dict[str, str], log: Path | None = None) -> Iterator[str]:
    """`portico serve` on a free port, logging to a file (an unread pipe would stall it)."""
    with serve_process(env, log) as (base, _):
        yield base


@contextlib.contextmanager
def serve_process(
    env: dict[str, str], log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """As `serve`, also handing over the process, for tests that watch how it ends."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PORTICO_PUBLIC_URL": base, "PORTICO_ALLOWED_ORIGINS": base, **env}
    log = log or Path(env["PORTICO_VAR_DIR"]) / f"serve-{port}.log"
    with log.open("wb") as output:
        process = launcher.popen(
            ["serve", "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            wait_until_up(base, process, log)
            yield base, process
        finally:
            if process.poll() is None:
                process.terminate()
            process.wait(timeout=30)


def wait_until_up(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"portico serve exited:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/readyz", timeout=1, trust_env=False).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError("portico serve did not start within 30 s")


def graphql(base: str, query: str, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{base}/graphql", json={"query": query}, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def login(base: str, email: str, password: str) -> str:
    query = f'mutation {{ login(input: {{email: "{email}", password: "{password}"}}) {{ token }} }}'
    return graphql(base, query)["data"]["login"]["token"]


def portal_login(base: str, portal: str, email: str, password: str) -> str:
    query = (
        f'mutation {{ portalLogin(input: {{portalName: "{portal}", email: "{email}", '
        f'password: "{password}"}}) {{ token }} }}'
    )
    return graphql(base, query)["data"]["portalLogin"]["token"]
