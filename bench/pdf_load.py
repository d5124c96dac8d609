"""A small GraphQL query's latency while PDFs render, against the same query with no PDF load.

PDFs render in a process pool (`pdf.renderer`), never on the event loop, so a portal contact's
first page of documents should answer about as fast while other clients download PDFs as when
nobody does. One run on SQLite, in process through httpx.ASGITransport:
  - idle: the query alone, one request at a time
  - under load: the same, while --clients clients download PDFs of 40-line invoices without
    pause, each a different invoice, so every download renders (the render counter must agree);
    the invoices count as opened already, so downloads only read the database
Idle and loaded blocks of --seconds alternate, --blocks of each, so that drift affects both
alike; after the clients resume, the first second (all of them starting at once) is not
measured. Goal: the query's p99 under load is at most 2x its idle p99 (PASS/FAIL line). Also
prints p50, p99 and max of both, PDFs rendered per second and their download latency. Exits
non-zero only when a download is not a PDF or something crashes.
    .venv/bin/python -m bench.pdf_load [--seconds 4] [--blocks 4] [--clients 4] [--workers 2]
        [--lines 40] [--invoices 400]
  --seconds  length of each idle and each loaded block (after 20 warm-up queries)
  --blocks   idle/loaded blocks per side
  --clients  concurrent PDF downloaders under load
  --workers  PDF worker processes (PORTICO_PDF_WORKERS)
  --lines    line items per invoice (more lines, longer renders)
  --invoices invoices seeded; each is downloaded at most once
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from strawberry.relay import GlobalID
from tortoise.backends.base.executor import EXECUTOR_CACHE

from auth.sessions import SessionPolicy, start_session
from models.customers import ContactPerson, Customer, PortalAccess
from models.documents import DocumentKind, DocumentStatus, LineItem, SalesDocument
from models.organizations import Organization
from pdf import renderer
from server.app import create_app
from server.database import close_database, open_database
from server.migrations import migrate
from server.settings import Settings

QUERY = "{ salesDocuments(first: 5) { nodes { number status total { amount currency } } } }"
GOAL = 2.0  # p99 under PDF load / idle p99
WARMUP = 20
RAMP_SECONDS = 1.0
TODAY = datetime.now(UTC).date()  # the benchmark's organization keeps UTC days


# -- data ----------------------------------------------------------------------------------------


@dataclass
class Seeded:
    token: str
    invoices: list[int]


async def seed(policy: SessionPolicy, invoices: int, lines: int) -> Seeded:
    org = await Organization.create(
        name="Load Co", portal_name="load",
        address={"street1": "1 Harbour Road", "city": "Springfield", "zip": "12345"},
    )  # fmt: skip
    customer = await Customer.create(
        organization=org, display_name="Acorn Ltd", currency="USD",
        billing_address={"street1": "2 Oak Lane", "city": "Shelby", "country": "US"},
    )  # fmt: skip
    contact = await ContactPerson.create(
        organization=org, customer=customer, email="ann@acorn.example",
        portal_access=PortalAccess.ACTIVE, is_primary=True,
    )  # fmt: skip
    await SalesDocument.bulk_create([
        SalesDocument(
            organization=org, customer=customer, kind=DocumentKind.INVOICE,
            number=f"INV-{n:06}", status=DocumentStatus.SENT, currency="USD",
            issue_date=TODAY, due_date=TODAY + timedelta(days=30),
            subtotal_minor=lines * 1999, total_minor=lines * 1999, balance_minor=lines * 1999,
            # Opened before: a first view writes activity once per invoice, not per download.
            first_viewed_at=datetime.now(UTC),
        )
        for n in range(1, invoices + 1)
    ])  # fmt: skip
    ids = await SalesDocument.filter(organization=org).order_by("id").values_list("id", flat=True)
    await LineItem.bulk_create([
        LineItem(document_id=invoice, position=p, name=f"Part {p:03}", description="Steel, 4 mm",
                 quantity=Decimal(1), rate=Decimal("19.99"), amount_minor=1999)
        for invoice in ids for p in range(1, lines + 1)
    ], batch_size=5_000)  # fmt: skip
    token, _ = await start_session(policy, contact=contact)
    return Seeded(token, list(ids))


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Timing:
    latencies: list[float] = field(default_factory=list)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class NotAPdf(Exception):
    pass


@dataclass
class Load:
    """PDF downloaders that run while `running` is set; `busy` counts downloads under way."""

    http: httpx.AsyncClient
    token: str
    invoices: list[int]
    running: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    stopping: bool = False
    busy: int = 0
    downloads: Timing = field(default_factory=Timing)

    async def client(self, mine: list[int]) -> None:
        """Downloads each of its own invoices once: every download renders, and nothing but the
        download itself touches the database."""
        headers = {"Authorization": f"Bearer {self.token}"}
        for invoice in mine:
            await self.running.wait()
            if self.stopping:
                return
            self.busy += 1
            try:
                path = f"/documents/{GlobalID('Invoice', str(invoice))}/pdf"
                started = time.perf_counter()
                response = await self.http.get(path, headers=headers)
                self.downloads.latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or not response.content.startswith(b"%PDF"):
                    raise NotAPdf(f"{path}: {response.status_code} {response.text[:200]}")
            finally:
                async with self.changed:
                    self.busy -= 1
                    self.changed.notify_all()
        raise NotAPdf("a client ran out of invoices: seed more with --invoices")

    async def until(self, done: Callable[[], bool]) -> None:
        async with self.changed:
            await self.changed.wait_for(done)

    async def pause(self) -> None:
        self.running.clear()
        await self.until(lambda: self.busy == 0)  # renders under way would weigh on idle blocks


async def measure(
    http: httpx.AsyncClient, token: str, timing: Timing, *, seconds: float = 0, rounds: int = 0
) -> None:
    """The query, one request at a time, for `seconds` or `rounds`."""
    headers = {"Authorization": f"Bearer {token}"}
    gc.collect()
    deadline = time.perf_counter() + seconds
    done = 0
    while done < rounds or time.perf_counter() < deadline:
        started = time.perf_counter()
        response = await http.post("/graphql", json={"query": QUERY}, headers=headers)
        timing.latencies.append(time.perf_counter() - started)
        response.raise_for_status()
        if "errors" in response.json():
            raise RuntimeError(f"the query failed: {response.text[:300]}")
        done += 1


@dataclass
class Outcome:
    idle: Timing
    loaded: Timing
    downloads: Timing
    rendered: int
    pdfs_per_second: float  # renders finished while the loaded queries ran


async def run(url: str, var_dir: Path, args: argparse.Namespace) -> Outcome:
    settings = Settings(database_url=url, secret_key="b" * 40, var_dir=var_dir,
                        log_level="WARNING", pdf_workers=args.workers)  # fmt: skip
    EXECUTOR_CACHE.clear()
    await migrate(url)
    await open_database(settings)
    try:
        seeded = await seed(SessionPolicy.from_settings(settings), args.invoices, args.lines)
        app = create_app(settings, manage_database=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     timeout=120) as http:  # fmt: skip
            load = Load(http, seeded.token, seeded.invoices)
            clients = [
                asyncio.create_task(load.client(seeded.invoices[n :: args.clients]))
                for n in range(args.clients)
            ]
            # Warm-up: every worker process started and loaded, and the query's caches filled.
            load.running.set()
            warm = max(args.workers, args.clients)
            await load.until(lambda: len(load.downloads.latencies) >= warm)
            await load.pause()
            await measure(http, seeded.token, Timing(), rounds=WARMUP)
            idle, loaded = Timing(), Timing()
            load.downloads = Timing()
            rendered_before, loaded_seconds, in_windows = renderer.render_count(), 0.0, 0
            for _ in range(args.blocks):
                await measure(http, seeded.token, idle, seconds=args.seconds)
                load.running.set()
                # The clients all start at once after a pause; steady load is what is measured.
                await asyncio.sleep(RAMP_SECONDS)
                started, renders = time.perf_counter(), renderer.render_count()
                await measure(http, seeded.token, loaded, seconds=args.seconds)
                loaded_seconds += time.perf_counter() - started
                in_windows += renderer.render_count() - renders
                await load.pause()
            rendered = renderer.render_count() - rendered_before
            load.stopping = True
            load.running.set()
            await asyncio.gather(*clients)
        if rendered != len(load.downloads.latencies):
            raise NotAPdf(f"{len(load.downloads.latencies)} downloads but {rendered} renders")
        return Outcome(idle, loaded, load.downloads, rendered, in_windows / loaded_seconds)
    finally:
        renderer.shutdown()
        await close_database()


# -- report --------------------------------------------------------------------------------------


def print_outcome(outcome: Outcome, args: argparse.Namespace) -> None:
    print(f"{'side':<24}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, timing in (("idle", outcome.idle), (f"{args.clients} PDF clients", outcome.loaded)):
        print(
            f"{name:<24}{len(timing.latencies):>6}{timing.percentile(0.5) * 1000:>10.2f}"
            f"{timing.percentile(0.99) * 1000:>10.2f}{max(timing.latencies) * 1000:>10.2f}"
        )
    downloads = outcome.downloads
    print(
        f"\nPDFs under load: {outcome.rendered} rendered (every download uncached), "
        f"{outcome.pdfs_per_second:.1f} PDF/s, download p50 "
        f"{downloads.percentile(0.5) * 1000:.0f} ms, p99 {downloads.percentile(0.99) * 1000:.0f} ms"
    )
    ratio = outcome.loaded.percentile(0.99) / outcome.idle.percentile(0.99)
    verdict = "PASS" if ratio <= GOAL else "FAIL"
    print(f"sqlite: GraphQL p99 under PDF load / idle p99 = {ratio:.2f}x   goal <= {GOAL:g}x   "
          f"{verdict}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4, help="length of each block")
    parser.add_argument("--blocks", type=int, default=4, help="idle/loaded blocks per side")
    parser.add_argument("--clients", type=int, default=4, help="concurrent PDF downloaders")
    parser.add_argument("--workers", type=int, default=2, help="PDF worker processes")
    parser.add_argument("--lines", type=int, default=40, help="line items per invoice")
    parser.add_argument("--invoices", type=int, default=400, help="distinct invoices to render")
    args = parser.parse_args()
    print("A small GraphQL query, idle and while PDFs render, alternating blocks, SQLite")
    print(f"  {args.blocks} x {args.seconds:g} s per side, alternating; {args.clients} "
          f"clients downloading uncached {args.lines}-line invoice PDFs; {args.workers} PDF "
          f"workers; {os.cpu_count()} CPUs")  # fmt: skip
    print(f"  query: {QUERY}\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="portico-pdf-") as tmp:
        try:
            outcome = asyncio.run(run(f"sqlite://{tmp}/bench.sqlite3", Path(tmp), args))
        except NotAPdf as exc:
            raise SystemExit(f"FAILED: {exc}") from None
    print_outcome(outcome, args)


if __name__ == "__main__":
    main()
