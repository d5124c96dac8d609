import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests import launcher
from tests.databases import Templates
from tests.test_migrations import migration_names

# Each test starts `portico` processes.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def portico(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    return launcher.run(
        args, env={**os.environ, **env}, capture_output=True, text=True, check=check, timeout=120
    )


@pytest.fixture
def fresh_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PORTICO_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite://{tmp_path}/var/cli.sqlite3",
        "PORTICO_ARGON2_TIME_COST": "1",
        "PORTICO_ARGON2_MEMORY_KIB": "32",
    }


def test_migrate_makes_a_new_database_in_one_step_and_demo_is_idempotent(fresh_env) -> None:
    """A first `migrate` says which migrations the new schema stands for (those applied one by
    one to an older database are listed by tests.test_migrations)."""
    migrations = migration_names()
    assert portico("migrate", env=fresh_env).stdout == (
        f"Created the schema of {len(migrations)} migrations ({migrations[0]} to "
        f"{migrations[-1]}) in one step; the database is up to date.\n"
    )
    assert portico("migrate", env=fresh_env).stdout == "Database is up to date.\n"
    first = portico("demo", env=fresh_env)
    second = portico("demo", env=fresh_env)
    assert "Loaded the demo organization." in first.stdout
    assert "is loaded" in second.stdout
    for output in (first.stdout, second.stdout):
        assert "admin@acme.example" in output
        assert "maria.lopez@northwind.example" in output
        assert "http://127.0.0.1:8000/graphql" in output
    assert Path(fresh_env["PORTICO_VAR_DIR"], "secret_key").stat().st_mode & 0o077 == 0


def migrated(env: dict[str, str], templates: Templates) -> dict[str, str]:
    """`env` with its database a copy of the run's migrated one (tests.databases), which
    `portico migrate` finds up to date: migrating from nothing is the test above's business."""
    templates.sqlite_copy(Path(env["DATABASE_URL"].removeprefix("sqlite://")))
    portico("migrate", env=env)
    return env


def test_migrate_makes_again_the_unique_constraints_sqlite_dropped(fresh_env, templates) -> None:
    """An SQLite table Tortoise altered by copying it lost its unique constraint over several
    columns: `migrate` makes it again, or says which rows stand in the way."""
    path = Path(fresh_env["DATABASE_URL"].removeprefix("sqlite://"))
    templates.sqlite_copy(path)
    with sqlite3.connect(path) as database:
        [(table_sql,)] = database.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'document_series'"
        )
        database.executescript(
            "ALTER TABLE document_series RENAME TO old_series;"
            + re.sub(r",\s*CONSTRAINT .*? UNIQUE \(.*?\)", "", table_sql)
            + ";DROP TABLE old_series;"
            "INSERT INTO organization (id, name, portal_name, email, phone, address,"
            " base_currency, locale, timezone, created_at, payment_gateway) VALUES"
            " (1, 'Org', 'org', '', '', '{}', 'USD', 'en', 'UTC', '2026-11-01', 'test');"
            "INSERT INTO document_series (organization_id, kind, prefix, next_number) VALUES"
            " (1, 'INVOICE', 'INV-', 1), (1, 'INVOICE', 'IN-', 7);"
        )
    refused = portico("migrate", env=fresh_env, check=False)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        "portico: rows of document_series share their organization_id, kind, which must be"
        " unique; remove the duplicates and run `portico migrate` again\n"
    )
    with sqlite3.connect(path) as database:
        database.execute("DELETE FROM document_series WHERE prefix = 'IN-'")
    assert portico("migrate", env=fresh_env).stdout == "Database is up to date.\n"
    with sqlite3.connect(path) as database, pytest.raises(sqlite3.IntegrityError):
        database.execute(
            "INSERT INTO document_series (organization_id, kind, prefix, next_number)"
            " VALUES (1, 'INVOICE', 'IN-', 7)"
        )


def test_create_admin_checks_its_input(fresh_env, templates: Templates) -> None:
    migrated(fresh_env, templates)
    weak = portico(
        "create-admin", "--email", "boss@corp.example", "--name", "Boss", "--organization",
        "Corp", "--portal-name", "corp", env={**fresh_env, "PORTICO_ADMIN_PASSWORD": "short"},
        check=False,
    )  # fmt: skip
    assert weak.returncode != 0
    assert "password" in weak.stderr.lower()
    ok = portico(
        "create-admin", "--email", "boss@corp.example", "--name", "Boss", "--organization",
        "Corp", "--portal-name", "corp",
        env={**fresh_env, "PORTICO_ADMIN_PASSWORD": "a sturdy passphrase"},
    )  # fmt: skip
    assert "Created Corp" in ok.stdout


def test_create_admin_makes_the_portal_name_of_the_organizations(
    fresh_env, templates: Templates
) -> None:
    env = {**migrated(fresh_env, templates), "PORTICO_ADMIN_PASSWORD": "a sturdy passphrase"}
    names = []
    for email in ("one@acme.example", "two@acme.example"):
        created = portico(
            "create-admin", "--email", email, "--name", "Boss", "--organization",
            "Ácme Tools & Co.", env=env,
        )  # fmt: skip
        names.append(created.stdout.strip().rsplit(" ", 1)[-1].rstrip("."))
    assert names == ["acme-tools-co", "acme-tools-co-2"]
    digits = portico(
        "create-admin", "--email", "three@acme.example", "--name", "Boss", "--organization",
        "2024 Ltd", env=env,
    )  # fmt: skip
    assert digits.stdout.strip().endswith("its portal name is portal-2024-ltd.")


def test_production_refuses_to_start_without_a_secret_key(fresh_env) -> None:
    env = {**fresh_env, "PORTICO_ENV": "production", "PORTICO_SECRET_KEY": ""}
    result = portico("migrate", env=env, check=False)
    assert result.returncode == 2
    assert "PORTICO_SECRET_KEY is required" in result.stderr


def test_export_schema_prints_the_sdl(fresh_env) -> None:
    result = portico("export-schema", env=fresh_env)
    assert result.stdout == (ROOT / "schema.graphql").read_text()


@pytest.mark.parametrize(
    "command", [["serve"], ["migrate"], ["demo"], ["worker"], ["documents", "list"]]
)
def test_bad_settings_exit_2_naming_each_variable_and_value(fresh_env, command) -> None:
    env = {
        **fresh_env,
        "PORTICO_PORT": "abc",
        "PORTICO_WORKERS": "x",
        "PORTICO_LOG_LEVEL": "verbose",
    }
    result = portico(*command, env=env, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "portico: PORTICO_PORT='abc' is not valid: expected an integer from 1 to 65535",
        "portico: PORTICO_WORKERS='x' is not valid: expected an integer of at least 1",
        "portico: PORTICO_LOG_LEVEL='verbose' is not valid: "
        "expected one of critical, error, warning, info, debug",
    ]
    assert not Path(fresh_env["PORTICO_VAR_DIR"]).exists()  # nothing was created


def test_a_bad_log_format_exits_2(fresh_env) -> None:
    result = portico("worker", env={**fresh_env, "PORTICO_LOG_FORMAT": "xml"}, check=False)
    assert result.returncode == 2
    assert (
        result.stderr == "portico: PORTICO_LOG_FORMAT='xml' is not valid: expected json or text\n"
    )


def test_serve_options_override_the_environment_and_are_checked(fresh_env) -> None:
    result = portico("serve", "--port", "70000", env=fresh_env, check=False)
    assert result.returncode == 2
    assert "--port: '70000' is not a port number from 1 to 65535" in result.stderr
    assert "Traceback" not in result.stderr


def test_version_and_help_describe_the_commands(fresh_env) -> None:
    assert portico("--version", env=fresh_env).stdout.strip() == "portico 0.1.0"
    overview = " ".join(portico("--help", env=fresh_env).stdout.split())
    for command in ("serve", "migrate", "worker", "demo", "create-admin", "payments"):
        assert command in overview
    serve = " ".join(
        portico("serve", "--help", env={**fresh_env, "PORTICO_PORT": "9000"}).stdout.split()
    )
    assert "Serve the GraphQL API" in serve
    assert "--port PORT port to listen on (default: 9000, from PORTICO_PORT; else 8000)" in serve
    assert "--host HOST interface to listen on (default: PORTICO_HOST, else 127.0.0.1)" in serve
    assert "PORTICO_PUBLIC_URL" in serve and "DATABASE_URL" in serve
    migrate = " ".join(portico("migrate", "--help", env=fresh_env).stdout.split())
    assert "list each one applied" in migrate and "DATABASE_URL" in migrate
