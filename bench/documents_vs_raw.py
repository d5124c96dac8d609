"""The portal's invoice page and home, and the staff invoice page at scale, as users get them:
Portico over HTTP against a hand-written endpoint (bench.raw_portal) that answers the same
requests with the same bytes.

Both sides are uvicorn processes started with the same options (bench.http_load.UVICORN_OPTIONS,
what `portico serve` passes): Portico as in production (PORTICO_ENV=production, a secret key,
GraphiQL off, log level warning, portal contacts held to the trusted registry of documents);
the baseline with its own driver pool and none of Portico's code. The front ends' documents
(the portal's documents/portal.graphql, and bench/documents/staff_invoices.graphql for the
staff page) are registered with `portico documents register` before Portico
starts, as a deploy does. Each side is loaded in turn by wrk with 16 kept-alive connections,
POSTing the body a front end sends (the operation's name, its variables and the document's
SHA-256 in the persisted query extension, no text) with the contact's or staff user's bearer
token. Rounds
alternate between the sides, and which side goes first alternates too; a figure is the median
over rounds of the per-round ratio, so that the machine's other work (printed as the load
average) weighs on both sides alike. Every run also reports the CPU the server process and wrk
used, and a client check shows wrk is not what limits (see client_check).

  - portal invoices: a portal contact's first 20 invoices (its customer's, never drafts), each
    with id, number, status (OVERDUE by the organization's calendar), currency, dates, total,
    balance due and 10 line items, and pageInfo. Goal: Portico >= 0.5 x raw requests/s
  - portal home: every figure portalHome offers but its nested organization and customer.
    Goal: Portico >= 0.5 x raw requests/s
  - staff invoices: a staff user's first 20 invoices, the same fields, in the small
    organization (about 1,000 invoices) and in one with --big. Goal: Portico's cost there at
    most 1.5 x the small one's (req/s small / req/s big); raw's is printed beside it

Before measuring, on each database, each side answers each request once to warm up and then
again: the two bodies must be equal byte for byte, and so must the next pages (after the first
page's endCursor), or the run fails; and an unregistered document from the contact must be
refused. They are compared again after measuring. SQL statements
per request are counted on one warmed request: Portico's in this process, through the same app
and database with Tortoise's query log (bench.sql_count), the baseline's by its own counter.
Exits non-zero only on a body mismatch or a crash, not on a missed goal. `--rounds 0` stops
after comparing the bodies and counting the statements.

Each database is migrated from nothing unless `--sqlite-template` / `--postgres-template` name a
migrated one to start from (a copy of the file; `CREATE DATABASE ... TEMPLATE` on the server of
`--postgres-url`); the migrations then run as always and find it up to date, or bring it up to
date.

    .venv/bin/python -m bench.documents_vs_raw [--backend sqlite|postgres|both] [--rounds 6]
        [--seconds 5] [--warmup 2] [--connections 16] [--big 100000] [--postgres-url URL]
        [--sqlite-template PATH] [--postgres-template NAME]

tests/e2e/test_bench_bodies.py runs the body comparison (`--rounds 0`) on a small data set.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import json
import logging
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from tortoise.backends.base.executor import EXECUTOR_CACHE

from auth.sessions import SessionPolicy
from bench.http_load import (
    UVICORN_OPTIONS,
    Run,
    Server,
    Target,
    load,
    load_average,
    uvicorn_server,
)
from bench.portal_data import Tokens, describe, seed
from bench.sql_count import counting_sql
from resolvers import calendars
from server.app import create_app
from server.database import close_database, open_database
from server.migrations import migrate
from server.settings import Settings
from tests.services import create_database, postgres_server

# The front ends' documents, registered in the trusted registry before Portico starts, as a
# deploy does (`portico documents register`), and sent by hash (see Request.body).
# The portal's pages are the portal front end's own operations; the staff page asks the portal
# page's fields, so that its scale figure compares like with like.
PORTAL_DOCUMENT = Path(__file__).parent.parent / "documents" / "portal.graphql"
STAFF_INVOICES_DOCUMENT = Path(__file__).parent / "documents" / "staff_invoices.graphql"
REGISTERED = (PORTAL_DOCUMENT, STAFF_INVOICES_DOCUMENT)

PAGE_GOAL = 0.5  # Portico req/s / raw req/s, at least
HOME_GOAL = 0.5
SCALE_GOAL = 1.5  # the big organization's staff page cost / the small one's, at most
SECRET_KEY = secrets.token_urlsafe(48)
PORTICO_APP = "server.asgi:app"
RAW_APP = "bench.raw_portal:app"


class Mismatch(Exception):
    pass


# -- the requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request as a front end sends it: to Portico's /graphql, and to the baseline's path.

    The document goes by its SHA-256 alone (Apollo's persisted query extension), as a front end
    whose documents are registered sends it: the hash is known from the first request on, so
    the text never travels (see bench/README.md)."""

    name: str
    raw_path: str
    operation: str
    document: Path
    token: str
    variables: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def text(self) -> str:
        # Bytes as they are: the registry hashes the file's exact text, final newline included.
        return self.document.read_bytes().decode()

    def body(self, **variables: Any) -> bytes:
        payload = {
            "operationName": self.operation,
            "variables": {**self.variables, **variables},
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(self.text)}},
        }
        return json.dumps(payload).encode()

    def text_body(self, text: str) -> bytes:
        """The same request with a document's text instead of the hash."""
        payload = {"query": text, "operationName": self.operation, "variables": self.variables}
        return json.dumps(payload).encode()

    @property
    def is_list(self) -> bool:
        return self.raw_path == "/invoices"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


PORTAL_INVOICES = "portal invoices"
PORTAL_HOME = "portal home"
STAFF_SMALL = "staff invoices, small org"
STAFF_BIG = "staff invoices, big org"


def requests_for(tokens: Tokens) -> dict[str, Request]:
    portal = Request(
        PORTAL_INVOICES,
        "/invoices",
        "PortalInvoices",
        PORTAL_DOCUMENT,
        tokens.contact,
        {"first": 20},
    )
    staff = replace(portal, operation="StaffInvoices", document=STAFF_INVOICES_DOCUMENT)
    return {
        PORTAL_INVOICES: portal,
        PORTAL_HOME: Request(PORTAL_HOME, "/home", "PortalHome", PORTAL_DOCUMENT, tokens.contact),
        STAFF_SMALL: replace(staff, name=STAFF_SMALL, token=tokens.staff_small),
        STAFF_BIG: replace(staff, name=STAFF_BIG, token=tokens.staff_big),
    }


@dataclass(frozen=True)
class Sides:
    portico: Server
    raw: Server

    def targets(self, request: Request) -> dict[str, Target]:
        body = request.body()
        return {
            "portico": Target(self.portico, f"{self.portico.base}/graphql", body, request.token),
            "raw": Target(self.raw, f"{self.raw.base}{request.raw_path}", body, request.token),
        }


# -- same bytes on both sides ---------------------------------------------------------------------


def post(target: Target, body: bytes | None = None) -> bytes:
    response = httpx.post(
        target.url,
        content=body or target.body,
        headers={"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"},
        timeout=60,
        trust_env=False,
    )
    if response.status_code != 200:
        raise Mismatch(f"{target.url} answered {response.status_code}: {response.text[:500]}")
    return response.content


def same_answer(sides: Sides, request: Request, **variables: Any) -> bytes:
    """Both sides' second answer to the request (the first warms up), which must be equal."""
    body = request.body(**variables)
    answers = []
    for target in sides.targets(request).values():
        post(target, body)
        answers.append(post(target, body))
    portico, raw = answers
    if portico != raw:
        raise Mismatch(f"{request.name} {variables or ''}: {difference(portico, raw)}")
    if "errors" in json.loads(portico):
        raise Mismatch(f"{request.name}: both sides answered with errors: {portico[:500]!r}")
    return portico


def difference(portico: bytes, raw: bytes) -> str:
    at = next(
        (n for n, (a, b) in enumerate(zip(portico, raw, strict=False)) if a != b),
        min(len(portico), len(raw)),
    )
    start = max(0, at - 120)
    return (
        f"the bodies differ at byte {at} ({len(portico)} vs {len(raw)} bytes)\n"
        f"  portico: ...{portico[start : at + 120]!r}\n  raw:     ...{raw[start : at + 120]!r}"
    )


def check_bodies(sides: Sides, requests: dict[str, Request]) -> dict[str, str]:
    """Per request, what was compared: the first page and, for lists, the next one."""
    checked = {}
    for request in requests.values():
        first = same_answer(sides, request)
        checked[request.name] = f"{len(first):,} bytes"
        if request.is_list:
            cursor = json.loads(first)["data"]["salesDocuments"]["pageInfo"]["endCursor"]
            second = same_answer(sides, request, after=cursor)
            checked[request.name] += f", next page {len(second):,} bytes"
    return checked


def registry_holds(sides: Sides, request: Request) -> str:
    """Portico runs as production does: a portal contact's document that is not registered
    (here the registered one with a character more) is refused, so the measured requests run
    because they are registered."""
    answer = json.loads(
        post(sides.targets(request)["portico"], request.text_body(request.text + " "))
    )
    codes = [error.get("extensions", {}).get("code") for error in answer.get("errors", ())]
    if codes != ["DOCUMENT_NOT_REGISTERED"]:
        raise Mismatch(f"an unregistered document from the contact was not refused: {answer}")
    return "an unregistered document from the contact gets DOCUMENT_NOT_REGISTERED"


def page_mix(sides: Sides, request: Request) -> str:
    """What the contact's first page exercises: derived statuses and currencies."""
    nodes = json.loads(post(sides.targets(request)["portico"]))["data"]["salesDocuments"]["nodes"]
    statuses = Counter(node["status"] for node in nodes)
    currencies = Counter(node["currency"] for node in nodes)
    lines = sum(len(node["lineItems"]) for node in nodes)
    return (
        f"{len(nodes)} invoices, {lines} line items; "
        + ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
        + "; "
        + ", ".join(f"{currency} {n}" for currency, n in sorted(currencies.items()))
    )


# -- SQL statements per request -------------------------------------------------------------------


def production_settings(url: str, var_dir: Path) -> Settings:
    return Settings(
        environment="production",
        database_url=url,
        secret_key=SECRET_KEY,
        graphiql=False,
        var_dir=var_dir,
    )


def register_documents(url: str, var_dir: Path) -> list[str]:
    """`portico documents register` with the front ends' files, against the bench database,
    as a deploy does before the new front end goes out."""
    result = subprocess.run(
        # `python -m server` is the `portico` command, installed or not.
        [sys.executable, "-m", "server", "documents", "register", *map(str, REGISTERED)],
        env=server_env(url, var_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"portico documents register failed:\n{result.stderr}")
    return result.stdout.splitlines()


async def portico_statements(settings: Settings, requests: dict[str, Request]) -> dict[str, int]:
    """Statements Portico's app sends for one warmed request of each, counted in process."""
    await open_database(settings)
    counts = {}
    try:
        app = create_app(settings, manage_database=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portico") as http:
            for request in requests.values():
                headers = {
                    "Authorization": f"Bearer {request.token}",
                    "Content-Type": "application/json",
                }
                await http.post("/graphql", content=request.body(), headers=headers)
                with counting_sql() as counter:
                    await http.post("/graphql", content=request.body(), headers=headers)
                counts[request.name] = len(counter.statements)
    finally:
        await close_database()
    return counts


def raw_statements(sides: Sides, request: Request) -> int:
    def counted() -> int:
        response = httpx.get(f"{sides.raw.base}/stats", timeout=10, trust_env=False)
        return int(response.json()["statements"])

    before = counted()
    post(sides.targets(request)["raw"])
    return counted() - before


# -- rounds ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    rounds: int
    seconds: int
    warmup: int
    connections: int
    script_dir: Path


Report = Callable[[int, str, Run], None]


def measure(targets: dict[str, Target], plan: Load, report: Report) -> dict[str, list[Run]]:
    """One run per target and round, in the given order and reversed in every other round, so
    that no side is always first and the runs compared within a round (given next to each
    other) stay next to each other."""
    for target in targets.values():
        load(target, plan.warmup, plan.script_dir, plan.connections)
    labels = list(targets)
    runs: dict[str, list[Run]] = {label: [] for label in labels}
    for round_ in range(plan.rounds):
        for label in labels if round_ % 2 == 0 else labels[::-1]:
            run = load(targets[label], plan.seconds, plan.script_dir, plan.connections)
            runs[label].append(run)
            report(round_ + 1, label, run)
    return runs


def ratios(numerators: list[Run], denominators: list[Run]) -> list[float]:
    return [a.throughput / b.throughput for a, b in zip(numerators, denominators, strict=True)]


def cpu_ratios(numerators: list[Run], denominators: list[Run]) -> list[float]:
    pairs = zip(numerators, denominators, strict=True)
    return [a.per_cpu_second / b.per_cpu_second for a, b in pairs]


def median_of(runs: list[Run], figure: Callable[[Run], float]) -> float:
    return statistics.median(figure(run) for run in runs)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def client_check(target: Target, plan: Load, prefix: str) -> None:
    """The baseline alone: at the benchmark's load, at four times the connections with two wrk
    threads, and on a route that does next to nothing (what wrk can send at most). The server
    process taking what CPU the machine leaves it, wrk taking a few percent, and the idle
    route answering many times faster mean the server limits, not the client."""
    idle = replace(target, url=f"{target.server.base}/readyz", body=b"", method="GET")
    for name, checked, threads, connections in (
        ("portal invoices", target, 1, plan.connections),
        ("portal invoices", target, 2, plan.connections * 4),
        ("GET /readyz", idle, 1, plan.connections),
    ):
        run = load(checked, plan.seconds, plan.script_dir, connections, threads)
        print(
            f"{prefix}client check, raw {name}, wrk -t{threads} -c{connections}: "
            f"{run.throughput:,.0f} req/s, p50 {run.p50_ms:.1f} ms, server CPU "
            f"{run.server_cpu:.0%} of a core, wrk CPU {run.client_cpu:.0%}",
            flush=True,
        )


# -- one database ---------------------------------------------------------------------------------


def server_env(url: str, var_dir: Path) -> dict[str, str]:
    """Portico's production settings; the baseline reads DATABASE_URL from the same."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PORTICO_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    return inherited | {
        "PORTICO_ENV": "production",
        "PORTICO_SECRET_KEY": SECRET_KEY,
        "PORTICO_GRAPHIQL": "false",
        "PORTICO_VAR_DIR": str(var_dir),
        "DATABASE_URL": url,
    }


@contextmanager
def both_sides(url: str, tmp: Path) -> Iterator[Sides]:
    env = server_env(url, tmp / "var")
    with ExitStack() as stack:
        yield Sides(
            stack.enter_context(uvicorn_server("portico", PORTICO_APP, env, tmp / "portico.log")),
            stack.enter_context(uvicorn_server("raw", RAW_APP, env, tmp / "raw.log")),
        )


def run_backend(backend: str, url: str, tmp: Path, plan: Load, big: int) -> None:
    requests, portico_sql = prepare(backend, url, tmp, big)
    with both_sides(url, tmp) as sides:
        sql = check_and_count(backend, sides, requests, portico_sql)
        if plan.rounds == 0:
            return
        client_check(sides.targets(requests[PORTAL_INVOICES])["raw"], plan, f"{backend}: ")
        say(backend, f"load average {load_average()}")
        print(RUN_HEADER, flush=True)
        summaries = measure_all(backend, sides, requests, plan, sql)
        for name, checked in check_bodies(sides, requests).items():
            say(backend, f"bodies still equal after measuring, {name}: {checked}")
    say(backend, f"load average {load_average()}")
    print("\n" + "\n".join(summaries) + "\n", flush=True)
    for log in ("portico.log", "raw.log"):  # warnings and errors only: empty when all went well
        if text := (tmp / log).read_text().strip():
            say(backend, f"{log} (last lines):\n{text[-2000:]}")


def say(backend: str, text: str) -> None:
    print(f"{backend}: {text}", flush=True)


def prepare(
    backend: str, url: str, tmp: Path, big: int
) -> tuple[dict[str, Request], dict[str, int]]:
    """The schema, the data and Portico's SQL statements per request, before any server."""
    EXECUTOR_CACHE.clear()  # compiled SQL is kept per connection name: "default" on both
    calendars.forget_all()
    migrated = asyncio.run(migrate(url))
    say(backend, f"migrations applied: {len(migrated.applied)}")  # none on an up-to-date template
    settings = production_settings(url, tmp / "var")
    seeded = asyncio.run(seed(url, SessionPolicy.from_settings(settings), big))
    say(backend, describe(seeded))
    for line in register_documents(url, tmp / "var"):
        say(backend, f"documents register: {line}")
    requests = requests_for(seeded.tokens)
    return requests, asyncio.run(portico_statements(settings, requests))


def check_and_count(
    backend: str, sides: Sides, requests: dict[str, Request], portico_sql: dict[str, int]
) -> dict[str, tuple[int, int]]:
    """Equal bodies, or Mismatch; then SQL statements per request, Portico's and raw's."""
    for name, checked in check_bodies(sides, requests).items():
        say(backend, f"bodies equal, {name}: {checked}")
    say(backend, f"the contact's first page: {page_mix(sides, requests[PORTAL_INVOICES])}")
    say(backend, registry_holds(sides, requests[PORTAL_INVOICES]))
    sql = {
        name: (portico_sql[name], raw_statements(sides, request))
        for name, request in requests.items()
    }
    say(
        backend,
        "SQL statements per request, Portico vs raw: "
        + ", ".join(f"{name} {p} vs {r}" for name, (p, r) in sql.items()),
    )
    return sql


def measure_all(
    backend: str,
    sides: Sides,
    requests: dict[str, Request],
    plan: Load,
    sql: dict[str, tuple[int, int]],
) -> list[str]:
    summaries = []
    for name, goal in ((PORTAL_INVOICES, PAGE_GOAL), (PORTAL_HOME, HOME_GOAL)):
        runs = measure(sides.targets(requests[name]), plan, reporter(backend, name))
        summaries += side_lines(backend, name, runs, sql[name])
        per_round = ratios(runs["portico"], runs["raw"])
        figure = statistics.median(per_round)
        summaries.append(
            f"{backend}: {name}: Portico / raw throughput = {figure:.2f} (median of rounds: "
            f"{' '.join(f'{r:.2f}' for r in per_round)})   goal >= {goal}   "
            f"{verdict(figure >= goal)}"
        )
        summaries.append(
            f"{backend}: {name}: Portico / raw requests per server CPU-second = "
            f"{statistics.median(cpu_ratios(runs['portico'], runs['raw'])):.2f}"
        )
    small, big = sides.targets(requests[STAFF_SMALL]), sides.targets(requests[STAFF_BIG])
    targets = {
        "portico small": small["portico"],
        "portico big": big["portico"],
        "raw small": small["raw"],
        "raw big": big["raw"],
    }
    runs = measure(targets, plan, reporter(backend, "staff invoices"))
    for side in ("portico", "raw"):
        for size, name in (("small", STAFF_SMALL), ("big", STAFF_BIG)):
            summaries += side_lines(backend, name, {side: runs[f"{side} {size}"]}, sql[name])
    summaries += scale_lines(backend, runs)
    return summaries


def scale_lines(backend: str, runs: dict[str, list[Run]]) -> list[str]:
    lines = []
    for side in ("portico", "raw"):
        small, big = runs[f"{side} small"], runs[f"{side} big"]
        per_round = ratios(small, big)
        figure = statistics.median(per_round)
        goal = f"   goal <= {SCALE_GOAL}   {verdict(figure <= SCALE_GOAL)}"
        lines.append(
            f"{backend}: staff invoices, {side}: cost in the big org / in the small org = "
            f"{figure:.2f} (median of rounds: {' '.join(f'{r:.2f}' for r in per_round)})"
            + (goal if side == "portico" else "   (for reference)")
        )
        lines.append(
            f"{backend}: staff invoices, {side}: the same in server CPU per request = "
            f"{statistics.median(cpu_ratios(small, big)):.2f}"
        )
    for size in ("small", "big"):
        portico, raw = runs[f"portico {size}"], runs[f"raw {size}"]
        lines.append(
            f"{backend}: staff invoices, {size} org: Portico / raw throughput = "
            f"{statistics.median(ratios(portico, raw)):.2f}, per server CPU-second = "
            f"{statistics.median(cpu_ratios(portico, raw)):.2f}"
        )
    return lines


RUN_HEADER = (
    f"{'backend':<9}{'request':<22}{'round':>5}  {'side':<14}{'req/s':>8}{'p50 ms':>9}"
    f"{'p99 ms':>9}{'server CPU':>12}{'wrk CPU':>9}{'socket err':>11}"
)


def reporter(backend: str, name: str) -> Report:
    def report(round_: int, label: str, run: Run) -> None:
        print(
            f"{backend:<9}{name:<22}{round_:>5}  {label:<14}{run.throughput:>8.0f}"
            f"{run.p50_ms:>9.1f}{run.p99_ms:>9.1f}{run.server_cpu:>12.0%}"
            f"{run.client_cpu:>9.0%}{run.socket_errors:>11}",
            flush=True,
        )

    return report


def side_lines(
    backend: str, name: str, runs: dict[str, list[Run]], sql: tuple[int, int]
) -> list[str]:
    statements = {"portico": sql[0], "raw": sql[1]}
    return [
        f"{backend}: {name}, {side}: {median_of(side_runs, lambda r: r.throughput):,.0f} req/s, "
        f"p50 {median_of(side_runs, lambda r: r.p50_ms):.1f} ms, "
        f"p99 {median_of(side_runs, lambda r: r.p99_ms):.1f} ms (medians of rounds), "
        f"{statements[side]} SQL statements per request"
        for side, side_runs in runs.items()
    ]


# -- main -----------------------------------------------------------------------------------------


def run_sqlite(plan: Load, big: int, template: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="portico-docs-") as tmp:
        database = Path(tmp) / "bench.sqlite3"
        if template is not None:
            shutil.copyfile(template, database)
        run_backend("sqlite", f"sqlite://{database}", Path(tmp), plan, big)


def run_postgres(
    plan: Load, big: int, required: bool, server_url: str | None, template: str | None
) -> None:
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-docs-"))
        server = server_url or stack.enter_context(postgres_server())
        if server is None:
            if required:
                raise SystemExit("PostgreSQL (initdb/pg_ctl) is not installed")
            print("postgres: skipped, PostgreSQL (initdb/pg_ctl) is not installed")
            return
        url = asyncio.run(create_database(server, "portico_bench", template))
        run_backend("postgres", url, Path(tmp), plan, big)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--rounds", type=int, default=6, help="rounds per request (0: compare bodies only)"
    )
    parser.add_argument("--seconds", type=int, default=5, help="seconds per side and round")
    parser.add_argument("--warmup", type=int, default=2, help="seconds per side before rounds")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--big", type=int, default=100_000, help="invoices in the big org")
    parser.add_argument(
        "--postgres-url",
        help="a running PostgreSQL server to use instead of a throwaway one (its database "
        "portico_bench is dropped and created again)",
    )
    parser.add_argument(
        "--sqlite-template",
        type=Path,
        metavar="PATH",
        help="an SQLite database migrated by `portico migrate` to copy instead of migrating "
        "from nothing (the migrations still run, and find it up to date)",
    )
    parser.add_argument(
        "--postgres-template",
        metavar="NAME",
        help="with --postgres-url: a database on that server migrated by `portico migrate`, "
        "which portico_bench is created as a copy of instead of migrating from nothing",
    )
    args = parser.parse_args()
    if args.postgres_template and not args.postgres_url:
        parser.error("--postgres-template needs --postgres-url (a throwaway server has none)")
    if args.sqlite_template and not args.sqlite_template.is_file():
        parser.error(f"--sqlite-template: no such file: {args.sqlite_template}")
    # The bench's own HTTP client logs each request at INFO, the level Portico's in-process
    # counting sets up; the report is what this process prints.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    print(
        "Portal pages over HTTP: Portico vs a hand-written endpoint (bench.raw_portal), "
        "byte-equal JSON"
    )
    print(f"  both: python -m uvicorn <app> {' '.join(UVICORN_OPTIONS)}")
    print(
        f"  load: wrk -t1 -c{args.connections}, {args.rounds} rounds x {args.seconds:g} s per "
        f"side after {args.warmup:g} s warm-up; sides alternate, figures are medians of "
        "per-round ratios"
    )
    print(f"  load average before: {load_average()} ({os.cpu_count()} CPUs)", flush=True)
    with tempfile.TemporaryDirectory(prefix="portico-wrk-") as scripts:
        plan = Load(args.rounds, args.seconds, args.warmup, args.connections, Path(scripts))
        try:
            if args.backend in ("sqlite", "both"):
                run_sqlite(plan, args.big, args.sqlite_template)
            if args.backend in ("postgres", "both"):
                run_postgres(
                    plan,
                    args.big,
                    args.backend == "postgres",
                    args.postgres_url,
                    args.postgres_template,
                )
        except Mismatch as exc:
            raise SystemExit(f"FAILED: {exc}") from None
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
