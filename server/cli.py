"""The `portico` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

from server.settings import ConfigurationError, Settings

# Read by every command that opens the database; the README's Configuration table has them all.
DATABASE_ENVIRONMENT = (
    "environment: DATABASE_URL (default sqlite://<PORTICO_VAR_DIR>/portico.sqlite3), "
    "PORTICO_VAR_DIR (default var), PORTICO_ENV (default development), PORTICO_SECRET_KEY "
    "(required in production). Every PORTICO_* setting is checked first: a bad value exits "
    "with status 2. See the README's Configuration table."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portico",
        description="Portico: the GraphQL API of a customer self-service portal.",
        epilog="Run `portico COMMAND --help` for a command's options and environment variables.",
    )
    parser.add_argument("--version", action=_PrintVersion)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str, epilog: str = DATABASE_ENVIRONMENT):
        return commands.add_parser(
            name, help=summary, description=description, epilog=epilog
        )  # fmt: skip

    serve = command(
        "serve",
        "serve the API with uvicorn",
        "Serve the GraphQL API (and GraphiQL in development) with uvicorn, proxy headers on. "
        "Links, allowed origins and the printed GraphiQL address follow the host and port "
        "served unless PORTICO_PUBLIC_URL or PORTICO_ALLOWED_ORIGINS say otherwise.",
        "environment: PORTICO_HOST, PORTICO_PORT and PORTICO_WORKERS (overridden by the "
        "options), PORTICO_PUBLIC_URL, PORTICO_ALLOWED_ORIGINS, PORTICO_LOG_LEVEL, "
        "PORTICO_SHUTDOWN_TIMEOUT_SECONDS, PORTICO_LOG_FORMAT, PORTICO_METRICS_TOKEN, "
        "PROMETHEUS_MULTIPROC_DIR, REDIS_URL (needed with several workers), "
        "OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER (tracing), and "
        + DATABASE_ENVIRONMENT.removeprefix("environment: "),
    )
    serve.add_argument(
        "--host", help=f"interface to listen on ({_default('PORTICO_HOST', Settings.host)})"
    )
    serve.add_argument(
        "--port", type=_port, help=f"port to listen on ({_default('PORTICO_PORT', Settings.port)})"
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        help=f"worker processes ({_default('PORTICO_WORKERS', Settings.workers)}); more than "
        "one needs REDIS_URL for live updates to reach every subscriber",
    )

    command(
        "migrate",
        "apply database migrations",
        "Apply the database migrations not yet applied, and list each one applied.",
    )
    command(
        "worker",
        "deliver queued email until SIGINT/SIGTERM",
        "Deliver queued email until SIGINT or SIGTERM, without serving HTTP.",
        "environment: PORTICO_MAIL_URL, PORTICO_MAIL_FROM, PORTICO_OUTBOX_POLL_SECONDS, "
        "PORTICO_LOG_LEVEL, PORTICO_LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT or "
        "OTEL_TRACES_EXPORTER (tracing), and " + DATABASE_ENVIRONMENT.removeprefix("environment: "),
    )
    command(
        "demo",
        "load the demo organization unless loaded; print logins",
        "Load the demo organization unless it is loaded, then print its logins and the "
        "GraphiQL address (PORTICO_PUBLIC_URL, default from PORTICO_HOST and PORTICO_PORT).",
    )

    admin = command(
        "create-admin",
        "create an organization and its admin",
        "Create an organization and its first ADMIN staff user. The password comes from "
        "PORTICO_ADMIN_PASSWORD, or a prompt when that is unset.",
    )
    admin.add_argument("--email", required=True, help="the administrator's email")
    admin.add_argument("--name", required=True, help="the administrator's name")
    admin.add_argument("--organization", required=True, help="organization name")
    admin.add_argument(
        "--portal-name", help="the portal's name (default: made of the organization's name)"
    )
    admin.add_argument("--currency", default="USD", help="base currency (default: USD)")

    command(
        "export-schema",
        "print the GraphQL SDL",
        "Print the GraphQL SDL of the installed version (what schema.graphql holds).",
        "environment: none besides the checked PORTICO_* settings.",
    )

    payments = command(
        "payments", "online payments and refunds", "Online payments and refunds."
    )  # fmt: skip
    payment_commands = payments.add_subparsers(
        dest="payments_command", required=True, metavar="COMMAND"
    )
    reconcile = payment_commands.add_parser(
        "reconcile",
        help="end payments and refunds left in flight by asking their gateway",
        description="End payments and refunds left in flight by asking their gateway.",
        epilog=DATABASE_ENVIRONMENT,
    )
    reconcile.add_argument(
        "--older-than", type=float, default=60, metavar="SECONDS",
        help="only attempts unchanged for this long (default 60; 0 when no server is running)",
    )  # fmt: skip
    settle = payment_commands.add_parser(
        "settle",
        help="test gateway: settle pending bank debits and send their webhooks",
        description="Test gateway: settle pending bank debits and send their signed webhooks.",
        epilog="environment: PORTICO_GATEWAY_WEBHOOK_SECRET, PORTICO_TEST_GATEWAY_LEDGER, and "
        + DATABASE_ENVIRONMENT.removeprefix("environment: "),
    )
    settle.add_argument("numbers", nargs="*", metavar="PAY-NUMBER", help="default: all pending")
    settle.add_argument("--portal-name", help="the organization, when numbers are given")
    settle.add_argument(
        "--outcome", choices=["SUCCEEDED", "DECLINED"], help="default: the test token's own"
    )

    documents = command(
        "documents",
        "the trusted registry of GraphQL documents front ends send",
        "The trusted registry of GraphQL documents front ends send.",
    )
    document_commands = documents.add_subparsers(
        dest="documents_command", required=True, metavar="COMMAND"
    )
    register = document_commands.add_parser(
        "register",
        help="register documents: .graphql files, or a JSON manifest of them",
        description="Register documents: .graphql files, or a JSON manifest of them. If any "
        "does not validate, nothing is registered and the exit status is 2.",
        epilog=DATABASE_ENVIRONMENT,
    )
    register.add_argument("files", nargs="+", type=Path, metavar="FILE")
    document_commands.add_parser(
        "list",
        help="print the registered documents",
        description="Print each registered document's hash, date and operations.",
        epilog=DATABASE_ENVIRONMENT,
    )
    remove = document_commands.add_parser(
        "remove",
        help="remove a document from the registry",
        description="Remove a document from the registry; exit status 1 if none has the hash.",
        epilog=DATABASE_ENVIRONMENT,
    )
    remove.add_argument("sha256", metavar="HASH")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        # Through the environment, so that the app uvicorn imports in each worker process
        # derives its links and origins from the address really served.
        for variable, value in (
            ("PORTICO_HOST", args.host),
            ("PORTICO_PORT", args.port),
            ("PORTICO_WORKERS", args.workers),
        ):
            if value is not None:
                os.environ[variable] = str(value)
    try:
        settings = Settings.from_env()
    except ConfigurationError as exc:
        parser.exit(2, "".join(f"portico: {problem}\n" for problem in exc.problems))
    handler = {
        "serve": _serve,
        "migrate": _migrate,
        "worker": _worker,
        "demo": _demo,
        "create-admin": _create_admin,
        "export-schema": _export_schema,
        "payments": _payments,
        "documents": _documents,
    }[args.command]
    handler(settings, args)


class _PrintVersion(argparse.Action):
    """argparse's "version" action, but the installed version is looked up only when asked
    for: the lookup reads package metadata, a twentieth of a second every command would pay."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0,
            help="show program's version number and exit",
        )  # fmt: skip

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"portico {_version()}")
        parser.exit()


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("portico")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _default(variable: str, default: object) -> str:
    current = os.environ.get(variable, "").strip()
    if current:
        return f"default: {current}, from {variable}; else {default}"
    return f"default: {variable}, else {default}"


def _port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a port number from 1 to 65535")
    return port


def _workers(raw: str) -> int:
    try:
        workers = int(raw)
    except ValueError:
        workers = 0
    if workers < 1:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number of at least 1")
    return workers


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from server import logs, metrics

    logs.configure(settings)
    served = f"http://{settings.host}:{settings.port}"
    print(f"Portico serving on {served} ({settings.environment}, {settings.workers} worker(s))")
    if settings.graphiql:
        print(f"GraphiQL: {settings.public_base_url}/graphql")
    with metrics.multiprocess_directory(settings.workers):
        uvicorn.run(
            "server.asgi:app",
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level.lower(),
            # Portico's format (server.logs) and its own request lines (server.request_log).
            log_config=None,
            access_log=False,
            proxy_headers=True,
            ws_max_size=settings.max_body_bytes,
            # After SIGTERM, requests still running this long are cut short (server.unavailable
            # answers them 503); open websockets are closed at once with 1012.
            timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        )


def _migrate(settings: Settings, args: argparse.Namespace) -> None:
    from server.migrations import DuplicateRows, migrate

    try:
        migrated = asyncio.run(migrate(settings.database_url))
    except DuplicateRows as refusal:
        sys.exit(f"portico: {refusal}")
    if migrated.created:
        print(
            f"Created the schema of {len(migrated.applied)} migrations "
            f"({migrated.applied[0]} to {migrated.applied[-1]}) in one step; "
            "the database is up to date."
        )
        return
    for name in migrated.applied:
        print(f"Applied {name}")
    print(
        f"Applied {len(migrated.applied)} migration(s); the database is up to date."
        if migrated.applied
        else "Database is up to date."
    )


def _worker(settings: Settings, args: argparse.Namespace) -> None:
    from server import logs
    from server.delivery import run_worker

    logs.configure(settings)
    asyncio.run(run_worker(settings))


def _demo(settings: Settings, args: argparse.Namespace) -> None:
    from server.demo import demo_logins, load_demo

    created = asyncio.run(_with_database(settings, load_demo()))
    print("Loaded the demo organization." if created else "The demo organization is loaded.")
    print(demo_logins(settings.public_base_url))


def _create_admin(settings: Settings, args: argparse.Namespace) -> None:
    from server.setup import create_organization

    password = os.environ.get("PORTICO_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    created = asyncio.run(
        _with_database(
            settings,
            create_organization(
                name=args.organization,
                portal_name=args.portal_name,
                currency=args.currency,
                admin_email=args.email,
                admin_name=args.name,
                admin_password=password,
            ),
        )
    )
    if isinstance(created, str):
        sys.exit(f"portico: {created}")
    print(
        f"Created {created.name} with administrator {args.email}; its portal name is "
        f"{created.portal_name}."
    )


def _export_schema(settings: Settings, args: argparse.Namespace) -> None:
    from schema.root import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")


def _payments(settings: Settings, args: argparse.Namespace) -> None:
    from server import payment_commands

    if args.payments_command == "reconcile":
        payments, refunds = asyncio.run(
            _with_database(settings, payment_commands.reconcile(args.older_than))
        )
        print(f"Reconciled {payments} payments and {refunds} refunds.")
        return
    settled = asyncio.run(
        _with_database(
            settings, payment_commands.settle(args.numbers, args.portal_name, args.outcome)
        )
    )
    for number, status in settled:
        print(f"{number}: {status}")
    if not settled:
        print("No pending payments.")


def _documents(settings: Settings, args: argparse.Namespace) -> None:
    from server import document_commands

    if args.documents_command == "register":
        try:
            candidates = document_commands.read(args.files)
        except document_commands.Refused as refused:
            for problem in refused.problems:
                print(f"portico: {problem}", file=sys.stderr)
            sys.stderr.write("portico: nothing was registered.\n")
            sys.exit(2)
        for entry in asyncio.run(_with_database(settings, document_commands.register(candidates))):
            status = "registered" if entry.new else "already registered"
            print(f"{entry.sha256}  {status}  {entry.operations}  {entry.source}")
    elif args.documents_command == "list":
        for line in asyncio.run(_with_database(settings, document_commands.listing())):
            print(line)
    elif not asyncio.run(_with_database(settings, document_commands.remove(args.sha256))):
        sys.exit(f"portico: no registered document has the hash {args.sha256}.")
    else:
        print(f"Removed {args.sha256}.")


async def _with_database(settings: Settings, work):
    from auth import passwords, sealing
    from server.database import close_database, open_database
    from server.gateways import install_gateways

    passwords.configure(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.password_workers
    )
    sealing.configure(settings.secret_key)
    install_gateways(settings)
    await open_database(settings)
    try:
        return await work
    finally:
        await close_database()
