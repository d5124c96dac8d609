"""What tracing costs a portal invoice page: CPU time per request, traced against not traced.

    .venv/bin/python -m bench.tracing_overhead [--requests 500] [--rounds 5]

Two apps in one process, on the same SQLite database: one built while tracing is not configured
(the default server: no provider, no middleware, an untraced schema, Tortoise's own SQL
methods) and one built after tracing started, its spans batched to an exporter that only counts
them. Rounds alternate between the two; each round sends `--requests` PortalInvoices requests
(registered, 20 invoices of 3 lines) over httpx's ASGI transport and measures the process's CPU
time (time.process_time). Prints each side's median CPU time per request, the median of the
per-round ratios and the load average. What the untraced server costs against a checkout without
tracing at all: run this file with PYTHONPATH pointing at each checkout and compare the
"not traced" lines (the hooks left there are a few attribute reads per request).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from auth import passwords, sealing
from auth.sessions import SessionPolicy, start_session
from server import document_commands
from server.app import create_app
from server.database import close_database, open_database
from server.migrations import migrate
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
    app = create_app(settings, manage_database=False)
    exporter = _CountingExporter()
    traced_app = _traced_app(settings, exporter) if traced else None
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    body = {
        "query": portal.read_text(),
        "operationName": "PortalInvoices",
        "variables": {"first": 20},
    }
    headers = {"Authorization": f"Bearer {token}"}

    async def cpu_per_request(target: Any, on: bool) -> float:
        if traced_app is not None:
            from server import tracing

            if on:
                tracing.start(exporter.provider)
            else:
                tracing.stop()
        transport = httpx.ASGITransport(app=target)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            start = time.process_time()
            for _ in range(requests):
                response = await http.post("/graphql", json=body, headers=headers)
                assert response.status_code == 200 and "errors" not in response.json()
            return (time.process_time() - start) / requests * 1e6

    sides = [(app, False)] + ([(traced_app, True)] if traced_app is not None else [])
    for target, on in sides:  # warm: caches, plans, the session's first use
        await cpu_per_request(target, on)
    results: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for target, on in sides:
            results[on].append(await cpu_per_request(target, on))
    await close_database()
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    for on, values in results.items():
        if values:
            rounds_text = ", ".join(f"{value:.0f}" for value in values)
            print(
                f"{'traced' if on else 'not traced'}: median {statistics.median(values):.0f} µs "
                f"CPU per request ({rounds} rounds of {requests}: {rounds_text})"
            )
    if results[True]:
        ratios = [on / off for on, off in zip(results[True], results[False], strict=True)]
        print(
            f"traced / not traced: median of the rounds' ratios {statistics.median(ratios):.3f}; "
            f"{exporter.count / (rounds + 1) / requests:.1f} spans per request"
        )
    print(f"load average {load}")


class _CountingExporter:
    """Takes the spans as an exporter would, counts them and drops them."""

    def __init__(self) -> None:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.count = 0
        self.provider = TracerProvider()
        self.provider.add_span_processor(BatchSpanProcessor(self))  # type: ignore[arg-type]

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        self.count += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def _traced_app(settings: Any, exporter: _CountingExporter) -> Any:
    from server import tracing

    tracing.start(exporter.provider)
    try:
        return create_app(settings, manage_database=False)
    finally:
        tracing.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--untraced-only",
        action="store_true",
        help="only the server without tracing (for a checkout that has none)",
    )
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.rounds, traced=not args.untraced_only))


if __name__ == "__main__":
    main()
