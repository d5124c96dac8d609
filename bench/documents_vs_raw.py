"""Portal documents list and portal home through GraphQL, against a hand-written Starlette endpoint
that answers the same request with raw SQL on the same Tortoise connection.

The raw endpoint authenticates the same bearer token (one session query), applies the same scoping
(organization, customer, no drafts for a contact, kind) and ordering (issue_date DESC, id DESC), and
returns the same JSON as the API, keys in the same order (checked before measuring each row; a
difference fails the run). Requests alternate between the two, sequentially, in process through
httpx.ASGITransport; the results are ratios measured in one run on one database:
  - portal list: a contact's first 20 invoices with line items (goal: GraphQL >= 0.25 x raw req/s)
  - portal home: the dashboard figures (goal: GraphQL >= 0.5 x raw req/s)
  - staff list: the same page for staff, in a small organization and in one with --big invoices;
    the page should cost about the same in both (goal: big p50 <= 2 x small p50)
    .venv/bin/python -m bench.documents_vs_raw [--backend sqlite|postgres|both] [--rounds 300]
        [--big 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise import connections
from tortoise.backends.base.executor import EXECUTOR_CACHE

from auth.sessions import SessionPolicy, start_session
from auth.tokens import hash_token
from bench.sql_count import counting_sql
from models.customers import ContactPerson, Customer, PortalAccess
from models.documents import DocumentKind, DocumentStatus, LineItem, SalesDocument
from models.organizations import Organization
from models.preferences import PortalPreferences
from models.sessions import Session
from models.staff import StaffRole, StaffUser
from server.app import create_app
from server.database import close_database, migrate, open_database
from server.settings import Settings
from tests.services import create_database, postgres_server

LIST_QUERY = """{ salesDocuments(first: 20, filter: {kinds: [INVOICE]}) { nodes {
  number status issueDate total { amount currency }
  ... on Invoice { balanceDue { amount } dueDate }
  lineItems { name quantity rate amount { amount } } } } }"""
HOME_QUERY = """{ portalHome {
  outstandingInvoices { amount currency } availableCredits { amount currency }
  outstandingRetainerInvoices { amount currency } salesOrderCounts { status count } } }"""

LIST_GOAL = 0.25
HOME_GOAL = 0.5
BIG_GOAL = 2.0  # big-organization staff page p50 / small-organization staff page p50
WARMUP = 20
BATCH = 5_000
TODAY = datetime.now(UTC).date()


# -- data ----------------------------------------------------------------------------------------


@dataclass
class Tokens:
    contact: str  # the portal contact of the customer with ~200 invoices
    staff_small: str  # staff of that (small) organization
    staff_big: str  # staff of the organization with --big invoices


def line_items(document: SalesDocument, number: int) -> list[LineItem]:
    items = []
    for position in range(3):
        quantity = Decimal(position + 1) / 2 + number % 3  # 0.5 .. 3.5, a few decimals
        rate = Decimal(1999 + 250 * position + number % 97) / 100
        amount = int((quantity * rate * 100).to_integral_value())
        items.append(
            LineItem(
                document_id=document.id, position=position + 1, name=f"Item {number}-{position}",
                quantity=quantity, rate=rate, amount_minor=amount,
            )
        )  # fmt: skip
    return items


PREFIXES = {DocumentKind.INVOICE: "INV", DocumentKind.CREDIT_NOTE: "CN",
            DocumentKind.RETAINER_INVOICE: "RET", DocumentKind.SALES_ORDER: "SO"}  # fmt: skip


def document(
    org: Organization,
    customer_id: int,
    kind: DocumentKind,
    number: int,
    status: DocumentStatus,
    issued: date,
    currency: str = "USD",
) -> SalesDocument:
    prefix = PREFIXES[kind]
    total = 1_000 + (number * 7919) % 250_000
    if currency == "JPY":
        total //= 10
    terms = 3 if number % 4 == 1 else 30  # short terms: some open invoices are OVERDUE
    paid = {DocumentStatus.PAID: total, DocumentStatus.PARTIALLY_PAID: total // 3}.get(status, 0)
    open_statuses = (DocumentStatus.SENT, DocumentStatus.PARTIALLY_PAID)
    balance = total - paid if status in (*open_statuses, DocumentStatus.DRAFT) else 0
    return SalesDocument(
        organization_id=org.id, customer_id=customer_id, kind=kind, number=f"{prefix}-{number:06}",
        status=status, currency=currency, issue_date=issued,
        due_date=None if number % 17 == 0 else issued + timedelta(days=terms),
        subtotal_minor=total, total_minor=total, balance_minor=balance,
        sent_at=None if status == DocumentStatus.DRAFT else datetime.now(UTC),
    )  # fmt: skip


async def insert(documents: list[SalesDocument]) -> None:
    """Bulk-inserts the documents, then 3 line items each (ids looked up by number)."""
    for start in range(0, len(documents), BATCH):
        await SalesDocument.bulk_create(documents[start : start + BATCH])
    org_id = documents[0].organization_id
    rows = await SalesDocument.filter(organization_id=org_id).values_list("id", "kind", "number")
    ids = {(kind, number): pk for pk, kind, number in rows}
    items: list[LineItem] = []
    for index, doc in enumerate(documents):
        doc.id = ids[(doc.kind, doc.number)]
        items.extend(line_items(doc, index))
        if len(items) >= BATCH:
            await LineItem.bulk_create(items)
            items = []
    if items:
        await LineItem.bulk_create(items)


async def seed_small(policy: SessionPolicy) -> tuple[str, str]:
    """One organization: the benchmarked customer and a neighbour whose documents must not show."""
    org = await Organization.create(name="Small Co", portal_name="small")
    await PortalPreferences.create(organization=org, show_sales_orders=True, show_credit_notes=True)
    staff = await StaffUser.create(
        organization=org, email="staff@small.example", name="S", role=StaffRole.STAFF
    )
    customer = await Customer.create(organization=org, display_name="Acorn", currency="USD")
    contact = await ContactPerson.create(
        organization=org, customer=customer, email="ann@acorn.example",
        portal_access=PortalAccess.ACTIVE, is_primary=True,
    )  # fmt: skip
    neighbour = await Customer.create(organization=org, display_name="Birch", currency="USD")
    statuses = (DocumentStatus.SENT, DocumentStatus.PARTIALLY_PAID, DocumentStatus.PAID)
    docs: list[SalesDocument] = []
    number = 0

    def add(customer_id: int, kind: DocumentKind, status: DocumentStatus, issued: date,
            currency: str = "USD") -> None:  # fmt: skip
        nonlocal number
        number += 1
        docs.append(document(org, customer_id, kind, number, status, issued, currency))

    for n in range(200):  # two per day, so issue_date ties are broken by id
        currency = "JPY" if n % 23 == 5 else "EUR" if n % 11 == 3 else "USD"
        add(customer.id, DocumentKind.INVOICE, statuses[n % 3], TODAY - timedelta(days=n // 2),
            currency)  # fmt: skip
    for _ in range(5):  # newest of all, but drafts: staff see them, the contact does not
        add(customer.id, DocumentKind.INVOICE, DocumentStatus.DRAFT, TODAY + timedelta(days=1))
    for n in range(30):  # newer than the customer's, for another customer
        add(neighbour.id, DocumentKind.INVOICE, statuses[n % 3], TODAY - timedelta(days=n % 3))
    for status in (DocumentStatus.SENT, DocumentStatus.SENT, DocumentStatus.CLOSED):
        add(customer.id, DocumentKind.CREDIT_NOTE, status, TODAY - timedelta(days=40))
    add(customer.id, DocumentKind.CREDIT_NOTE, DocumentStatus.SENT, TODAY, "EUR")
    for status in (DocumentStatus.SENT, DocumentStatus.PARTIALLY_PAID, DocumentStatus.PAID):
        add(customer.id, DocumentKind.RETAINER_INVOICE, status, TODAY - timedelta(days=20))
    for status in (DocumentStatus.CONFIRMED, DocumentStatus.CONFIRMED, DocumentStatus.SHIPPED,
                   DocumentStatus.FULFILLED, DocumentStatus.DRAFT):  # fmt: skip
        add(customer.id, DocumentKind.SALES_ORDER, status, TODAY - timedelta(days=10))
    await insert(docs)
    contact_token, _ = await start_session(policy, contact=contact)
    staff_token, _ = await start_session(policy, staff_user=staff)
    return contact_token, staff_token


async def seed_big(policy: SessionPolicy, invoices: int) -> str:
    org = await Organization.create(name="Big Co", portal_name="big")
    staff = await StaffUser.create(
        organization=org, email="staff@big.example", name="B", role=StaffRole.STAFF
    )
    customers = [
        Customer(organization_id=org.id, display_name=f"C{n:05}", currency="USD")
        for n in range(max(1, invoices // 100))
    ]
    await Customer.bulk_create(customers, batch_size=BATCH)
    customer_ids = await Customer.filter(organization_id=org.id).values_list("id", flat=True)
    statuses = (DocumentStatus.SENT, DocumentStatus.PARTIALLY_PAID, DocumentStatus.PAID,
                DocumentStatus.PAID, DocumentStatus.DRAFT)  # fmt: skip
    docs = [
        document(org, customer_ids[(n * 7) % len(customer_ids)], DocumentKind.INVOICE, n + 1,
                 statuses[n % 5], TODAY - timedelta(days=(n * 37) % 1800))
        for n in range(invoices)
    ]  # fmt: skip
    await insert(docs)
    token, _ = await start_session(policy, staff_user=staff)
    return token


# -- the hand-written baseline -------------------------------------------------------------------


CURRENCY_DECIMALS = {"USD": 2, "EUR": 2, "JPY": 0}
QUANTITY = Decimal("1.0000")  # line_item.quantity and .rate scales, as the API prints them
RATE = Decimal("1.000000")
PAYABLE = ("INVOICE", "RETAINER_INVOICE")
OPEN = ("SENT", "PARTIALLY_PAID")


def money(minor: Any, currency: str) -> str:
    decimals = CURRENCY_DECIMALS[currency]
    minor = int(minor)
    if decimals == 0:
        return str(minor)
    whole, part = divmod(abs(minor), 10**decimals)
    return f"{'-' if minor < 0 else ''}{whole}.{part:0{decimals}d}"


def iso(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value  # SQLite hands dates back as text already
    return value.isoformat()


def as_date(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def as_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Viewer:
    organization_id: int
    customer_id: int | None  # None: staff
    show_sales_orders: bool


SESSION_SQL = """
SELECT s.id, s.last_seen_at, s.expires_at, u.is_active, u.organization_id AS staff_org,
       c.customer_id, c.portal_access, c.organization_id AS contact_org,
       p.mfa_required, p.show_sales_orders
FROM session s
LEFT JOIN staff_user u ON u.id = s.staff_user_id
LEFT JOIN contact_person c ON c.id = s.contact_id
LEFT JOIN portal_preferences p ON p.organization_id = s.organization_id
WHERE s.token_hash = ? AND s.revoked_at IS NULL"""

LIST_SQL = """
SELECT id, kind, number, status, currency, issue_date, due_date, total_minor, balance_minor
FROM sales_document
WHERE organization_id = ? {customer} AND kind = 'INVOICE'
ORDER BY issue_date DESC, id DESC LIMIT 20"""

LINES_SQL = """
SELECT document_id, name, quantity, rate, amount_minor FROM line_item
WHERE document_id IN ({ids}) ORDER BY document_id, position, id"""

HOME_SQL = """
SELECT 'amount' AS figure, kind, currency AS name, SUM(balance_minor) AS value
FROM sales_document
WHERE organization_id = ? AND customer_id = ? AND status <> 'DRAFT' AND balance_minor > 0
  AND ((kind IN ('INVOICE', 'RETAINER_INVOICE') AND status IN ('SENT', 'PARTIALLY_PAID'))
       OR (kind = 'CREDIT_NOTE' AND status = 'SENT'))
GROUP BY kind, currency
UNION ALL
SELECT 'count', kind, status, COUNT(id) FROM sales_document
WHERE organization_id = ? AND customer_id = ? AND status <> 'DRAFT' AND kind = 'SALES_ORDER'
  AND ? GROUP BY kind, status
ORDER BY 1, 2, 3"""


class Raw:
    """Two endpoints answering LIST_QUERY and HOME_QUERY with raw SQL, as the API would."""

    def __init__(self, policy: SessionPolicy, postgres: bool) -> None:
        self.policy = policy
        self.postgres = postgres

    def sql(self, text: str) -> str:
        if not self.postgres:
            return text
        parts = text.split("?")
        return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))

    async def query(self, text: str, values: list[Any]) -> list[dict[str, Any]]:
        return await connections.get("default").execute_query_dict(self.sql(text), values)

    async def viewer(self, request: Request) -> Viewer | None:
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return None
        rows = await self.query(SESSION_SQL, [hash_token(secret.strip())])
        if not rows:
            return None
        row, now = rows[0], datetime.now(UTC)
        last_seen = as_datetime(row["last_seen_at"])
        if as_datetime(row["expires_at"]) <= now or last_seen + self.policy.idle <= now:
            return None
        if row["staff_org"] is not None:
            if not row["is_active"]:
                return None
            viewer = Viewer(row["staff_org"], None, True)
        elif row["contact_org"] is not None and row["portal_access"] == "ACTIVE":
            if row["mfa_required"]:
                return None  # not seeded here; a contact would first have to enroll
            shown = row["show_sales_orders"] is None or bool(row["show_sales_orders"])
            viewer = Viewer(row["contact_org"], row["customer_id"], shown)
        else:
            return None
        if now - last_seen >= timedelta(minutes=1):  # as the API: at most once a minute
            await Session.filter(id=row["id"]).update(last_seen_at=now)
        return viewer

    async def documents(self, request: Request) -> Response:
        await request.json()  # read like the GraphQL endpoint does; always LIST_QUERY here
        viewer = await self.viewer(request)
        if viewer is None:
            return JSONResponse({"errors": [{"message": "unauthenticated"}]})
        values: list[Any] = [viewer.organization_id]
        customer = ""
        if viewer.customer_id is not None:
            customer = "AND customer_id = ? AND status <> 'DRAFT'"
            values.append(viewer.customer_id)
        rows = await self.query(LIST_SQL.format(customer=customer), values)
        lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if rows:
            ids = [row["id"] for row in rows]
            placeholders = ", ".join("?" * len(ids))
            for line in await self.query(LINES_SQL.format(ids=placeholders), ids):
                lines[line["document_id"]].append(line)
        nodes = []
        for row in rows:
            currency, due = row["currency"], row["due_date"]
            status = row["status"]
            if (row["kind"] in PAYABLE and status in OPEN and due is not None
                    and as_date(due) < TODAY and row["balance_minor"] > 0):  # fmt: skip
                status = "OVERDUE"
            nodes.append({
                "number": row["number"],
                "status": status,
                "issueDate": iso(row["issue_date"]),
                "total": {"amount": money(row["total_minor"], currency), "currency": currency},
                "balanceDue": {"amount": money(row["balance_minor"], currency)},
                "dueDate": iso(due),
                "lineItems": [{
                    "name": line["name"],
                    "quantity": str(Decimal(line["quantity"]).quantize(QUANTITY)),
                    "rate": str(Decimal(line["rate"]).quantize(RATE)),
                    "amount": {"amount": money(line["amount_minor"], currency)},
                } for line in lines[row["id"]]],
            })  # fmt: skip
        return JSONResponse({"data": {"salesDocuments": {"nodes": nodes}}})

    async def home(self, request: Request) -> Response:
        await request.json()
        viewer = await self.viewer(request)
        if viewer is None or viewer.customer_id is None:
            return JSONResponse({"errors": [{"message": "a portal contact only"}]})
        org, customer = viewer.organization_id, viewer.customer_id
        shown = viewer.show_sales_orders
        rows = await self.query(HOME_SQL, [org, customer, org, customer, shown])
        figures: dict[str, list[dict[str, Any]]] = {
            "INVOICE": [], "CREDIT_NOTE": [], "RETAINER_INVOICE": []
        }  # fmt: skip
        counts = []
        for row in rows:
            if row["figure"] == "amount":
                amount = money(row["value"], row["name"])
                figures[row["kind"]].append({"amount": amount, "currency": row["name"]})
            else:
                counts.append({"status": row["name"], "count": int(row["value"])})
        home = {
            "outstandingInvoices": figures["INVOICE"],
            "availableCredits": figures["CREDIT_NOTE"],
            "outstandingRetainerInvoices": figures["RETAINER_INVOICE"],
            "salesOrderCounts": counts if shown else None,
        }
        return JSONResponse({"data": {"portalHome": home}})


# -- measuring -----------------------------------------------------------------------------------


Send = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class Timing:
    latencies: list[float] = field(default_factory=list)
    sql: int = 0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / sum(self.latencies)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class Comparison:
    name: str
    graphql: Timing
    raw: Timing

    @property
    def ratio(self) -> float:
        return self.graphql.throughput / self.raw.throughput


class Mismatch(Exception):
    pass


async def compare(name: str, graphql: Send, raw: Send, rounds: int) -> Comparison:
    first, second = await graphql(), await raw()
    if json.dumps(first) != json.dumps(second):
        raise Mismatch(f"{name}: bodies differ\n  graphql: {first}\n  raw:     {second}")
    result = Comparison(name, Timing(), Timing())
    with counting_sql() as counter:
        await graphql()
        result.graphql.sql = len(counter.statements)
        counter.statements.clear()
        await raw()
        result.raw.sql = len(counter.statements)
    for _ in range(WARMUP):
        await graphql()
        await raw()
    gc.collect()
    pairs = ((graphql, result.graphql), (raw, result.raw))
    for round_ in range(rounds):  # interleaved, and which side goes first alternates
        for send, timing in pairs if round_ % 2 == 0 else pairs[::-1]:
            start = time.perf_counter()
            await send()
            timing.latencies.append(time.perf_counter() - start)
    return result


def poster(http: httpx.AsyncClient, path: str, query: str, token: str) -> Send:
    headers = {"Authorization": f"Bearer {token}"}

    async def send() -> dict[str, Any]:
        response = await http.post(path, json={"query": query}, headers=headers)
        response.raise_for_status()
        body = response.json()
        if "errors" in body:
            raise Mismatch(f"{path} answered with errors: {body['errors']}")
        return body

    return send


async def page_plan(raw: Raw, staff: StaffUser) -> str:
    explain = "EXPLAIN " if raw.postgres else "EXPLAIN QUERY PLAN "
    rows = await raw.query(explain + LIST_SQL.format(customer=""), [staff.organization_id])
    steps = [str(row.get("QUERY PLAN", row.get("detail", ""))).strip() for row in rows]
    return " / ".join(step.split("  (cost=")[0] for step in steps if step)


# -- one backend ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    backend: str
    comparisons: dict[str, Comparison]
    load_seconds: float
    big: int
    plan: str  # how the database answers the big organization's staff page


async def run_backend(backend: str, url: str, var_dir: Path, rounds: int, big: int) -> Outcome:
    settings = Settings(database_url=url, secret_key="b" * 40, var_dir=var_dir, log_level="WARNING")
    EXECUTOR_CACHE.clear()  # compiled SQL is cached per connection name; both are "default"
    await migrate(url)
    await open_database(settings)
    try:
        policy = SessionPolicy.from_settings(settings)
        started = time.perf_counter()
        contact, staff_small = await seed_small(policy)
        staff_big = await seed_big(policy, big)
        if backend == "postgres":
            await connections.get("default").execute_script("ANALYZE")
        loaded = time.perf_counter() - started
        tokens = Tokens(contact, staff_small, staff_big)
        app = create_app(settings, manage_database=False)
        raw = Raw(policy, postgres=backend == "postgres")
        app.router.routes.insert(0, Route("/raw/documents", raw.documents, methods=["POST"]))
        app.router.routes.insert(0, Route("/raw/home", raw.home, methods=["POST"]))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            def pair(query: str, path: str, token: str) -> tuple[Send, Send]:
                return poster(http, "/graphql", query, token), poster(http, path, query, token)

            staff_rounds = max(10, rounds // 3)
            comparisons = {}
            for name, query, path, token, n in (
                ("portal list", LIST_QUERY, "/raw/documents", tokens.contact, rounds),
                ("portal home", HOME_QUERY, "/raw/home", tokens.contact, rounds),
                ("staff list, small org", LIST_QUERY, "/raw/documents", tokens.staff_small,
                 staff_rounds),
                (f"staff list, {big:,} invoices", LIST_QUERY, "/raw/documents", tokens.staff_big,
                 staff_rounds),
            ):  # fmt: skip
                comparisons[name] = await compare(name, *pair(query, path, token), n)
                print_comparison(backend, comparisons[name])
            plan = await page_plan(raw, await StaffUser.get(email="staff@big.example"))
        return Outcome(backend, comparisons, loaded, big, plan)
    finally:
        await close_database()


# -- report --------------------------------------------------------------------------------------


HEADER = (
    f"{'backend':<9}{'request':<30}{'side':<9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
    f"{'SQL/req':>9}{'n':>6}"
)


def print_comparison(backend: str, comparison: Comparison) -> None:
    for side, timing in (("graphql", comparison.graphql), ("raw", comparison.raw)):
        print(
            f"{backend:<9}{comparison.name:<30}{side:<9}{timing.throughput:>8.0f}"
            f"{timing.percentile(0.5) * 1000:>9.2f}{timing.percentile(0.99) * 1000:>9.2f}"
            f"{timing.sql:>9}{len(timing.latencies):>6}",
            flush=True,
        )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_summary(outcome: Outcome) -> None:
    b, c = outcome.backend, outcome.comparisons
    print(f"\n{b}: seeded {outcome.big:,}-invoice organization in {outcome.load_seconds:.1f} s")
    for name, goal in (("portal list", LIST_GOAL), ("portal home", HOME_GOAL)):
        ratio = c[name].ratio
        print(
            f"{b}: {name}: GraphQL / raw throughput = {ratio:.2f}   goal >= {goal}   "
            f"{verdict(ratio >= goal)}   (SQL per request {c[name].graphql.sql} vs "
            f"{c[name].raw.sql})"
        )
    small, large = list(c.values())[2:]
    for side in ("graphql", "raw"):
        p50_small = getattr(small, side).percentile(0.5)
        p50_large = getattr(large, side).percentile(0.5)
        growth = p50_large / p50_small
        print(
            f"{b}: staff list, {side}: p50 {p50_large * 1000:.2f} ms with {outcome.big:,} "
            f"invoices vs {p50_small * 1000:.2f} ms in the small org = {growth:.1f}x   "
            f"goal <= {BIG_GOAL:g}x   {verdict(growth <= BIG_GOAL)}"
        )
    print(f"{b}: staff list, GraphQL / raw throughput: small {small.ratio:.2f}, "
          f"big {large.ratio:.2f}")  # fmt: skip
    print(f"{b}: staff page plan in the big org: {outcome.plan}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=300, help="measured pairs per portal row")
    parser.add_argument("--big", type=int, default=100_000, help="invoices in the big org")
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    print("Portal documents vs a hand-written raw-SQL endpoint, same JSON, interleaved requests")
    print(f"  {args.rounds} measured pairs per portal row, a third of that per staff row,")
    print("  after warm-up; req/s = sequential requests per second of client-observed latency")
    print(HEADER, flush=True)
    outcomes = []
    try:
        for backend in backends:
            with tempfile.TemporaryDirectory(prefix="portico-docs-") as tmp:
                if backend == "sqlite":
                    url = f"sqlite://{tmp}/bench.sqlite3"
                    outcomes.append(asyncio.run(run_backend(backend, url, Path(tmp), args.rounds,
                                                            args.big)))  # fmt: skip
                    continue
                with postgres_server() as server:
                    if server is None:
                        if args.backend == "postgres":
                            raise SystemExit("PostgreSQL (initdb/pg_ctl) is not installed")
                        print("postgres: skipped, PostgreSQL (initdb/pg_ctl) is not installed")
                        continue
                    url = asyncio.run(create_database(server, "portico_bench"))
                    outcomes.append(asyncio.run(run_backend(backend, url, Path(tmp), args.rounds,
                                                            args.big)))  # fmt: skip
    except Mismatch as exc:
        raise SystemExit(f"FAILED: {exc}") from None
    for outcome in outcomes:
        print_summary(outcome)


if __name__ == "__main__":
    main()
