"""The `portico` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

from server.settings import ConfigurationError, Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="portico", description="Portico customer portal API")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    serve.add_argument("--host", default=os.environ.get("PORTICO_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORTICO_PORT", "8000")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("PORTICO_WORKERS", "1")))

    commands.add_parser("migrate", help="apply database migrations")

    commands.add_parser("worker", help="deliver queued email until SIGINT/SIGTERM")

    commands.add_parser("demo", help="load the demo organization unless loaded; print logins")

    admin = commands.add_parser("create-admin", help="create an organization and its admin")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", required=True)
    admin.add_argument("--organization", required=True, help="organization name")
    admin.add_argument(
        "--portal-name", help="the portal's name (default: made of the organization's name)"
    )
    admin.add_argument("--currency", default="USD")

    commands.add_parser("export-schema", help="print the GraphQL SDL")

    payments = commands.add_parser("payments", help="online payments and refunds")
    payment_commands = payments.add_subparsers(dest="payments_command", required=True)
    reconcile = payment_commands.add_parser(
        "reconcile", help="end payments and refunds left in flight by asking their gateway"
    )
    reconcile.add_argument(
        "--older-than", type=float, default=60, metavar="SECONDS",
        help="only attempts unchanged for this long (default 60; 0 when no server is running)",
    )  # fmt: skip
    settle = payment_commands.add_parser(
        "settle", help="test gateway: settle pending bank debits and send their webhooks"
    )
    settle.add_argument("numbers", nargs="*", metavar="PAY-NUMBER", help="default: all pending")
    settle.add_argument("--portal-name", help="the organization, when numbers are given")
    settle.add_argument("--outcome", choices=["SUCCEEDED", "DECLINED"])

    documents = commands.add_parser(
        "documents", help="the trusted registry of GraphQL documents front ends send"
    )
    document_commands = documents.add_subparsers(dest="documents_command", required=True)
    register = document_commands.add_parser(
        "register", help="register documents: .graphql files, or a JSON manifest of them"
    )
    register.add_argument("files", nargs="+", type=Path, metavar="FILE")
    document_commands.add_parser("list", help="print the registered documents")
    remove = document_commands.add_parser("remove", help="remove a document from the registry")
    remove.add_argument("sha256", metavar="HASH")

    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigurationError as exc:
        parser.exit(2, f"portico: {exc}\n")
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


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    print(f"Portico on http://{args.host}:{args.port}/graphql ({settings.environment})")
    uvicorn.run(
        "server.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        ws_max_size=settings.max_body_bytes,
        # After SIGTERM, requests still running this long are cut short (server.unavailable
        # answers them 503); open websockets are closed at once with 1012.
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )


def _migrate(settings: Settings, args: argparse.Namespace) -> None:
    from server.database import migrate

    asyncio.run(migrate(settings.database_url))
    print("Database is up to date.")


def _worker(settings: Settings, args: argparse.Namespace) -> None:
    import logging

    from server.delivery import run_worker

    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
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
    from server.app import install_gateways
    from server.database import close_database, open_database

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
