"""The data bench.documents_vs_raw reads: a small organization whose portal contact is measured,
and a big one for the staff page at scale.

Small organization, in a time zone whose today is not UTC's when the run starts (UTC+14 or
UTC-11), so that the newest invoices, one due yesterday and one due today by the organization's
calendar, are OVERDUE or not only by that calendar:
  - Acorn, the measured contact's customer: 300 sent invoices, three a day (sent, overdue,
    partially paid, paid, void; USD, EUR, JPY and KWD), and 12 newer drafts the contact must not
    see; credit notes, retainer invoices, sales orders and quotes; invoice and retainer payments,
    with a failed one newer than the last that succeeded
  - 11 other customers with 700 invoices between them, some newer than any of Acorn's
Big organization, in America/Los_Angeles: `big` invoices over big / 100 customers.
Every document has 10 line items. Ids are shuffled against dates, so that a page ordered by id
instead of (issue_date, id) differs. Organizations, people, sessions and payments go through
Portico's models; documents and line items are written by the driver itself (executemany on
SQLite, COPY on PostgreSQL), which keeps 100,000 invoices with a million line items within a
minute or so.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from itertools import islice
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

import asyncpg

from auth.sessions import SessionPolicy, start_session
from bench.raw_db import sqlite_value
from models.customers import ContactPerson, Customer, PortalAccess
from models.money import exponent
from models.organizations import Organization
from models.payments import Payment, PaymentKind, PaymentMode, PaymentStatus
from models.preferences import PortalPreferences
from models.staff import StaffRole, StaffUser
from server.database import close_database, open_database
from server.settings import Settings

BIG_ZONE = "America/Los_Angeles"
CONTACT_INVOICES = 300
CONTACT_DRAFTS = 12
NEIGHBOUR_INVOICES = 700
NEIGHBOURS = 11
LINES_PER_DOCUMENT = 10
LINE_SETS = 50
BATCH = 50_000
# Banner and line names outside ASCII: both sides must escape them as json.dumps does.
BANNER = "Welcome to Island Supplies — payments by card are credited the same day. Café ☕"
PRODUCTS = (
    "Espresso beans, 1 kg",
    "Café filters, 100",
    "Thé vert Sencha",
    "Größe L aprons",
    "Delivery (zone 2)",
    "Milk frother",
    "Cleaning tablets",
    "Paper cups 8 oz",
    "Syrup — vanilla",
    "Barista training, 1 h",
    "Grinder burrs",
    "Oat milk 1 l",
)


@dataclass(frozen=True)
class Tokens:
    contact: str  # Acorn's portal contact, in the small organization
    staff_small: str
    staff_big: str


@dataclass(frozen=True)
class Seeded:
    tokens: Tokens
    small_zone: str
    small_invoices: int
    contact_invoices: int  # the ones the contact sees
    big_invoices: int
    line_items: int
    seconds: float


class Document(NamedTuple):
    id: int
    organization_id: int
    customer_id: int
    kind: str
    number: str
    status: str
    currency: str
    issue_date: date
    due_date: date | None
    payment_terms_days: int | None
    total_minor: int
    balance_minor: int
    line_set: int


# -- line items -----------------------------------------------------------------------------------


class Line(NamedTuple):
    name: str
    quantity: Decimal
    rate: Decimal


def line_sets() -> list[list[Line]]:
    rng = random.Random(7)
    return [
        [
            Line(
                rng.choice(PRODUCTS),
                (Decimal(rng.randint(25, 1200)) / 100).quantize(Decimal("0.0001")),
                (Decimal(rng.randint(50, 250_000)) / 1000).quantize(Decimal("0.000001")),
            )
            for _ in range(LINES_PER_DOCUMENT)
        ]
        for _ in range(LINE_SETS)
    ]


LINE_SETS_USED = line_sets()
NO_PERCENT = Decimal("0.0000")


@cache
def line_amounts(line_set: int, currency: str) -> tuple[int, ...]:
    places = exponent(currency)
    return tuple(
        int((line.quantity * line.rate).scaleb(places).quantize(Decimal(1), ROUND_HALF_UP))
        for line in LINE_SETS_USED[line_set]
    )


def total_of(line_set: int, currency: str) -> int:
    return sum(line_amounts(line_set, currency))


# -- documents ------------------------------------------------------------------------------------


class Numbering:
    PREFIX = {
        "INVOICE": "INV",
        "CREDIT_NOTE": "CN",
        "RETAINER_INVOICE": "RET",
        "SALES_ORDER": "SO",
        "QUOTE": "QT",
    }

    def __init__(self) -> None:
        self.taken: dict[str, int] = {}

    def next(self, kind: str) -> str:
        self.taken[kind] = self.taken.get(kind, 0) + 1
        return f"{self.PREFIX[kind]}-{self.taken[kind]:06d}"


@dataclass
class Planner:
    """Documents of one organization, numbered per kind; ids are given once all are planned."""

    organization_id: int
    rng: random.Random
    numbering: Numbering
    planned: list[Document]

    def add(
        self,
        customer_id: int,
        kind: str,
        status: str,
        issued: date,
        currency: str = "USD",
        terms: int | None = 30,
        paid_share: float | None = None,
    ) -> None:
        line_set = self.rng.randrange(LINE_SETS)
        total = total_of(line_set, currency)
        due = None if terms is None else issued + timedelta(days=terms)
        self.planned.append(
            Document(
                id=0,
                organization_id=self.organization_id,
                customer_id=customer_id,
                kind=kind,
                number=self.numbering.next(kind),
                status=status,
                currency=currency,
                issue_date=issued,
                due_date=due,
                payment_terms_days=terms,
                total_minor=total,
                balance_minor=balance_of(status, total, paid_share),
                line_set=line_set,
            )
        )

    def with_ids(self, first_id: int) -> list[Document]:
        """Ids shuffled against issue dates, as imports and back-dated documents leave them."""
        shuffled = list(self.planned)
        self.rng.shuffle(shuffled)
        return [doc._replace(id=first_id + n) for n, doc in enumerate(shuffled)]


def planner(organization_id: int, seed: int) -> Planner:
    return Planner(organization_id, random.Random(seed), Numbering(), [])


def balance_of(status: str, total: int, paid_share: float | None) -> int:
    if status in ("PAID", "VOID", "CLOSED", "CONFIRMED", "SHIPPED", "FULFILLED", "ACCEPTED"):
        return 0
    if status == "PARTIALLY_PAID":
        return total - max(1, int(total * (paid_share or 0.4)))
    return total


INVOICE_STATUSES = ("SENT", "SENT", "SENT", "PARTIALLY_PAID", "PAID", "PAID", "PAID", "VOID")
CURRENCIES = ("USD",) * 14 + ("EUR",) * 3 + ("JPY", "JPY", "KWD")
TERMS = (None, 0, 0, 7, 14, 30)


def zone_unlike_utc(now: datetime) -> str:
    """A zone whose date differs from UTC's at `now`: a day ahead from 10:00 UTC, else behind."""
    return "Pacific/Kiritimati" if now.hour >= 10 else "Pacific/Pago_Pago"


def plan_contact_invoices(plan: Planner, customer_id: int, today: date) -> None:
    rng = plan.rng
    for n in range(CONTACT_INVOICES):  # three a day: ties on issue_date are broken by id
        issued = today - timedelta(n // 3)
        if n in (0, 3):  # unpaid and due the day it was issued: today, and yesterday (OVERDUE)
            plan.add(customer_id, "INVOICE", "SENT", issued, "USD", terms=0)
            continue
        plan.add(
            customer_id,
            "INVOICE",
            rng.choice(INVOICE_STATUSES),
            issued,
            rng.choice(CURRENCIES),
            rng.choice(TERMS),
            rng.uniform(0.1, 0.9),
        )
    for n in range(CONTACT_DRAFTS):  # newer than all, and never shown to the contact
        plan.add(customer_id, "INVOICE", "DRAFT", today + timedelta(n % 2))


def plan_contact_others(plan: Planner, customer_id: int, today: date) -> None:
    def add(kind: str, status: str, days_ago: int, currency: str = "USD") -> None:
        plan.add(customer_id, kind, status, today - timedelta(days_ago), currency)

    for status, currency in (("SENT", "USD"), ("SENT", "EUR"), ("CLOSED", "USD"), ("DRAFT", "USD")):
        add("CREDIT_NOTE", status, 12, currency)
    for status in ("SENT", "PARTIALLY_PAID", "PAID", "DRAFT"):
        add("RETAINER_INVOICE", status, 40)
    for status in ("CONFIRMED", "CONFIRMED", "SHIPPED", "FULFILLED", "DRAFT"):
        add("SALES_ORDER", status, 5)
    for status in ("SENT", "ACCEPTED"):
        add("QUOTE", status, 2)


def plan_neighbours(plan: Planner, customer_ids: Sequence[int], today: date) -> None:
    rng = plan.rng
    statuses = (*INVOICE_STATUSES, "DRAFT")
    for n in range(NEIGHBOUR_INVOICES):
        issued = today - timedelta(rng.randint(-1, 200))  # some newer than Acorn's newest
        plan.add(
            customer_ids[n % len(customer_ids)],
            "INVOICE",
            rng.choice(statuses),
            issued,
            rng.choice(CURRENCIES),
            rng.choice(TERMS),
        )


def plan_big(plan: Planner, customer_ids: Sequence[int], invoices: int, today: date) -> None:
    rng = plan.rng
    statuses = (*INVOICE_STATUSES, "DRAFT")
    for n in range(invoices):
        issued = today - timedelta(rng.randint(0, 1800))
        plan.add(
            customer_ids[(n * 7) % len(customer_ids)],
            "INVOICE",
            rng.choice(statuses),
            issued,
            rng.choice(CURRENCIES),
            rng.choice(TERMS),
        )


def document_row(doc: Document, now: datetime) -> dict[str, Any]:
    return {
        "id": doc.id,
        "organization_id": doc.organization_id,
        "customer_id": doc.customer_id,
        "kind": doc.kind,
        "number": doc.number,
        "status": doc.status,
        "currency": doc.currency,
        "issue_date": doc.issue_date,
        "due_date": doc.due_date,
        "payment_terms_days": doc.payment_terms_days,
        "reference": "",
        "customer_notes": "",
        "terms": "",
        "internal_notes": "",
        "subtotal_minor": doc.total_minor,
        "discount_minor": 0,
        "tax_minor": 0,
        "total_minor": doc.total_minor,
        "balance_minor": doc.balance_minor,
        "allow_partial_payments": False,
        "payment_methods": '["card"]',
        "sent_at": None if doc.status == "DRAFT" else now,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def line_rows(documents: Iterable[Document], first_id: int) -> Iterator[dict[str, Any]]:
    line_id = first_id
    for doc in documents:
        amounts = line_amounts(doc.line_set, doc.currency)
        for position, line in enumerate(LINE_SETS_USED[doc.line_set]):
            yield {
                "id": line_id,
                "document_id": doc.id,
                "position": position,
                "name": line.name,
                "description": "",
                "quantity": line.quantity,
                "unit": "",
                "rate": line.rate,
                "discount_percent": NO_PERCENT,
                "tax_percent": NO_PERCENT,
                "amount_minor": amounts[position],
                "discount_minor": 0,
            }
            line_id += 1


# -- writing rows with the driver -----------------------------------------------------------------


Rows = Iterable[dict[str, Any]]


class Writer(Protocol):
    async def write(self, table: str, rows: Rows) -> None: ...

    async def finish(self) -> None: ...


def in_batches(rows: Rows) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
    """The rows as (columns, value tuples), BATCH at a time; all rows have the same keys."""
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH)):
        yield list(batch[0]), [tuple(row.values()) for row in batch]


class SqliteWriter:
    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path)

    async def write(self, table: str, rows: Rows) -> None:
        with self.connection:
            for columns, values in in_batches(rows):
                placeholders = ", ".join("?" * len(columns))
                self.connection.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
                    ([sqlite_value(value) for value in row] for row in values),
                )

    async def finish(self) -> None:
        self.connection.execute("ANALYZE")
        self.connection.close()


class PostgresWriter:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, url: str) -> PostgresWriter:
        return cls(await asyncpg.connect(url))

    async def write(self, table: str, rows: Rows) -> None:
        for columns, values in in_batches(rows):
            await self.connection.copy_records_to_table(table, records=values, columns=columns)

    async def finish(self) -> None:
        for table in ("sales_document", "line_item"):  # ids were given: move the sequences on
            await self.connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"
            )
        # What autovacuum does after a bulk load, here at once: statistics and visibility map.
        await self.connection.execute("VACUUM ANALYZE")
        await self.connection.close()


async def writer_for(url: str) -> Writer:
    if url.startswith("sqlite://"):
        return SqliteWriter(url.removeprefix("sqlite://"))
    return await PostgresWriter.open(url)


# -- people, sessions and payments, through the models -------------------------------------------


@dataclass(frozen=True)
class SmallOrganization:
    organization_id: int
    zone: str
    contact_customer_id: int
    neighbour_ids: list[int]
    contact_token: str
    staff_token: str


async def small_organization(policy: SessionPolicy, zone: str) -> SmallOrganization:
    org = await Organization.create(name="Island Supplies", portal_name="island", timezone=zone)
    await PortalPreferences.create(
        organization=org, banner_message=BANNER, show_sales_orders=True, show_credit_notes=True
    )
    staff = await StaffUser.create(
        organization=org, email="staff@island.example", name="Sam", role=StaffRole.STAFF
    )
    acorn = await Customer.create(organization=org, display_name="Acorn Café", currency="USD")
    contact = await ContactPerson.create(
        organization=org,
        customer=acorn,
        first_name="Ann",
        email="ann@acorn.example",
        portal_access=PortalAccess.ACTIVE,
        is_primary=True,
    )
    neighbours = [
        await Customer.create(organization=org, display_name=f"Neighbour {n}", currency="USD")
        for n in range(NEIGHBOURS)
    ]
    await payments(org, acorn, neighbours[0])
    return SmallOrganization(
        organization_id=org.id,
        zone=zone,
        contact_customer_id=acorn.id,
        neighbour_ids=[c.id for c in neighbours],
        contact_token=(await start_session(policy, contact=contact))[0],
        staff_token=(await start_session(policy, staff_user=staff))[0],
    )


async def payments(org: Organization, customer: Customer, neighbour: Customer) -> None:
    """The last succeeded payment is the later of two on the same day; newer ones failed or are
    another customer's. (None is in flight: the reconciler would end it during the run.)"""
    today = org.today()
    numbers = iter(range(1, 100))

    async def pay(
        who: Customer,
        days_ago: int,
        minor: int,
        *,
        currency: str = "USD",
        kind: PaymentKind = PaymentKind.INVOICE_PAYMENT,
        unused: int = 0,
        status: PaymentStatus = PaymentStatus.SUCCEEDED,
    ) -> None:
        await Payment.create(
            organization=org,
            customer=who,
            number=f"PAY-{next(numbers):06d}",
            kind=kind,
            mode=PaymentMode.BANK_TRANSFER,
            status=status,
            currency=currency,
            amount_minor=minor,
            unused_minor=unused,
            paid_on=today - timedelta(days_ago),
        )

    for days_ago, minor in ((40, 120_00), (25, 75_50), (9, 310_25), (3, 99_99), (3, 45_00)):
        await pay(customer, days_ago, minor)
    await pay(customer, 0, 500_00, status=PaymentStatus.FAILED)
    await pay(neighbour, 0, 800_00)
    retainer = PaymentKind.RETAINER_PAYMENT
    await pay(customer, 30, 800_00, kind=retainer, unused=500_00)
    await pay(customer, 28, 200_00, kind=retainer, unused=120_00, currency="EUR")
    await pay(customer, 20, 100_00, kind=retainer, unused=0)
    await pay(customer, 15, 900_00, kind=retainer, unused=900_00, status=PaymentStatus.FAILED)


async def big_organization(policy: SessionPolicy, invoices: int) -> tuple[int, list[int], str]:
    org = await Organization.create(name="Big Co", portal_name="big", timezone=BIG_ZONE)
    staff = await StaffUser.create(
        organization=org, email="staff@big.example", name="Bea", role=StaffRole.STAFF
    )
    await Customer.bulk_create(
        [
            Customer(organization_id=org.id, display_name=f"Customer {n:05d}", currency="USD")
            for n in range(max(1, invoices // 100))
        ],
        batch_size=5_000,
    )
    customer_ids = (
        await Customer.filter(organization_id=org.id).order_by("id").values_list("id", flat=True)
    )
    token, _ = await start_session(policy, staff_user=staff)
    return org.id, list(customer_ids), token


# -- all of it ------------------------------------------------------------------------------------


async def seed(url: str, policy: SessionPolicy, big: int) -> Seeded:
    started = time.perf_counter()
    await open_database(Settings(database_url=url))
    try:
        small = await small_organization(policy, zone_unlike_utc(datetime.now(UTC)))
        big_id, big_customers, big_token = await big_organization(policy, big)
    finally:
        await close_database()
    small_documents, contact_invoices = small_plan(small)
    big_plan = planner(big_id, seed=3)
    plan_big(big_plan, big_customers, big, datetime.now(ZoneInfo(BIG_ZONE)).date())
    big_documents = big_plan.with_ids(len(small_documents) + 1)
    documents = small_documents + big_documents
    writer = await writer_for(url)
    now = datetime.now(UTC)
    await writer.write("sales_document", (document_row(doc, now) for doc in documents))
    await writer.write("line_item", line_rows(documents, first_id=1))
    await writer.finish()
    tokens = Tokens(small.contact_token, small.staff_token, big_token)
    small_invoices = sum(doc.kind == "INVOICE" for doc in small_documents)
    return Seeded(
        tokens=tokens,
        small_zone=small.zone,
        small_invoices=small_invoices,
        contact_invoices=contact_invoices,
        big_invoices=big,
        line_items=len(documents) * LINES_PER_DOCUMENT,
        seconds=time.perf_counter() - started,
    )


def small_plan(small: SmallOrganization) -> tuple[list[Document], int]:
    plan = planner(small.organization_id, seed=1)
    today = datetime.now(ZoneInfo(small.zone)).date()
    plan_contact_invoices(plan, small.contact_customer_id, today)
    plan_contact_others(plan, small.contact_customer_id, today)
    plan_neighbours(plan, small.neighbour_ids, today)
    documents = plan.with_ids(1)
    seen = sum(
        doc.customer_id == small.contact_customer_id
        and doc.kind == "INVOICE"
        and doc.status != "DRAFT"
        for doc in documents
    )
    return documents, seen


def describe(seeded: Seeded) -> str:
    return (
        f"small organization {seeded.small_invoices:,} invoices in {seeded.small_zone} (the "
        f"contact sees {seeded.contact_invoices}), big organization {seeded.big_invoices:,} "
        f"invoices, {seeded.line_items:,} line items (10 per document), seeded in "
        f"{seeded.seconds:.1f} s"
    )
