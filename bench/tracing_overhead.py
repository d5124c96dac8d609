"""What tracing costs a portal invoice page: CPU time per request in this process.

    .venv/bin/python -m bench.tracing_overhead [--requests 500] [--rounds 5] [--traced]

Without --traced, tracing is not configured (the default server): run it on two checkouts to
see what the hooks cost while off. With --traced, spans go to an in-memory exporter. The page
is the portal's PortalInvoices (registered, 20 invoices of 3 lines), over httpx's ASGI
transport against SQLite; the median round's CPU time (time.process_time) is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from auth import passwords, sealing
from auth.sessions import SessionPolicy, start_session
from server import document_commands
from server.app import create_app
from server.database import close_database, migrate, open_database
from tests.conftest import _customer_with_contact, _org, test_settings
from tests.test_statement_counts import seed_invoices

DOCUMENTS = Path(__file__).resolve().parent.parent / "documents"


async def run(requests: int, rounds: int, traced: bool) -> None:
    var = Path(tempfile.mkdtemp(prefix="portico-tracing-"))
    url = f"sqlite://{var}/portico.sqlite3"
    await migrate(url)
    settings = test_settings(url, var)
    await open_database(settings)
    passwords.configure(1, 1024, 1)
    sealing.configure(settings.secret_key)
    org = await _org("Alpha Trading", "alpha")
    customer, contact = await _customer_with_contact(
        org, "Acorn Ltd", "ann@acorn.example", await passwords.hash_password("x" * 12)
    )
    token, _ = await start_session(SessionPolicy.from_settings(settings), contact=contact)

    class World:  # what seed_invoices reads
        org_a, customer_a = org, customer

    await seed_invoices(World, 20, lines=3)  # type: ignore[arg-type]
    portal = DOCUMENTS / "portal.graphql"
    await document_commands.register(document_commands.read([portal]))
    if traced:
        _trace_in_memory()
    app = create_app(settings, manage_database=False)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    body = {
        "query": portal.read_text(),
        "operationName": "PortalInvoices",
        "variables": {"first": 20},
    }
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for _ in range(50):  # warm: caches, plans, the session's first use
            (await http.post("/graphql", json=body, headers=headers)).raise_for_status()
        per_request = []
        for _ in range(rounds):
            start = time.process_time()
            for _ in range(requests):
                response = await http.post("/graphql", json=body, headers=headers)
                assert response.status_code == 200 and "errors" not in response.json()
            per_request.append((time.process_time() - start) / requests * 1e6)
    await close_database()
    rounds_text = ", ".join(f"{value:.0f}" for value in per_request)
    print(
        f"{'traced' if traced else 'not traced'}: median {statistics.median(per_request):.0f} "
        f"µs CPU per request ({rounds} rounds of {requests}: {rounds_text})"
    )


def _trace_in_memory() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from server import tracing

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    tracing.start(provider)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--traced", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.rounds, args.traced))


if __name__ == "__main__":
    main()
