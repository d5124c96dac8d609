"""What a `portico` process imports before it does its work. Every command reads the settings
first, and the suite and operators start many processes: `--version` or a settings error must
not pay for the GraphQL schema or the ORM, nor a command that only touches the database for the
schema or the web app. Asserted on the modules loaded, never on time."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import Templates

# Each test starts a `portico` process.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

# Runs `portico ARGS...` as `python -m server` does, then reports the modules it imported.
RUN_AND_REPORT = """
import atexit, json, runpy, sys
atexit.register(lambda: sys.stderr.write("MODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
sys.argv = ["portico", *sys.argv[1:]]
runpy.run_module("server", run_name="__main__")
"""


def imported_by(*args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_REPORT, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = [line for line in done.stderr.splitlines() if line.startswith("MODULES ")]
    assert report, done.stderr
    return done, set(json.loads(report[-1].removeprefix("MODULES ")))


def packages(modules: set[str], *names: str) -> list[str]:
    return sorted({module.split(".")[0] for module in modules} & set(names))


FRAMEWORKS = ("strawberry", "graphql", "tortoise", "starlette", "uvicorn", "redis", "aiosmtplib")
# What only serving requests needs: the schema's framework, the web app, Redis, uploads, PDFs.
SERVING = ("strawberry", "starlette", "uvicorn", "redis", "PIL", "pypdf", "xhtml2pdf")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "PORTICO_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite://{tmp_path}/portico.sqlite3",
    }


def test_version_imports_no_framework(env) -> None:
    done, modules = imported_by("--version", env=env)
    assert done.returncode == 0 and done.stdout.startswith("portico ")
    assert "server.settings" in modules
    assert packages(modules, *FRAMEWORKS) == []


def test_a_settings_error_imports_no_framework(env) -> None:
    bad = {**env, "PORTICO_PORT": "abc", "PORTICO_ALLOWED_ORIGINS": "https://portal.example"}
    done, modules = imported_by("migrate", env=bad)
    assert done.returncode == 2 and "PORTICO_PORT='abc'" in done.stderr
    assert packages(modules, *FRAMEWORKS) == []


@pytest.mark.parametrize(
    "command",
    [["payments", "reconcile", "--older-than", "0"], ["documents", "list"]],
    ids=" ".join,
)
def test_database_commands_import_neither_the_schema_nor_the_app(
    command: list[str], env, templates: Templates
) -> None:
    templates.sqlite_copy(Path(env["DATABASE_URL"].removeprefix("sqlite://")))
    done, modules = imported_by(*command, env=env)
    assert done.returncode == 0, done.stderr
    assert "tortoise" in modules  # it did reach the database
    assert {"schema.root", "server.app", "server.graphql"} & modules == set()
    assert packages(modules, *SERVING) == []


# The app as `portico serve` builds it, then the modules it imported.
BUILD_THE_APP = """
import json, sys
from server.app import create_app
create_app()
print(json.dumps(sorted(sys.modules)))
"""


def app_imports(env: dict[str, str]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", BUILD_THE_APP],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_app_imports_what_only_some_requests_or_settings_need_when_they_come(env) -> None:
    quiet = {**env, "REDIS_URL": "", "OTEL_TRACES_EXPORTER": "", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}
    modules = app_imports(quiet)
    assert "schema.root" in modules
    # Uploads decode images and PDFs; SMTP sends mail; Redis and the tracing SDK are configured.
    assert packages(modules, "PIL", "pypdf", "aiosmtplib", "redis") == []
    assert not any(module.startswith("opentelemetry.sdk") for module in modules)
    configured = app_imports(
        {**quiet, "REDIS_URL": "redis://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "console"}
    )
    assert "redis" in configured and "opentelemetry.sdk.trace" in configured
