"""The built-in test gateway: a payment gateway for demos and tests that takes no real money.

It behaves like an external gateway. It keeps its own ledger in a SQLite file outside Portico's
database, so tests can compare the two, and every operation is one transaction on that file,
atomic across all the processes (server workers, the CLI) that share it. Webhooks are signed
like a real gateway's.

Test tokens (card expiry dates are month/year):

| Token            | Method                             | Charges                                  |
|------------------|------------------------------------|------------------------------------------|
| `tok_visa`       | card: visa 4242, 12/2030           | SUCCEEDED                                |
| `tok_mastercard` | card: mastercard 4444, 6/2031      | SUCCEEDED                                |
| `tok_declined`   | card: visa 0002, 12/2030           | DECLINED                                 |
| `tok_retry`      | card: visa 9995, 12/2030           | TRY_AGAIN the first time, then SUCCEEDED |
| `tok_ach`        | bank account: Test Bank 6789       | PENDING, settles as SUCCEEDED            |
| `tok_ach_fails`  | bank account: Test Bank 1116       | PENDING, settles as DECLINED             |

Failure reasons: "Your card was declined." (`tok_declined`), "The bank did not answer; try
again." (the first charge ever made with `tok_retry` in a ledger; a replay of its key repeats
it, a new key succeeds), "The account has insufficient funds." (a bank debit settled as
DECLINED). Any other token is invalid (`InvalidToken`).

Refunds give back part or all of a SUCCEEDED charge, never more than is left of it, at most
once per key. A refused refund (the charge is unknown, not SUCCEEDED, or has less left) is
FAILED, and its key stays refused; `lookup_or_cancel_refund()` cancels a key never used.

Bank debits stay PENDING until `settle()` ends them, as a bank would days later;
`signed_webhook()` then builds the `charge.updated` delivery a real gateway would send.
Webhooks carry the header `Portico-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." +
body, keyed with the webhook secret>` and are refused when more than five minutes old or early.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeGuard, TypeVar

from integrations.gateways.base import (
    BadWebhook,
    Charge,
    ChargeStatus,
    GatewayError,
    InvalidToken,
    MethodDetails,
    MethodKind,
    Refund,
    RefundStatus,
    WebhookEvent,
)

T = TypeVar("T")
P = ParamSpec("P")

SIGNATURE_HEADER = "Portico-Signature"
TIMESTAMP = re.compile(r"[0-9]{1,15}")
WEBHOOK_TOLERANCE_SECONDS = 300
# How long a call waits for another process's transaction on the ledger before giving up.
BUSY_TIMEOUT_SECONDS = 10.0

DECLINED_REASON = "Your card was declined."
TRY_AGAIN_REASON = "The bank did not answer; try again."
INSUFFICIENT_FUNDS_REASON = "The account has insufficient funds."
NO_SUCH_CHARGE_REASON = "No such charge."
EXCEEDS_CHARGE_REASON = "The refunds would exceed the charge."


@dataclass(frozen=True)
class TokenBehaviour:
    details: MethodDetails
    status: ChargeStatus
    failure_reason: str = ""
    # Bank debits: how a PENDING charge ends when settled.
    settles_as: ChargeStatus = ChargeStatus.SUCCEEDED
    # The first charge ever made with the token is TRY_AGAIN instead.
    fails_first: bool = False


def _card(token: str, brand: str, last4: str, month: int, year: int) -> MethodDetails:
    return MethodDetails(MethodKind.CARD, token, last4, brand, month, year)


def _bank_account(token: str, last4: str) -> MethodDetails:
    return MethodDetails(MethodKind.BANK_ACCOUNT, token, last4, bank_name="Test Bank")


TOKENS: dict[str, TokenBehaviour] = {
    "tok_visa": TokenBehaviour(_card("tok_visa", "visa", "4242", 12, 2030), ChargeStatus.SUCCEEDED),
    "tok_mastercard": TokenBehaviour(
        _card("tok_mastercard", "mastercard", "4444", 6, 2031), ChargeStatus.SUCCEEDED
    ),
    "tok_declined": TokenBehaviour(
        _card("tok_declined", "visa", "0002", 12, 2030), ChargeStatus.DECLINED, DECLINED_REASON
    ),
    "tok_retry": TokenBehaviour(
        _card("tok_retry", "visa", "9995", 12, 2030), ChargeStatus.SUCCEEDED, fails_first=True
    ),
    "tok_ach": TokenBehaviour(_bank_account("tok_ach", "6789"), ChargeStatus.PENDING),
    "tok_ach_fails": TokenBehaviour(
        _bank_account("tok_ach_fails", "1116"),
        ChargeStatus.PENDING,
        settles_as=ChargeStatus.DECLINED,
    ),
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS charges (
    key TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    failure_reason TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS cancelled_keys (
    key TEXT PRIMARY KEY,
    cancelled_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS refunds (
    key TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    charge_reference TEXT NOT NULL REFERENCES charges (reference),
    amount_minor INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS refunds_charge ON refunds (charge_reference);
-- Refund keys that never will refund: refused (FAILED) or cancelled before use (CANCELLED).
CREATE TABLE IF NOT EXISTS closed_refund_keys (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    failure_reason TEXT NOT NULL,
    closed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    token TEXT PRIMARY KEY,
    count INTEGER NOT NULL
);
"""


class TestGateway:
    """The `test` gateway; its ledger lives in the SQLite file at `ledger_path`."""

    # Named like a test class; this keeps pytest from collecting it where tests import it.
    __test__ = False

    name = "test"

    def __init__(
        self,
        ledger_path: Path,
        webhook_secret: bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger_path = Path(ledger_path)
        self._webhook_secret = webhook_secret
        self.clock = clock
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    # Gateway protocol

    async def describe(self, token: str) -> MethodDetails:
        return _test_token(token).details

    async def charge(
        self, *, key: str, token: str, amount_minor: int, currency: str, description: str
    ) -> Charge:
        _test_token(token)
        if not key:
            raise GatewayError("an idempotency key is required")
        if amount_minor <= 0:
            raise GatewayError("amount_minor must be positive")
        if len(currency) != 3 or not currency.isalpha():
            raise GatewayError("currency must be a three-letter code")
        return await self._run(self._charge, key, token, amount_minor, currency, description)

    async def lookup(self, key: str) -> Charge | None:
        """The charge made with `key`; a cancelled key reads as CANCELLED, like a replay."""
        return await self._run(self._lookup, key)

    async def lookup_or_cancel(self, key: str) -> Charge:
        return await self._run(self._lookup_or_cancel, key)

    async def refund(self, *, key: str, charge_reference: str, amount_minor: int) -> Refund:
        if not key:
            raise GatewayError("an idempotency key is required")
        if amount_minor <= 0:
            raise GatewayError("amount_minor must be positive")
        return await self._run(self._refund, key, charge_reference, amount_minor)

    async def lookup_or_cancel_refund(self, key: str) -> Refund:
        return await self._run(self._lookup_or_cancel_refund, key)

    def parse_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        timestamp, signatures = _parse_signature_header(_header(headers, SIGNATURE_HEADER))
        expected = self._signature(timestamp, body).encode()
        # Every candidate is compared, so the time taken says nothing about which one matched.
        matches = [hmac.compare_digest(expected, candidate.encode()) for candidate in signatures]
        if not any(matches):
            raise BadWebhook("signature does not match")
        if abs(self.clock() - timestamp) > WEBHOOK_TOLERANCE_SECONDS:
            raise BadWebhook("timestamp outside the tolerance")
        return _parse_event(body)

    # Test gateway only

    async def settle(self, key: str, outcome: str | None = None) -> Charge:
        """Ends a PENDING bank debit: as its token dictates, or as `outcome` (SUCCEEDED or
        DECLINED) forces. A charge that is not pending is returned unchanged; a key never
        charged raises LookupError."""
        forced = _settle_outcome(outcome)
        return await self._run(self._settle, key, forced)

    async def pending_keys(self) -> list[str]:
        return await self._run(self._pending_keys)

    async def ledger(self) -> list[Charge]:
        """Every charge made, in the order made; cancelled keys are not charges."""
        return await self._run(self._ledger)

    async def refund_ledger(self) -> list[Refund]:
        """Every refund made, in the order made; refused and cancelled keys are not refunds."""
        return await self._run(self._refund_ledger)

    def signed_webhook(
        self,
        event_type: str,
        charge_key: str,
        event_id: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body of a webhook delivery about a charge."""
        ts = int(self.clock()) if timestamp is None else timestamp
        event = {
            "id": event_id or f"evt_{secrets.token_hex(12)}",
            "type": event_type,
            "data": {"key": charge_key},
            "created": ts,
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: f"t={ts},v1={self._signature(ts, body)}",
        }
        return headers, body

    # Ledger operations, each one transaction, run in a worker thread

    def _charge(
        self, key: str, token: str, amount_minor: int, currency: str, description: str
    ) -> Charge:
        with self._transaction("IMMEDIATE") as db:
            if _is_cancelled(db, key):
                return _cancelled(key)
            row = db.execute(
                "SELECT token, amount_minor, currency FROM charges WHERE key = ?", (key,)
            ).fetchone()
            if row is not None:
                if tuple(row) != (token, amount_minor, currency):
                    raise GatewayError("key reused with different parameters")
                return _select_charge(db, key)
            attempt = _count_attempt(db, token)
            status, reason = _outcome(token, attempt)
            db.execute(
                "INSERT INTO charges (key, token, amount_minor, currency, status, reference,"
                " failure_reason, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    token,
                    amount_minor,
                    currency,
                    status,
                    f"ch_{secrets.token_hex(12)}",
                    reason,
                    description,
                    self.clock(),
                ),
            )
            return _select_charge(db, key)

    def _lookup(self, key: str) -> Charge | None:
        with self._transaction("DEFERRED") as db:
            charge = _find_charge(db, key)
            if charge is None and _is_cancelled(db, key):
                return _cancelled(key)
            return charge

    def _lookup_or_cancel(self, key: str) -> Charge:
        with self._transaction("IMMEDIATE") as db:
            charge = _find_charge(db, key)
            if charge is not None:
                return charge
            db.execute(
                "INSERT OR IGNORE INTO cancelled_keys (key, cancelled_at) VALUES (?, ?)",
                (key, self.clock()),
            )
            return _cancelled(key)

    def _refund(self, key: str, charge_reference: str, amount_minor: int) -> Refund:
        with self._transaction("IMMEDIATE") as db:
            made = _find_refund(db, key)
            if made is not None:
                if (made.charge_reference, made.amount_minor) != (charge_reference, amount_minor):
                    raise GatewayError("key reused with different parameters")
                return made
            closed = _closed_refund(db, key)
            if closed is not None:
                return closed
            reason = _refusal(db, charge_reference, amount_minor)
            if reason:
                _close_refund_key(db, key, RefundStatus.FAILED, reason, self.clock())
                return Refund(key, RefundStatus.FAILED, 0, charge_reference, failure_reason=reason)
            db.execute(
                "INSERT INTO refunds (key, reference, charge_reference, amount_minor, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, f"re_{secrets.token_hex(12)}", charge_reference, amount_minor, self.clock()),
            )
            refund = _find_refund(db, key)
            assert refund is not None
            return refund

    def _lookup_or_cancel_refund(self, key: str) -> Refund:
        with self._transaction("IMMEDIATE") as db:
            ended = _find_refund(db, key) or _closed_refund(db, key)
            if ended is not None:
                return ended
            _close_refund_key(db, key, RefundStatus.CANCELLED, "", self.clock())
            return Refund(key, RefundStatus.CANCELLED, 0)

    def _settle(self, key: str, forced: ChargeStatus | None) -> Charge:
        with self._transaction("IMMEDIATE") as db:
            charge = _find_charge(db, key)
            if charge is None:
                if _is_cancelled(db, key):
                    return _cancelled(key)
                raise LookupError(f"no charge was made with key {key!r}")
            if charge.status != ChargeStatus.PENDING:
                return charge
            status = forced or TOKENS[_charge_token(db, key)].settles_as
            reason = "" if status == ChargeStatus.SUCCEEDED else INSUFFICIENT_FUNDS_REASON
            db.execute(
                "UPDATE charges SET status = ?, failure_reason = ? WHERE key = ?",
                (status, reason, key),
            )
            return _select_charge(db, key)

    def _pending_keys(self) -> list[str]:
        with self._transaction("DEFERRED") as db:
            rows = db.execute(
                "SELECT key FROM charges WHERE status = ? ORDER BY rowid", (ChargeStatus.PENDING,)
            ).fetchall()
            return [row[0] for row in rows]

    def _ledger(self) -> list[Charge]:
        with self._transaction("DEFERRED") as db:
            rows = db.execute(
                "SELECT key, status, amount_minor, currency, reference, failure_reason"
                " FROM charges ORDER BY rowid"
            ).fetchall()
            return [_row_to_charge(row) for row in rows]

    def _refund_ledger(self) -> list[Refund]:
        with self._transaction("DEFERRED") as db:
            rows = db.execute(f"{SELECT_REFUND} ORDER BY rowid").fetchall()
            return [_row_to_refund(row) for row in rows]

    # Plumbing

    async def _run(self, operation: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await asyncio.to_thread(operation, *args, **kwargs)
        except sqlite3.Error as exc:
            # As with a gateway that cannot be reached: the caller cannot know what happened.
            raise GatewayError(f"test gateway ledger unavailable: {exc}") from exc

    @contextmanager
    def _transaction(self, mode: Literal["DEFERRED", "IMMEDIATE"]) -> Iterator[sqlite3.Connection]:
        """One transaction on its own connection, committed before the call returns.

        IMMEDIATE takes the write lock up front, so a read followed by a write cannot
        interleave with another process doing the same."""
        db = self._connect()
        try:
            db.execute(f"BEGIN {mode}")
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are begun explicitly, never implicitly.
        db = sqlite3.connect(self.ledger_path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            self._ensure_schema(db)
        except BaseException:
            db.close()
            raise
        return db

    def _ensure_schema(self, db: sqlite3.Connection) -> None:
        with self._schema_lock:
            if self._schema_ready:
                return
            # WAL lets readers proceed while a writer holds the lock; the mode is stored in the
            # file, so setting it once per process is enough.
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(SCHEMA)
            self._schema_ready = True

    def _signature(self, timestamp: int, body: bytes) -> str:
        signed = f"{timestamp}.".encode() + body
        return hmac.new(self._webhook_secret, signed, hashlib.sha256).hexdigest()


def _test_token(token: str) -> TokenBehaviour:
    try:
        return TOKENS[token]
    except KeyError:
        raise InvalidToken(token) from None


def _outcome(token: str, attempt: int) -> tuple[ChargeStatus, str]:
    """How a new charge ends; `attempt` counts the charges ever made with the token."""
    test_token = TOKENS[token]
    if test_token.fails_first and attempt == 1:
        return ChargeStatus.TRY_AGAIN, TRY_AGAIN_REASON
    return test_token.status, test_token.failure_reason


def _settle_outcome(outcome: str | None) -> ChargeStatus | None:
    if outcome is None:
        return None
    if outcome not in (ChargeStatus.SUCCEEDED, ChargeStatus.DECLINED):
        raise ValueError(f"a charge settles as SUCCEEDED or DECLINED, not {outcome!r}")
    return ChargeStatus(outcome)


def _cancelled(key: str) -> Charge:
    return Charge(key, ChargeStatus.CANCELLED, 0, "")


def _row_to_charge(row: tuple[Any, ...]) -> Charge:
    key, status, amount_minor, currency, reference, failure_reason = row
    return Charge(key, ChargeStatus(status), amount_minor, currency, reference, failure_reason)


def _find_charge(db: sqlite3.Connection, key: str) -> Charge | None:
    row = db.execute(
        "SELECT key, status, amount_minor, currency, reference, failure_reason"
        " FROM charges WHERE key = ?",
        (key,),
    ).fetchone()
    return None if row is None else _row_to_charge(row)


def _select_charge(db: sqlite3.Connection, key: str) -> Charge:
    charge = _find_charge(db, key)
    assert charge is not None
    return charge


def _charge_token(db: sqlite3.Connection, key: str) -> str:
    return db.execute("SELECT token FROM charges WHERE key = ?", (key,)).fetchone()[0]


def _is_cancelled(db: sqlite3.Connection, key: str) -> bool:
    return db.execute("SELECT 1 FROM cancelled_keys WHERE key = ?", (key,)).fetchone() is not None


def _count_attempt(db: sqlite3.Connection, token: str) -> int:
    row = db.execute(
        "INSERT INTO attempts (token, count) VALUES (?, 1)"
        " ON CONFLICT (token) DO UPDATE SET count = count + 1 RETURNING count",
        (token,),
    ).fetchone()
    return row[0]


SELECT_REFUND = "SELECT key, amount_minor, charge_reference, reference FROM refunds"


def _row_to_refund(row: tuple[Any, ...]) -> Refund:
    key, amount_minor, charge_reference, reference = row
    return Refund(key, RefundStatus.SUCCEEDED, amount_minor, charge_reference, reference)


def _find_refund(db: sqlite3.Connection, key: str) -> Refund | None:
    row = db.execute(f"{SELECT_REFUND} WHERE key = ?", (key,)).fetchone()
    return None if row is None else _row_to_refund(row)


def _closed_refund(db: sqlite3.Connection, key: str) -> Refund | None:
    row = db.execute(
        "SELECT status, failure_reason FROM closed_refund_keys WHERE key = ?", (key,)
    ).fetchone()
    return None if row is None else Refund(key, RefundStatus(row[0]), 0, failure_reason=row[1])


def _close_refund_key(
    db: sqlite3.Connection, key: str, status: RefundStatus, reason: str, now: float
) -> None:
    db.execute(
        "INSERT INTO closed_refund_keys (key, status, failure_reason, closed_at)"
        " VALUES (?, ?, ?, ?)",
        (key, status, reason, now),
    )


def _refusal(db: sqlite3.Connection, charge_reference: str, amount_minor: int) -> str:
    """Why the charge cannot give back `amount_minor`; empty when it can."""
    row = db.execute(
        "SELECT status, amount_minor FROM charges WHERE reference = ?", (charge_reference,)
    ).fetchone()
    if row is None:
        return NO_SUCH_CHARGE_REASON
    status, charged = row
    if status != ChargeStatus.SUCCEEDED:
        return f"A {status.lower()} charge cannot be refunded."
    refunded = db.execute(
        "SELECT COALESCE(SUM(amount_minor), 0) FROM refunds WHERE charge_reference = ?",
        (charge_reference,),
    ).fetchone()[0]
    return EXCEEDS_CHARGE_REASON if refunded + amount_minor > charged else ""


def _header(headers: dict[str, str], name: str) -> str:
    wanted = name.lower()
    for header, value in headers.items():
        if header.lower() == wanted:
            return value
    raise BadWebhook(f"no {name} header")


def _parse_signature_header(value: str) -> tuple[int, list[str]]:
    """The timestamp and the v1 signatures; other schemes are ignored, as gateways add them."""
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in value.split(","):
        scheme, sep, item = part.strip().partition("=")
        if not sep or not item:
            raise BadWebhook("malformed signature header")
        if scheme == "t":
            timestamps.append(item)
        elif scheme == "v1":
            signatures.append(item)
    if len(timestamps) != 1 or not TIMESTAMP.fullmatch(timestamps[0]):
        raise BadWebhook("malformed signature header")
    if not signatures:
        raise BadWebhook("no v1 signature")
    return int(timestamps[0]), signatures


def _parse_event(body: bytes) -> WebhookEvent:
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        raise BadWebhook("body is not JSON") from None
    if not isinstance(event, dict):
        raise BadWebhook("body is not a JSON object")
    event_id, event_type, data = event.get("id"), event.get("type"), event.get("data")
    key = data.get("key") if isinstance(data, dict) else None
    if not (_is_text(event_id) and _is_text(event_type) and _is_text(key)):
        raise BadWebhook("event needs string id, type and data.key")
    return WebhookEvent(event_id, event_type, key)


def _is_text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value != ""
