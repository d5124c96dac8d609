"""Paying an invoice in the portal through GraphQL (`payInvoices`), against a hand-written
Starlette endpoint that makes the same payment with raw SQL through a driver pool of its own
(bench.raw_db: asyncpg with at most 5 connections, or one aiosqlite connection, as Portico has;
never Tortoise's) and charges the same test gateway.

Both sides pay a fresh invoice in full with `tok_visa` on every request, in the same two
transactions (the attempt is committed PROCESSING before the gateway is called, the outcome
after), so the raw side keeps the same crash safety. The raw side authenticates the same bearer
token (one query for session, contact, customer, organization and portal preferences), applies
the same checks (the contact's own open invoice, card accepted, paid in full, nothing in flight)
and writes the same rows: payment, allocation and idempotency key; then the payment's outcome,
the invoice's balance and status, the activity row with its staff notifications, and the
receipt in the outbox (rendered from the same template). Before measuring, one payment from
each side is compared row by row (a difference fails the run), and after it the database must
match the gateway's ledger. Requests go in process through httpx.ASGITransport:
  - sequential: GraphQL and raw alternate, one request at a time, with the gateway call alone
    measured between them (the floor both sides pay); req/s = requests / summed latency
  - N clients: N portal contacts of different customers pay concurrently, GraphQL and raw in
    alternating batches; req/s = requests / wall time of the batches
No goal is set: the table and the GraphQL / raw ratios are printed, and the run exits non-zero
only on a row mismatch, a database that disagrees with the ledger, or a crash.
    .venv/bin/python -m bench.pay_vs_raw [--backend sqlite|postgres|both] [--rounds 300]
        [--clients 8] [--per-client 40]
  --backend     the database: a throwaway PostgreSQL (default), a SQLite file, or both in turn
  --rounds      measured sequential rounds (each one GraphQL, one raw, one gateway-alone call),
                after 20 warm-up pairs
  --clients     concurrent portal contacts in the concurrent row; 0 leaves the row out
  --per-client  payments each client makes per side in the concurrent row
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import re
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.relay import GlobalID
from tortoise import connections
from tortoise.backends.base.executor import EXECUTOR_CACHE

from auth.sessions import SessionPolicy, start_session
from auth.tokens import hash_token
from bench import raw_db
from bench.sql_count import counting_sql
from integrations import broker, outbox
from integrations.gateways import registry
from integrations.gateways.base import ChargeStatus, InvalidToken, MethodKind
from integrations.templating import render_email
from models.customers import ContactPerson, Customer, PortalAccess
from models.documents import DocumentKind, DocumentSeries, DocumentStatus, SalesDocument
from models.money import from_minor, to_minor
from models.organizations import Organization
from models.preferences import PortalPreferences
from models.staff import StaffRole, StaffUser
from resolvers import links
from resolvers.activity import _ACTIVITY_LOCK_NAMESPACE
from server.app import create_app
from server.database import close_database, open_database
from server.migrations import migrate
from server.settings import Settings
from tests.services import create_database, postgres_server

PAY = """mutation($input: PayInvoicesInput!) { payInvoices(input: $input) {
  payment { number status amount { amount } } errors { code } } }"""

TOTAL_MINOR = 123_456  # every invoice is USD 1,234.56, so the two sides' rows compare equal
CURRENCY = "USD"
WARMUP = 20
BATCHES = 5  # per side in the concurrent run, alternating
BATCH = 5_000
STAFF = 2  # each payment notifies every active staff user in the app


# -- data ----------------------------------------------------------------------------------------


@dataclass
class Payer:
    """A portal contact with a token and the invoices each side may pay, one per request."""

    token: str
    invoices: dict[str, list[int]]  # side -> invoice ids, consumed from the end

    def next_invoice(self, side: str) -> int:
        return self.invoices[side].pop()


async def seed(policy: SessionPolicy, customers: int, needs: list[int]) -> list[Payer]:
    """One organization with `customers` customers, each with a contact and, per side,
    `needs[n]` open invoices of the same amount (bulk-inserted)."""
    org = await Organization.create(name="Pay Co", portal_name="pay", email="billing@pay.example")
    await PortalPreferences.create(organization=org)  # the defaults: duplicates refused, in-app
    await DocumentSeries.create(organization=org, kind="PAYMENT", prefix="PAY")
    for n in range(STAFF):
        await StaffUser.create(
            organization=org, email=f"staff{n}@pay.example", name=f"Staff {n}",
            role=StaffRole.STAFF,
        )  # fmt: skip
    payers: list[Payer] = []
    documents: list[SalesDocument] = []
    owners: list[tuple[int, str]] = []
    now = datetime.now(UTC)
    for n in range(customers):
        customer = await Customer.create(
            organization=org, display_name=f"Customer {n}", currency=CURRENCY
        )
        contact = await ContactPerson.create(
            organization=org, customer=customer, first_name="Pat", last_name=f"Payer {n}",
            email=f"pat{n}@customer{n}.example", portal_access=PortalAccess.ACTIVE,
            is_primary=True,
        )  # fmt: skip
        payers.append(Payer((await start_session(policy, contact=contact))[0], {}))
        for side in ("graphql", "raw"):
            for _ in range(needs[n]):
                documents.append(
                    SalesDocument(
                        organization_id=org.id, customer_id=customer.id,
                        kind=DocumentKind.INVOICE, number=f"INV-{len(documents) + 1:07}",
                        status=DocumentStatus.SENT, currency=CURRENCY,
                        issue_date=now.date(), due_date=now.date() + timedelta(days=30),
                        subtotal_minor=TOTAL_MINOR, total_minor=TOTAL_MINOR,
                        balance_minor=TOTAL_MINOR, payment_methods=["card"], sent_at=now,
                    )
                )  # fmt: skip
                owners.append((n, side))
    for start in range(0, len(documents), BATCH):
        await SalesDocument.bulk_create(documents[start : start + BATCH])
    ids = dict(await SalesDocument.filter(organization_id=org.id).values_list("number", "id"))
    for document, (n, side) in zip(documents, owners, strict=True):
        payers[n].invoices.setdefault(side, []).append(ids[document.number])
    return payers


# -- the hand-written baseline -------------------------------------------------------------------


VIEWER_SQL = """
SELECT s.id AS session_id, s.last_seen_at, s.expires_at, c.id AS contact_id, c.customer_id,
       c.portal_access, c.first_name, c.last_name, c.email AS contact_email,
       cu.portal_language, o.id AS organization_id, o.name AS organization_name,
       o.email AS organization_email, o.portal_name, o.payment_gateway,
       p.mfa_required, p.prevent_duplicate_payments, p.activity_notifications
FROM session s
JOIN contact_person c ON c.id = s.contact_id
JOIN customer cu ON cu.id = c.customer_id
JOIN organization o ON o.id = s.organization_id
LEFT JOIN portal_preferences p ON p.organization_id = s.organization_id
WHERE s.token_hash = ? AND s.revoked_at IS NULL"""

INVOICE_SQL = """
SELECT id, number, status, currency, balance_minor, total_minor, allow_partial_payments,
       payment_methods
FROM sales_document
WHERE id = ? AND organization_id = ? AND customer_id = ? AND kind = 'INVOICE'
  AND status <> 'DRAFT'"""

HELD_SQL = """
SELECT COALESCE(SUM(a.amount_minor), 0) AS held FROM payment_allocation a
JOIN payment p ON p.id = a.payment_id
WHERE a.document_id = ? AND p.status IN ('PROCESSING', 'PENDING')"""

NUMBER_SQL = """
UPDATE document_series SET next_number = next_number + 1
WHERE organization_id = ? AND kind = 'PAYMENT' RETURNING prefix, next_number - 1 AS taken"""

PAYMENT_SQL = """
INSERT INTO payment (organization_id, customer_id, number, kind, mode, status, currency,
  amount_minor, unused_minor, refunded_minor, paid_on, reference, notes, internal_notes,
  paid_by_id, gateway, charge_key, gateway_reference, failure_reason, declined, created_at,
  updated_at)
VALUES (?, ?, ?, 'INVOICE_PAYMENT', 'CARD', 'PROCESSING', ?, ?, 0, 0, ?, '', '', '', ?, ?, ?,
  '', '', FALSE, ?, ?)
RETURNING id"""

ALLOCATION_SQL = """
INSERT INTO payment_allocation (organization_id, customer_id, payment_id, document_id,
  amount_minor, applied_on, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)"""

# Last in the first transaction: a key already taken inserts nothing, and all of it rolls back.
KEY_SQL = """
INSERT INTO idempotency_key (organization_id, contact_id, "key", fingerprint, payment_id,
  created_at)
VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (contact_id, "key") DO NOTHING RETURNING id"""

EARLIER_SQL = """
SELECT p.number, p.status, p.amount_minor, p.currency, k.fingerprint FROM idempotency_key k
JOIN payment p ON p.id = k.payment_id WHERE k.contact_id = ? AND k."key" = ?"""

SUCCEED_SQL = """
UPDATE payment SET status = 'SUCCEEDED', gateway_reference = ?, settled_at = ?, updated_at = ?
WHERE id = ? AND status = 'PROCESSING' RETURNING id"""

FAIL_SQL = """
UPDATE payment SET status = 'FAILED', gateway_reference = ?, failure_reason = ?, updated_at = ?
WHERE id = ? AND status = 'PROCESSING' RETURNING id"""

# The invoice's status follows what has been paid of it, as Portico's `settle` does.
SETTLE_SQL = """
UPDATE sales_document SET balance_minor = balance_minor - ?,
  status = CASE WHEN balance_minor - ? <= 0 THEN 'PAID'
                WHEN balance_minor - ? >= total_minor THEN 'SENT'
                ELSE 'PARTIALLY_PAID' END,
  version = version + 1, updated_at = ?
WHERE id = ? RETURNING balance_minor"""

STREAM_LOCK_SQL = "SELECT pg_advisory_xact_lock(?, ?)"
STREAM_TOP_SQL = "SELECT COALESCE(MAX(seq), 0) AS top FROM activity WHERE organization_id = ?"

ACTIVITY_SQL = """
INSERT INTO activity (organization_id, seq, customer_id, kind, actor_kind, actor_contact_id,
  actor_name, document_type, document_id, document_number, data, visible_to_customer,
  created_at)
VALUES (?, ?, ?, ?, 'CONTACT', ?, ?, 'PAYMENT', ?, ?, ?, ?, ?) RETURNING id"""

STAFF_SQL = "SELECT id FROM staff_user WHERE organization_id = ? AND is_active = ?"

NOTIFICATION_SQL = """
INSERT INTO notification (organization_id, staff_user_id, activity_id, created_at) VALUES """

OUTBOX_SQL = """
INSERT INTO outbox_message (organization_id, message_id, to_address, reply_to, subject,
  sealed_body, template, attachments, status, attempts, last_error, next_attempt_at,
  claimed_by, created_at)
VALUES (?, ?, ?, ?, ?, ?, 'payment_receipt', '[]', 'PENDING', 0, '', ?, '', ?)"""

SESSION_TOUCH_SQL = "UPDATE session SET last_seen_at = ? WHERE id = ?"
IN_APP = ("IN_APP", "BOTH")


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class KeyTaken(Exception):
    """Rolls the first transaction back when the idempotency key was used before."""


def as_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def amount_text(minor: int, currency: str) -> str:
    return str(from_minor(minor, currency))


def payment_json(number: str, status: str, minor: int, currency: str) -> dict[str, Any]:
    return {"number": number, "status": status, "amount": {"amount": amount_text(minor, currency)}}


def answer(payment: dict[str, Any] | None, *errors: str) -> Response:
    body = {"payment": payment, "errors": [{"code": code} for code in errors]}
    return JSONResponse({"data": {"payInvoices": body}})


class RawPay:
    """Answers PAY for one card-paid invoice with raw SQL, as the API would."""

    def __init__(self, policy: SessionPolicy, database: raw_db.Database, postgres: bool) -> None:
        self.policy = policy
        self.database = database
        self.postgres = postgres

    async def rows(self, db: raw_db.Connection, text: str, values: list[Any]) -> list[Any]:
        return list(await db.fetch(text, *values))

    async def viewer(self, request: Request) -> dict[str, Any] | None:
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return None
        db = self.database
        found = await self.rows(db, VIEWER_SQL, [hash_token(secret.strip())])
        if not found or found[0]["portal_access"] != "ACTIVE" or found[0]["mfa_required"]:
            return None  # MFA is not seeded here: an enrolled contact would need a second step
        viewer, now = found[0], datetime.now(UTC)
        last_seen = as_datetime(viewer["last_seen_at"])
        if as_datetime(viewer["expires_at"]) <= now or last_seen + self.policy.idle <= now:
            return None
        if now - last_seen >= timedelta(minutes=1):  # as the API: at most once a minute
            await db.execute(SESSION_TOUCH_SQL, now, viewer["session_id"])
        return viewer

    async def pay(self, request: Request) -> Response:
        body = await request.json()
        viewer = await self.viewer(request)
        if viewer is None:
            return JSONResponse({"errors": [{"message": "unauthenticated"}]})
        payment_input = body["variables"]["input"]
        try:
            return answer(await self._pay(viewer, payment_input))
        except Refused as refused:
            return answer(None, refused.code)

    async def _pay(self, viewer: dict[str, Any], payment_input: dict[str, Any]) -> dict[str, Any]:
        key = str(payment_input["idempotencyKey"]).strip()
        [allocation] = payment_input["allocations"]  # one invoice per payment here
        token = str(payment_input.get("token") or "").strip()
        if not 8 <= len(key) <= 100 or not key.isprintable():
            raise Refused("INVALID")
        gateway = registry.gateway(viewer["payment_gateway"])
        try:
            details = await gateway.describe(token)
        except InvalidToken:
            raise Refused("INVALID_TOKEN") from None
        if details.kind != MethodKind.CARD:
            raise Refused("METHOD_NOT_ACCEPTED")  # bank debits are not part of this baseline
        try:
            global_id = GlobalID.from_id(allocation["documentId"])
            document_id, amount = int(global_id.node_id), Decimal(str(allocation["amount"]))
        except (ValueError, InvalidOperation):
            raise Refused("INVALID") from None
        fingerprint = hashlib.sha256(
            json.dumps(
                {"allocations": [[document_id, str(amount.normalize())]], "method": None,
                 "token": token, "save": False},
                sort_keys=True,
            ).encode()
        ).hexdigest()  # fmt: skip
        try:
            attempt = await self._attempt(viewer, key, fingerprint, document_id, amount, gateway)
        except KeyTaken:
            return await self._earlier(viewer, key, fingerprint)
        charge = await gateway.charge(
            key=attempt["charge_key"], token=token, amount_minor=attempt["amount_minor"],
            currency=attempt["currency"], description=attempt["number"],
        )  # fmt: skip
        return await self._resolve(viewer, attempt, charge)

    async def _attempt(
        self,
        viewer: dict[str, Any],
        key: str,
        fingerprint: str,
        document_id: int,
        amount: Decimal,
        gateway: Any,
    ) -> dict[str, Any]:
        org, customer = viewer["organization_id"], viewer["customer_id"]
        async with self.database.transaction() as db:
            lock = " FOR UPDATE" if self.postgres else ""  # SQLite runs one writer at a time
            found = await self.rows(db, INVOICE_SQL + lock, [document_id, org, customer])
            if not found:
                raise Refused("NOT_FOUND")
            invoice = found[0]
            if invoice["status"] not in ("SENT", "PARTIALLY_PAID"):
                raise Refused("INVALID_TRANSITION")
            if "card" not in as_json(invoice["payment_methods"]):
                raise Refused("METHOD_NOT_ACCEPTED")
            try:
                minor = to_minor(amount, invoice["currency"])
            except ValueError:
                raise Refused("INVALID_AMOUNT") from None
            if minor <= 0:
                raise Refused("INVALID_AMOUNT")
            if minor != invoice["balance_minor"] and not invoice["allow_partial_payments"]:
                raise Refused("PARTIAL_PAYMENT_NOT_ALLOWED")
            held = int((await self.rows(db, HELD_SQL, [document_id]))[0]["held"])
            prevent = viewer["prevent_duplicate_payments"]  # no preferences row: the default
            if held and (prevent is None or prevent):
                raise Refused("PAYMENT_IN_PROGRESS")
            if minor > invoice["balance_minor"] - held:
                raise Refused("EXCEEDS_BALANCE")
            series = (await self.rows(db, NUMBER_SQL, [org]))[0]
            number = f"{series['prefix']}-{int(series['taken']):06d}"
            now = datetime.now(UTC)
            charge_key = f"pay_{uuid.uuid4().hex}"
            payment_id = (
                await self.rows(db, PAYMENT_SQL, [
                    org, customer, number, invoice["currency"], minor, now.date(),
                    viewer["contact_id"], gateway.name, charge_key, now, now,
                ])
            )[0]["id"]  # fmt: skip
            await db.execute(
                ALLOCATION_SQL, org, customer, payment_id, document_id, minor, now.date(), now
            )
            claimed = await self.rows(
                db, KEY_SQL, [org, viewer["contact_id"], key, fingerprint, payment_id, now]
            )
            if not claimed:
                raise KeyTaken
        return {"id": payment_id, "number": number, "charge_key": charge_key,
                "amount_minor": minor, "currency": invoice["currency"], "paid_on": now.date(),
                "document_id": document_id, "document_number": invoice["number"]}  # fmt: skip

    async def _earlier(self, viewer: dict[str, Any], key: str, fingerprint: str) -> dict[str, Any]:
        earlier = (await self.rows(self.database, EARLIER_SQL, [viewer["contact_id"], key]))[0]
        if earlier["fingerprint"] != fingerprint:
            raise Refused("IDEMPOTENCY_KEY_REUSED")
        return payment_json(
            earlier["number"], earlier["status"], earlier["amount_minor"], earlier["currency"]
        )

    async def _resolve(
        self, viewer: dict[str, Any], attempt: dict[str, Any], charge: Any
    ) -> dict[str, Any]:
        org, now = viewer["organization_id"], datetime.now(UTC)
        succeeded = charge.status == ChargeStatus.SUCCEEDED
        actor_name = f"{viewer['first_name']} {viewer['last_name']}".strip()
        actor_name = actor_name or viewer["contact_email"]
        data = {"amount_minor": attempt["amount_minor"], "currency": attempt["currency"]}
        async with self.database.transaction() as db:
            if succeeded:
                changed = await self.rows(
                    db, SUCCEED_SQL, [charge.reference, now, now, attempt["id"]]
                )
            else:
                reason = charge.failure_reason or "The payment was not completed."
                changed = await self.rows(
                    db, FAIL_SQL, [charge.reference, reason, now, attempt["id"]]
                )
            if not changed:
                raise RuntimeError("the attempt was ended by someone else")  # not in this bench
            balance = None
            if succeeded:
                minor = attempt["amount_minor"]
                balance = (
                    await self.rows(db, SETTLE_SQL, [minor, minor, minor, now,
                                                     attempt["document_id"]])
                )[0]["balance_minor"]  # fmt: skip
                await self._receipt(db, viewer, attempt, charge.reference, int(balance), now)
            kind = "PAYMENT_MADE" if succeeded else "PAYMENT_FAILED"
            if self.postgres:  # the organization's stream stays in commit order
                await db.execute(STREAM_LOCK_SQL, _ACTIVITY_LOCK_NAMESPACE, org)
            seq = int((await self.rows(db, STREAM_TOP_SQL, [org]))[0]["top"]) + 1
            activity_id = (
                await self.rows(db, ACTIVITY_SQL, [
                    org, seq, viewer["customer_id"], kind, viewer["contact_id"], actor_name,
                    attempt["id"], attempt["number"], json.dumps(data, separators=(",", ":")),
                    True, now,
                ])
            )[0]["id"]  # fmt: skip
            if viewer["activity_notifications"] in (*IN_APP, None):
                staff = await self.rows(db, STAFF_SQL, [org, True])
                if staff:
                    values = ", ".join("(?, ?, ?, ?)" for _ in staff)
                    params = [v for s in staff for v in (org, s["id"], activity_id, now)]
                    await db.execute(NOTIFICATION_SQL + values, *params)
        message = {
            "type": "activity", "id": activity_id, "seq": seq, "organization_id": org,
            "customer_id": viewer["customer_id"], "kind": kind, "actor_kind": "CONTACT",
            "actor_staff_id": None, "actor_contact_id": viewer["contact_id"],
            "actor_name": actor_name, "document_type": "PAYMENT", "document_id": attempt["id"],
            "document_number": attempt["number"], "data": data, "visible_to_customer": True,
            "created_at": now.isoformat(),
        }  # fmt: skip
        await broker.current().publish(f"org.{org}", message)
        if succeeded:
            outbox.wake()
        status = "SUCCEEDED" if succeeded else "FAILED"
        return payment_json(attempt["number"], status, attempt["amount_minor"], attempt["currency"])

    async def _receipt(
        self,
        db: raw_db.Connection,
        viewer: dict[str, Any],
        attempt: dict[str, Any],
        reference: str,
        balance: int,
        now: datetime,
    ) -> None:
        contact_name = f"{viewer['first_name']} {viewer['last_name']}".strip()
        context = {
            "organization_name": viewer["organization_name"],
            "contact_name": contact_name or viewer["contact_email"],
            "payment_number": attempt["number"], "amount_minor": attempt["amount_minor"],
            "currency": attempt["currency"], "paid_on": attempt["paid_on"],
            "transaction_id": reference,
            "lines": [{"number": attempt["document_number"], "currency": attempt["currency"],
                       "paid_minor": attempt["amount_minor"], "balance_minor": balance}],
            "link": links.current().portal(viewer["portal_name"]),
            "mode": "CARD", "card_brand": "", "bank_name": "", "last4": "",
        }  # fmt: skip
        email = render_email("payment_receipt", context, viewer["portal_language"])
        message_id, to = f"<{uuid.uuid4().hex}@portico>", viewer["contact_email"]
        body = outbox.seal_body(outbox.EmailBody(email.text, email.html), message_id=message_id,
                                to_address=to)  # fmt: skip
        await db.execute(
            OUTBOX_SQL, viewer["organization_id"], message_id, to, viewer["organization_email"],
            email.subject[:300], body, now, now,
        )  # fmt: skip


# -- checking ------------------------------------------------------------------------------------


class Mismatch(Exception):
    pass


# Differ between any two payments: ids, times, keys, positions in the stream.
VOLATILE = {"id", "created_at", "updated_at", "settled_at", "next_attempt_at", "payment_id",
            "activity_id", "document_id", "seq", "key", "fingerprint", "charge_key",
            "message_id"}  # fmt: skip


async def written(payment_number: str) -> dict[str, list[dict[str, Any]]]:
    """The rows a payment left, with what differs between any two payments of one contact
    masked."""
    db = connections.get("default")
    postgres = db.capabilities.dialect == "postgres"

    async def rows(text: str, *values: Any) -> list[dict[str, Any]]:
        sql = raw_db.numbered(text) if postgres else text
        return [dict(row) for row in await db.execute_query_dict(sql, list(values))]

    [payment] = await rows("SELECT * FROM payment WHERE number = ?", payment_number)
    allocations = await rows("SELECT * FROM payment_allocation WHERE payment_id = ?", payment["id"])
    invoices = await rows(
        "SELECT * FROM sales_document WHERE id = ?", allocations[0]["document_id"]
    )
    activities = await rows(
        "SELECT * FROM activity WHERE document_type = 'PAYMENT' AND document_id = ?", payment["id"]
    )
    found = {
        "payment": [payment],
        "payment_allocation": allocations,
        "idempotency_key": await rows(
            "SELECT * FROM idempotency_key WHERE payment_id = ?", payment["id"]
        ),
        "sales_document": invoices,
        "activity": activities,
        "notification": await rows(
            "SELECT * FROM notification WHERE activity_id = ? ORDER BY staff_user_id",
            activities[0]["id"],
        ),
        "outbox_message": [
            opened(row)
            for row in await rows(
                "SELECT * FROM outbox_message WHERE subject LIKE ?", f"% {payment_number} %"
            )
        ],
    }
    masks: dict[str, str] = {payment_number: "<payment>", invoices[0]["number"]: "<invoice>",
             payment["gateway_reference"]: "<charge>"}  # fmt: skip
    return {table: [mask(row, masks) for row in table_rows] for table, table_rows in found.items()}


def opened(message: dict[str, Any]) -> dict[str, Any]:
    """An outbox row with its body as the recipient reads it: sealed, no two rows are alike."""
    row = dict(message)
    body = outbox.open_body(
        row.pop("sealed_body"), message_id=row["message_id"], to_address=row["to_address"]
    )
    return {**row, "text": body.text, "html": body.html}


def mask(row: dict[str, Any], masks: dict[str, str]) -> dict[str, Any]:
    masked = {}
    for column, value in row.items():
        if column in VOLATILE:
            continue
        if isinstance(value, str):
            for secret, placeholder in masks.items():
                if secret:
                    value = value.replace(secret, placeholder)
        masked[column] = value
    return masked


async def compare_rows(graphql_number: str, raw_number: str) -> None:
    mine, theirs = await written(graphql_number), await written(raw_number)
    for table in mine:
        if mine[table] != theirs[table]:
            raise Mismatch(
                f"{table} rows differ\n  graphql: {mine[table]}\n  raw:     {theirs[table]}"
            )


async def check_ledger(payments: int) -> str:
    """Portico's payments and the gateway's ledger must agree one for one."""
    db = connections.get("default")
    rows = await db.execute_query_dict(
        "SELECT charge_key, status, amount_minor, gateway_reference FROM payment"
        " WHERE charge_key IS NOT NULL"
    )
    ledger = {c.key: c for c in await registry.gateway("test").ledger() if c.key.startswith("pay_")}
    succeeded = {row["charge_key"]: row for row in rows if row["status"] == "SUCCEEDED"}
    problems = []
    if len(rows) != payments or len(succeeded) != payments:
        problems.append(f"{len(succeeded)} of {len(rows)} payments succeeded, {payments} made")
    if set(ledger) != set(succeeded):
        problems.append(f"{len(ledger)} charges for {len(succeeded)} succeeded payments")
    for key, row in succeeded.items():
        charge = ledger.get(key)
        if charge is None or (charge.status, charge.amount_minor, charge.reference) != (
            ChargeStatus.SUCCEEDED, row["amount_minor"], row["gateway_reference"]
        ):  # fmt: skip
            problems.append(f"{key}: payment {row} vs charge {charge}")
            break
    paid = await db.execute_query_dict(
        "SELECT COUNT(*) AS n FROM sales_document WHERE status = 'PAID' AND balance_minor = 0"
    )
    stream = await db.execute_query_dict(
        "SELECT COUNT(*) AS n, MAX(seq) AS top FROM activity GROUP BY organization_id"
    )
    if int(paid[0]["n"]) != payments:
        problems.append(f"{paid[0]['n']} invoices paid by {payments} payments")
    if any(int(s["n"]) != int(s["top"]) for s in stream):
        problems.append(f"activity stream has gaps or repeats: {stream}")
    if problems:
        raise Mismatch("database and ledger disagree: " + "; ".join(problems))
    return (
        f"{payments:,} payments = {len(ledger):,} succeeded charges, amounts and references equal"
    )


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Timing:
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0  # concurrent runs: the batches' elapsed time
    sql: int = 0
    writes: int = 0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / (self.wall or sum(self.latencies))

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


Pay = Callable[[Payer], Awaitable[Any]]


def payer_of(http: httpx.AsyncClient, path: str, side: str) -> Pay:
    async def pay(payer: Payer) -> dict[str, Any]:
        invoice = str(GlobalID("Invoice", str(payer.next_invoice(side))))
        allocation = {"documentId": invoice, "amount": amount_text(TOTAL_MINOR, CURRENCY)}
        payment_input = {"idempotencyKey": uuid.uuid4().hex, "allocations": [allocation],
                         "token": "tok_visa"}  # fmt: skip
        response = await http.post(
            path,
            json={"query": PAY, "variables": {"input": payment_input}},
            headers={"Authorization": f"Bearer {payer.token}"},
        )
        response.raise_for_status()
        body = response.json()
        result = (body.get("data") or {}).get("payInvoices") or {}
        if "errors" in body or result.get("errors") or result["payment"]["status"] != "SUCCEEDED":
            raise Mismatch(f"{path} did not pay: {body}")
        return body

    return pay


async def gateway_alone() -> None:
    await registry.gateway("test").charge(
        key=f"floor_{uuid.uuid4().hex}", token="tok_visa", amount_minor=TOTAL_MINOR,
        currency=CURRENCY, description="floor",
    )  # fmt: skip


def same_shape(first: dict[str, Any], second: dict[str, Any]) -> bool:
    def strip(body: dict[str, Any]) -> str:
        return re.sub(r"PAY-\d+", "PAY-n", json.dumps(body))

    return strip(first) == strip(second)


async def sequential(
    graphql: Pay, raw: Pay, payer: Payer, rounds: int, raw_database: raw_db.Database
) -> dict[str, Timing]:
    timings = {"graphql": Timing(), "raw": Timing(), "gateway alone": Timing()}
    with counting_sql() as counter:  # Tortoise's statements
        first = await graphql(payer)
    timings["graphql"].sql, timings["graphql"].writes = len(counter.statements), counter.writes
    statements, writes = raw_database.statements, raw_database.writes  # the driver pool's own
    second = await raw(payer)
    timings["raw"].sql = raw_database.statements - statements
    timings["raw"].writes = raw_database.writes - writes
    if not same_shape(first, second):
        raise Mismatch(f"bodies differ\n  graphql: {first}\n  raw:     {second}")
    await compare_rows(
        first["data"]["payInvoices"]["payment"]["number"],
        second["data"]["payInvoices"]["payment"]["number"],
    )
    for _ in range(WARMUP):
        await graphql(payer)
        await raw(payer)
    gc.collect()

    async def floor(_: Payer) -> None:
        await gateway_alone()

    sides = [
        (graphql, timings["graphql"]),
        (raw, timings["raw"]),
        (floor, timings["gateway alone"]),
    ]
    for round_ in range(rounds):  # interleaved; which side goes first rotates
        shift = round_ % len(sides)
        for send, timing in sides[shift:] + sides[:shift]:
            start = time.perf_counter()
            await send(payer)
            timing.latencies.append(time.perf_counter() - start)
    return timings


async def client(send: Pay, payer: Payer, payments: int, timing: Timing) -> None:
    for _ in range(payments):
        start = time.perf_counter()
        await send(payer)
        timing.latencies.append(time.perf_counter() - start)


async def concurrent(
    graphql: Pay, raw: Pay, payers: list[Payer], per_client: int
) -> dict[str, Timing]:
    timings = {"graphql": Timing(), "raw": Timing()}
    batches = [per_client // BATCHES + (b < per_client % BATCHES) for b in range(BATCHES)]
    gc.collect()
    for index, size in enumerate(batches):
        order = [("graphql", graphql), ("raw", raw)]
        for name, send in order if index % 2 == 0 else order[::-1]:
            timing = timings[name]
            started = time.perf_counter()
            await asyncio.gather(*(client(send, payer, size, timing) for payer in payers))
            timing.wall += time.perf_counter() - started
    return timings


# -- one backend ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    backend: str
    rows: dict[str, dict[str, Timing]]  # row name -> side -> timing
    consistency: str


async def run_backend(
    backend: str, url: str, var_dir: Path, rounds: int, clients: int, per_client: int
) -> Outcome:
    settings = Settings(database_url=url, secret_key="b" * 40, var_dir=var_dir, log_level="WARNING")
    EXECUTOR_CACHE.clear()  # compiled SQL is cached per connection name; both are "default"
    await migrate(url)
    await open_database(settings)
    database = await raw_db.open_database(url)
    try:
        policy = SessionPolicy.from_settings(settings)
        first = 1 + WARMUP + rounds + (per_client if clients else 0)
        needs = [first] + [per_client] * (clients - 1)
        payers = await seed(policy, max(1, clients), needs)
        if backend == "postgres":
            await connections.get("default").execute_script("ANALYZE")
        app = create_app(settings, manage_database=False)
        raw = RawPay(policy, database, postgres=backend == "postgres")
        app.router.routes.insert(0, Route("/raw/pay", raw.pay, methods=["POST"]))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            graphql, raw_pay = (
                payer_of(http, "/graphql", "graphql"),
                payer_of(http, "/raw/pay", "raw"),
            )
            rows = {"sequential": await sequential(graphql, raw_pay, payers[0], rounds, database)}
            print_row(backend, "sequential", rows["sequential"])
            if clients:
                name = f"{clients} concurrent clients"
                rows[name] = await concurrent(graphql, raw_pay, payers, per_client)
                for side, timing in rows[name].items():  # the same statements as one by one
                    timing.sql = rows["sequential"][side].sql
                    timing.writes = rows["sequential"][side].writes
                print_row(backend, name, rows[name])
        made = sum(
            len(t.latencies) for r in rows.values() for s, t in r.items() if s != "gateway alone"
        )
        consistency = await check_ledger(made + 2 * WARMUP + 2)
        return Outcome(backend, rows, consistency)
    finally:
        await database.close()
        await close_database()


# -- report --------------------------------------------------------------------------------------


HEADER = (
    f"{'backend':<9}{'request':<24}{'side':<15}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
    f"{'SQL/req':>9}{'writes':>8}{'n':>6}"
)


def print_row(backend: str, name: str, timings: dict[str, Timing]) -> None:
    for side, timing in timings.items():
        counted = side != "gateway alone"
        print(
            f"{backend:<9}{name:<24}{side:<15}{timing.throughput:>8.0f}"
            f"{timing.percentile(0.5) * 1000:>9.2f}{timing.percentile(0.99) * 1000:>9.2f}"
            f"{timing.sql if counted else '-':>9}{timing.writes if counted else '-':>8}"
            f"{len(timing.latencies):>6}",
            flush=True,
        )


def print_summary(outcome: Outcome) -> None:
    b = outcome.backend
    for name, timings in outcome.rows.items():
        graphql, raw = timings["graphql"], timings["raw"]
        ratio = graphql.throughput / raw.throughput
        extra = ""
        if "gateway alone" in timings:
            floor = timings["gateway alone"].percentile(0.5)
            extra = (
                f"; the gateway call alone is {floor * 1000:.2f} ms of "
                f"{graphql.percentile(0.5) * 1000:.2f} / {raw.percentile(0.5) * 1000:.2f} ms p50"
            )
        print(f"{b}: {name}: GraphQL / raw throughput = {ratio:.2f}{extra}")
    seq = outcome.rows["sequential"]
    print(
        f"{b}: SQL per payment: GraphQL {seq['graphql'].sql} ({seq['graphql'].writes} writes), "
        f"raw {seq['raw'].sql} ({seq['raw'].writes} writes)"
    )
    print(f"{b}: after the run: {outcome.consistency}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="postgres")
    parser.add_argument("--rounds", type=int, default=300, help="measured sequential rounds")
    parser.add_argument(
        "--clients", type=int, default=8, help="concurrent contacts paying (0: skip that row)"
    )
    parser.add_argument("--per-client", type=int, default=40, help="payments per client per side")
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    print("payInvoices vs a hand-written raw-SQL endpoint: same writes, same gateway, interleaved")
    print(f"  {args.rounds} measured sequential rounds after {WARMUP} warm-up pairs; "
          f"{args.clients} clients x {args.per_client} payments per side")  # fmt: skip
    print("  each request pays a fresh USD invoice in full with tok_visa through the test gateway")
    print(HEADER, flush=True)
    outcomes = []
    try:
        for backend in backends:
            with tempfile.TemporaryDirectory(prefix="portico-pay-") as tmp:
                run = (args.rounds, args.clients, args.per_client)
                if backend == "sqlite":
                    url = f"sqlite://{tmp}/bench.sqlite3"
                    outcomes.append(asyncio.run(run_backend(backend, url, Path(tmp), *run)))
                    continue
                with postgres_server() as server:
                    if server is None:
                        if args.backend == "postgres":
                            raise SystemExit("PostgreSQL (initdb/pg_ctl) is not installed")
                        print("postgres: skipped, PostgreSQL (initdb/pg_ctl) is not installed")
                        continue
                    url = asyncio.run(create_database(server, "portico_pay_bench"))
                    outcomes.append(asyncio.run(run_backend(backend, url, Path(tmp), *run)))
    except Mismatch as exc:
        raise SystemExit(f"FAILED: {exc}") from None
    print()
    for outcome in outcomes:
        print_summary(outcome)


if __name__ == "__main__":
    main()
