"""The baseline bench.documents_vs_raw measures Portico against: the portal's invoice page, the
portal home and the staff invoice page written by hand, with Starlette and a database driver.

Nothing of Portico is imported (no models, resolvers, ORM, settings). The endpoint keeps its own
connection pool (bench.raw_db: asyncpg with at most 5 connections on PostgreSQL, one aiosqlite
connection on SQLite, as Portico has), and does the work Portico does for these requests: it
finds the bearer token's session by the token's SHA-256 (not revoked, not past its absolute or
idle expiry, touched at most once a minute), requires an active staff user or a contact with
ACTIVE portal access (and an enrolled authenticator where the organization requires one),
scopes rows to the organization and, for a contact, to its customer's sent documents, and
answers with the bytes Portico's GraphQL endpoint sends for the benchmark's operations (see
bench.documents_vs_raw). It counts the SQL statements it runs, readable at GET /stats.

Environment: DATABASE_URL (sqlite:///path or postgres://...), PORTICO_SESSION_IDLE_MINUTES.
Served by uvicorn with the same options as Portico: `uvicorn bench.raw_portal:app`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import get_currency_precision
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bench.raw_db import Database, Row, open_database

TOUCH_INTERVAL = timedelta(minutes=1)
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
QUANTITY = Decimal("0.0001")  # line_item.quantity is NUMERIC(18, 4), rate NUMERIC(18, 6)
RATE = Decimal("0.000001")
OPEN_FOR_PAYMENT = ("SENT", "PARTIALLY_PAID")


def as_date(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def as_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


# -- who is asking --------------------------------------------------------------------------------


SESSION_SQL = """
SELECT s.id, s.last_seen_at, s.expires_at, s.staff_user_id, s.contact_id,
       u.is_active AS staff_active, u.organization_id AS staff_organization_id,
       c.portal_access, c.customer_id, c.organization_id AS contact_organization_id,
       o.timezone, p.mfa_required, p.banner_message, p.allow_uploads_and_detail_edits,
       p.show_sales_orders, p.show_credit_notes
FROM session s
JOIN organization o ON o.id = s.organization_id
LEFT JOIN staff_user u ON u.id = s.staff_user_id
LEFT JOIN contact_person c ON c.id = s.contact_id
LEFT JOIN portal_preferences p ON p.organization_id = s.organization_id
WHERE s.token_hash = ? AND s.revoked_at IS NULL"""

TOUCH_SQL = "UPDATE session SET last_seen_at = ? WHERE id = ?"

ENROLLED_SQL = "SELECT 1 FROM mfa_factor WHERE contact_id = ? AND confirmed_at IS NOT NULL"


@dataclass(frozen=True)
class Preferences:
    """The portal preferences these pages read; the defaults when none were saved yet."""

    banner_message: str = ""
    can_edit_details: bool = True
    show_sales_orders: bool = True
    show_credit_notes: bool = True
    mfa_required: bool = False

    @classmethod
    def of(cls, row: Row) -> Preferences:
        if row["mfa_required"] is None:
            return cls()
        return cls(
            banner_message=row["banner_message"],
            can_edit_details=bool(row["allow_uploads_and_detail_edits"]),
            show_sales_orders=bool(row["show_sales_orders"]),
            show_credit_notes=bool(row["show_credit_notes"]),
            mfa_required=bool(row["mfa_required"]),
        )


@dataclass(frozen=True)
class Viewer:
    organization_id: int
    customer_id: int | None  # None: a staff user
    zone: ZoneInfo
    preferences: Preferences

    def today(self) -> date:
        return datetime.now(self.zone).date()


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@functools.cache
def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def viewer_of(db: Database, request: Request, idle: timedelta) -> Viewer:
    secret = bearer_token(request)
    if secret is None:
        raise Refused("UNAUTHENTICATED", "Authentication required.")
    rows = await db.fetch(SESSION_SQL, hashlib.sha256(secret.encode()).hexdigest())
    now = datetime.now(UTC)
    if not rows or not live(rows[0], now, idle):
        raise Refused("UNAUTHENTICATED", "Authentication required.")
    session = rows[0]
    viewer = principal_of(session)
    if now - as_datetime(session["last_seen_at"]) >= TOUCH_INTERVAL:
        await db.execute(TOUCH_SQL, now, session["id"])
    if viewer.preferences.mfa_required and not await enrolled(db, viewer, session):
        raise Refused("MFA_ENROLLMENT_REQUIRED", "Set up multi-factor authentication first.")
    return viewer


async def enrolled(db: Database, viewer: Viewer, session: Row) -> bool:
    """The requirement binds portal contacts only: staff users decide for themselves."""
    return viewer.customer_id is None or bool(await db.fetch(ENROLLED_SQL, session["contact_id"]))


def live(session: Row, now: datetime, idle: timedelta) -> bool:
    last_seen = as_datetime(session["last_seen_at"])
    return as_datetime(session["expires_at"]) > now and last_seen + idle > now


def principal_of(session: Row) -> Viewer:
    zone, preferences = zone_named(session["timezone"]), Preferences.of(session)
    if session["staff_user_id"] is not None:
        if not session["staff_active"]:
            raise Refused("UNAUTHENTICATED", "Authentication required.")
        return Viewer(session["staff_organization_id"], None, zone, preferences)
    if session["portal_access"] == "ACTIVE":
        customer = session["customer_id"]
        return Viewer(session["contact_organization_id"], customer, zone, preferences)
    raise Refused("UNAUTHENTICATED", "Authentication required.")


# -- what the pages show --------------------------------------------------------------------------


@functools.cache
def exponent(currency: str) -> int:
    return get_currency_precision(currency)


def money(minor: int, currency: str) -> dict[str, str]:
    amount = Decimal(int(minor)).scaleb(-exponent(currency))
    return {"amount": str(amount), "currency": currency}


def global_id(type_name: str, row_id: int) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


def cursor_of(issue_date: date, row_id: int) -> str:
    raw = json.dumps([issue_date.isoformat(), row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def position_of(cursor: str) -> tuple[date, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(row_id, int) or isinstance(row_id, bool):
            raise TypeError(row_id)
        return date.fromisoformat(value), row_id
    except (binascii.Error, ValueError, TypeError) as exc:
        raise Refused("BAD_USER_INPUT", "Invalid cursor.") from exc


def status_shown(row: Row, today: date) -> str:
    """OVERDUE is not stored: an open invoice with a balance past its due date is."""
    due = row["due_date"]
    if (
        row["status"] in OPEN_FOR_PAYMENT
        and due is not None
        and row["balance_minor"] > 0
        and as_date(due) < today
    ):
        return "OVERDUE"
    return row["status"]


# -- the invoice page -----------------------------------------------------------------------------


PAGE_SQL = """
SELECT id, number, status, currency, issue_date, due_date, total_minor, balance_minor
FROM sales_document
WHERE organization_id = ? AND kind = 'INVOICE' {conditions}
ORDER BY issue_date DESC, id DESC
LIMIT ?"""

CONTACT_CONDITIONS = "AND customer_id = ? AND status <> 'DRAFT'"
AFTER_CONDITIONS = "AND (issue_date < ? OR (issue_date = ? AND id < ?))"

LINES_SQL = """
SELECT document_id, name, quantity, rate, amount_minor FROM line_item
WHERE document_id IN ({ids})
ORDER BY position, id"""


@dataclass(frozen=True)
class PageRequest:
    first: int
    after: tuple[date, int] | None

    @classmethod
    def of(cls, variables: Mapping[str, Any]) -> PageRequest:
        first = variables.get("first")
        first = DEFAULT_PAGE_SIZE if first is None else first
        if not isinstance(first, int) or not 0 <= first <= MAX_PAGE_SIZE:
            raise Refused("BAD_USER_INPUT", f"`first` must be between 0 and {MAX_PAGE_SIZE}.")
        after = variables.get("after")
        return cls(first, position_of(after) if after else None)


async def invoice_rows(db: Database, viewer: Viewer, page: PageRequest) -> Sequence[Row]:
    conditions, args = "", [viewer.organization_id]
    if viewer.customer_id is not None:
        conditions, args = CONTACT_CONDITIONS, [*args, viewer.customer_id]
    if page.after is not None:
        (issued, row_id) = page.after
        conditions, args = f"{conditions} {AFTER_CONDITIONS}", [*args, issued, issued, row_id]
    return await db.fetch(PAGE_SQL.format(conditions=conditions), *args, page.first + 1)


async def lines_of(db: Database, document_ids: list[int]) -> dict[int, list[Row]]:
    lines: dict[int, list[Row]] = defaultdict(list)
    if document_ids:
        placeholders = ", ".join("?" * len(document_ids))
        for line in await db.fetch(LINES_SQL.format(ids=placeholders), *document_ids):
            lines[line["document_id"]].append(line)
    return lines


def line_json(line: Row, currency: str) -> dict[str, Any]:
    return {
        "name": line["name"],
        "quantity": str(Decimal(line["quantity"]).quantize(QUANTITY)),
        "rate": str(Decimal(line["rate"]).quantize(RATE)),
        "amount": money(line["amount_minor"], currency),
    }


def invoice_json(row: Row, lines: list[Row], today: date) -> dict[str, Any]:
    currency, due = row["currency"], row["due_date"]
    return {
        "id": global_id("Invoice", row["id"]),
        "number": row["number"],
        "status": status_shown(row, today),
        "currency": currency,
        "issueDate": as_date(row["issue_date"]).isoformat(),
        "total": money(row["total_minor"], currency),
        "dueDate": None if due is None else as_date(due).isoformat(),
        "balanceDue": money(row["balance_minor"], currency),
        "lineItems": [line_json(line, currency) for line in lines],
    }


async def invoice_page(db: Database, viewer: Viewer, page: PageRequest) -> dict[str, Any]:
    rows = await invoice_rows(db, viewer, page)
    shown = rows[: page.first]
    lines = await lines_of(db, [row["id"] for row in shown])
    today = viewer.today()
    last = shown[-1] if shown else None
    return {
        "salesDocuments": {
            "nodes": [invoice_json(row, lines[row["id"]], today) for row in shown],
            "pageInfo": {
                "hasNextPage": len(rows) > page.first,
                "endCursor": None
                if last is None
                else cursor_of(as_date(last["issue_date"]), last["id"]),
            },
        }
    }


# -- the portal home ------------------------------------------------------------------------------


DOCUMENT_FIGURES_SQL = """
SELECT kind, currency, status, SUM(balance_minor) AS amount, COUNT(*) AS documents,
       SUM(CASE WHEN kind = 'INVOICE' AND due_date < ? THEN balance_minor ELSE 0 END) AS overdue
FROM sales_document
WHERE organization_id = ? AND customer_id = ? AND status <> 'DRAFT'
  AND ((kind IN ('INVOICE', 'RETAINER_INVOICE') AND status IN ('SENT', 'PARTIALLY_PAID')
        AND balance_minor > 0)
       OR (kind = 'CREDIT_NOTE' AND status = 'SENT' AND balance_minor > 0)
       OR kind = 'SALES_ORDER')
GROUP BY kind, currency, status"""

RETAINER_MONEY_SQL = """
SELECT currency, SUM(unused_minor) AS amount FROM payment
WHERE organization_id = ? AND customer_id = ? AND status = 'SUCCEEDED'
  AND kind = 'RETAINER_PAYMENT' AND unused_minor > 0
GROUP BY currency"""

LAST_PAYMENT_SQL = """
SELECT number, paid_on, amount_minor, currency FROM payment
WHERE organization_id = ? AND customer_id = ? AND status = 'SUCCEEDED'
ORDER BY paid_on DESC, id DESC
LIMIT 1"""


@dataclass
class DocumentFigures:
    outstanding: dict[str, dict[str, int]]  # kind -> currency -> minor units
    overdue: dict[str, int]
    sales_orders: dict[str, int]  # status -> count


def amounts(by_currency: Mapping[str, int]) -> list[dict[str, str]]:
    return [money(minor, currency) for currency, minor in sorted(by_currency.items()) if minor]


async def document_figures(db: Database, viewer: Viewer) -> DocumentFigures:
    figures = DocumentFigures(
        defaultdict(lambda: defaultdict(int)), defaultdict(int), defaultdict(int)
    )
    rows = await db.fetch(
        DOCUMENT_FIGURES_SQL, viewer.today(), viewer.organization_id, viewer.customer_id
    )
    for row in rows:
        if row["kind"] == "SALES_ORDER":
            figures.sales_orders[row["status"]] += int(row["documents"])
            continue
        figures.outstanding[row["kind"]][row["currency"]] += int(row["amount"])
        figures.overdue[row["currency"]] += int(row["overdue"])
    return figures


async def home(db: Database, viewer: Viewer) -> dict[str, Any]:
    if viewer.customer_id is None:
        raise Refused("BAD_USER_INPUT", "This baseline answers portal contacts only.")
    documents = await document_figures(db, viewer)
    scope = (viewer.organization_id, viewer.customer_id)
    retainers = await db.fetch(RETAINER_MONEY_SQL, *scope)
    last_payments = await db.fetch(LAST_PAYMENT_SQL, *scope)
    shown = viewer.preferences
    last = last_payments[0] if last_payments else None
    return {
        "portalHome": {
            "bannerMessage": shown.banner_message,
            "canEditDetails": shown.can_edit_details,
            "outstandingInvoices": amounts(documents.outstanding["INVOICE"]),
            "overdueInvoices": amounts(documents.overdue),
            "availableCredits": amounts(documents.outstanding["CREDIT_NOTE"])
            if shown.show_credit_notes
            else None,
            "outstandingRetainerInvoices": amounts(documents.outstanding["RETAINER_INVOICE"]),
            "availableRetainerPayments": amounts(
                {row["currency"]: int(row["amount"]) for row in retainers}
            ),
            "lastPaymentMade": None
            if last is None
            else {
                "number": last["number"],
                "paidOn": as_date(last["paid_on"]).isoformat(),
                "amount": money(last["amount_minor"], last["currency"]),
            },
            "salesOrderCounts": [
                {"status": status, "count": count}
                for status, count in sorted(documents.sales_orders.items())
            ]
            if shown.show_sales_orders
            else None,
        }
    }


# -- HTTP -----------------------------------------------------------------------------------------


def json_response(body: dict[str, Any]) -> Response:
    # What Portico sends: compact separators, text as UTF-8 rather than \u escapes.
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return Response(text, media_type="application/json")


def refusal(refused: Refused) -> Response:
    error = {"message": str(refused), "extensions": {"code": refused.code}}
    return json_response({"data": None, "errors": [error]})


async def variables_of(request: Request) -> Mapping[str, Any]:
    body = json.loads(await request.body())
    variables = body.get("variables") if isinstance(body, dict) else None
    return variables if isinstance(variables, dict) else {}


class Portal:
    def __init__(self) -> None:
        self.db: Database | None = None
        self.idle = timedelta(minutes=int(os.environ.get("PORTICO_SESSION_IDLE_MINUTES", "120")))

    @property
    def database(self) -> Database:
        assert self.db is not None, "the lifespan opens the database"
        return self.db

    async def invoices(self, request: Request) -> Response:
        try:
            page = PageRequest.of(await variables_of(request))
            viewer = await viewer_of(self.database, request, self.idle)
            return json_response({"data": await invoice_page(self.database, viewer, page)})
        except Refused as refused:
            return refusal(refused)

    async def home(self, request: Request) -> Response:
        try:
            await variables_of(request)  # read like the GraphQL endpoint reads its body
            viewer = await viewer_of(self.database, request, self.idle)
            return json_response({"data": await home(self.database, viewer)})
        except Refused as refused:
            return refusal(refused)

    async def stats(self, request: Request) -> Response:
        return json_response({"statements": self.database.statements})

    async def ready(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.db = await open_database(os.environ["DATABASE_URL"])
        try:
            yield
        finally:
            await self.db.close()


portal = Portal()
app = Starlette(
    routes=[
        Route("/invoices", portal.invoices, methods=["POST"]),
        Route("/home", portal.home, methods=["POST"]),
        Route("/stats", portal.stats, methods=["GET"]),
        Route("/readyz", portal.ready, methods=["GET"]),
    ],
    lifespan=portal.lifespan,
)
