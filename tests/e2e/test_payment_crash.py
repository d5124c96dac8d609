"""Kill `portico serve` in the middle of a card payment, or of a refund of one, at each of the
flow's crash points, then restart it and reconcile: Portico's database must agree with the
gateway's ledger (nothing lost, nothing taken or given back twice) and retries must be safe. On
SQLite and on a throwaway PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations.gateways.base import Charge, ChargeStatus, RefundStatus
from integrations.gateways.test_gateway import TestGateway
from server.demo import ADMIN_EMAIL, ADMIN_PASSWORD, CONTACT_EMAIL, CONTACT_PASSWORD, DEMO_PORTAL
from tests import launcher
from tests.databases import DemoTemplates, worker_name
from tests.e2e.processes import (
    login,
    portal_login,
    portico_env,
    serve,
    serve_process,
)

POINTS = ("before-charge", "after-charge", "after-commit")
REFUND_POINTS = ("refund-before-call", "refund-after-call", "refund-after-commit")

OPEN_INVOICES = """{ salesDocuments(filter: {kinds: [INVOICE], statuses: [SENT, OVERDUE]}) {
  nodes { id number status ... on Payable { balanceDue { amount } paymentMethods } } } }"""
INVOICE = """query($id: ID!) { salesDocument(id: $id) { number status
  ... on Payable { balanceDue { amount } } } }"""
PAY = """mutation($input: PayInvoicesInput!) { payInvoices(input: $input) {
  payment { id number status amount { amount } } errors { code message } } }"""
REFUND = """mutation($input: RefundPaymentInput!) { refundPayment(input: $input) {
  payment { refundedAmount { amount } } errors { code message } } }"""

# What the gateway was asked to do, as Portico's database remembers it.
ONLINE_PAYMENTS = (
    "SELECT charge_key, number, status, amount_minor, currency, gateway_reference FROM payment"
    " WHERE charge_key IS NOT NULL ORDER BY id"
)
IN_FLIGHT = "SELECT count(*) FROM payment WHERE status IN ('PROCESSING', 'PENDING')"
RECEIPTS = "SELECT count(*) FROM outbox_message WHERE template = 'payment_receipt'"
PAYMENT_ACTIVITY = (
    "SELECT kind, count(*) FROM activity WHERE document_type = 'PAYMENT' AND document_id IN"
    " (SELECT id FROM payment WHERE charge_key IS NOT NULL) AND kind != 'PAYMENT_REFUNDED'"
    " GROUP BY kind ORDER BY kind"
)
SAVED_METHODS = "SELECT count(*) FROM saved_payment_method"
# What the gateway was asked to give back, as Portico's database remembers it.
ONLINE_REFUNDS = (
    "SELECT r.refund_key, r.status, r.amount_minor, r.gateway_reference, p.gateway_reference"
    " FROM payment_refund r JOIN payment p ON p.id = r.payment_id"
    " WHERE p.charge_key IS NOT NULL ORDER BY r.id"
)
REFUNDED = "SELECT gateway_reference, refunded_minor FROM payment WHERE charge_key IS NOT NULL"
REFUND_ACTIVITY = "SELECT count(*) FROM activity WHERE kind = 'PAYMENT_REFUNDED'"


@dataclass(frozen=True)
class OnlinePayment:
    charge_key: str
    number: str
    status: str
    amount_minor: int
    currency: str
    gateway_reference: str


@dataclass(frozen=True)
class Template:
    """The run's installation with the demo loaded (tests.databases), copied for each case:
    every case starts from what `portico migrate` and `portico demo` make, without paying for
    them in each (tests.test_cli runs those)."""

    backend: str
    demo: DemoTemplates

    def fresh(self, var_dir: Path, name: str) -> tuple[dict[str, str], str]:
        """The environment of a new installation in `var_dir`, and its database URL."""
        if self.backend == "sqlite":
            self.demo.sqlite_install(var_dir)
            return portico_env(var_dir), f"sqlite://{var_dir / 'portico.sqlite3'}"
        url = self.demo.postgres_install(var_dir, f"{name}_{worker_name()}")
        return portico_env(var_dir, DATABASE_URL=url), url


@pytest.fixture(scope="module")
def template(backend: str, demo_templates: DemoTemplates) -> Template:
    return Template(backend, demo_templates)


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_mid_payment_is_reconciled_with_the_gateway(
    template: Template, point: str, tmp_path: Path
) -> None:
    env, database_url = template.fresh(tmp_path, f"crash_{point.replace('-', '_')}")
    gateway = TestGateway(tmp_path / "test-gateway.sqlite3", b"unused")
    with _logs_shown_on_failure(tmp_path):
        crashing_env = {**env, "PORTICO_CRASH_AT": point}
        with serve_process(crashing_env, tmp_path / "crashing.log") as (base, process):
            contact = portal_login(base, DEMO_PORTAL, CONTACT_EMAIL, CONTACT_PASSWORD)
            invoice = _invoice_to_pay_by_card(base, contact)
            key = f"crash-{uuid.uuid4().hex}"
            with pytest.raises(httpx.TransportError):
                _pay(base, contact, invoice, key)
            assert process.wait(timeout=15) == -signal.SIGKILL

        with serve(env, tmp_path / "restarted.log") as base:
            changed = _portico_output("payments", "reconcile", "--older-than", "0", env=env)
            reconciled = 0 if point == "after-commit" else 1
            assert changed == f"Reconciled {reconciled} payments and 0 refunds."
            charged = point != "before-charge"
            _assert_database_agrees_with_ledger(database_url, gateway, charges=int(charged))
            _assert_invoice(base, contact, invoice, paid=charged)

            # The contact's retry with the same key gets the first payment back, and is never
            # charged again; the card it asked to keep is saved now, once.
            for _ in range(2):
                replay = _pay(base, contact, invoice, key)["data"]["payInvoices"]
                [payment] = _online_payments(database_url)
                assert replay["payment"]["number"] == payment.number
                assert replay["payment"]["amount"] == invoice["balanceDue"]
                outcome = ("SUCCEEDED", []) if charged else ("FAILED", ["PAYMENT_NOT_COMPLETED"])
                codes = [e["code"] for e in replay["errors"]]
                assert (replay["payment"]["status"], codes) == outcome
                assert _scalar(database_url, SAVED_METHODS) == int(charged)
            _assert_database_agrees_with_ledger(database_url, gateway, charges=int(charged))

            if not charged:
                # Reconciling cancelled the key: a gateway call still under way cannot charge it.
                late = asyncio.run(
                    gateway.charge(
                        key=payment.charge_key, token="tok_visa", amount_minor=payment.amount_minor,
                        currency=payment.currency, description=payment.number,
                    )
                )  # fmt: skip
                assert late.status == ChargeStatus.CANCELLED
                # Nothing was taken, so the invoice is still open: paying it anew succeeds once.
                again = _pay(base, contact, invoice, f"crash-{uuid.uuid4().hex}")
                assert again["data"]["payInvoices"]["errors"] == []
                assert again["data"]["payInvoices"]["payment"]["status"] == "SUCCEEDED"
                _assert_database_agrees_with_ledger(database_url, gateway, charges=1)
                _assert_invoice(base, contact, invoice, paid=True)
                assert _scalar(database_url, SAVED_METHODS) == 1


@pytest.mark.parametrize("point", REFUND_POINTS)
def test_a_crash_mid_refund_is_reconciled_with_the_gateway(
    template: Template, point: str, tmp_path: Path
) -> None:
    env, database_url = template.fresh(tmp_path, f"crash_{point.replace('-', '_')}")
    gateway = TestGateway(tmp_path / "test-gateway.sqlite3", b"unused")
    with _logs_shown_on_failure(tmp_path):
        crashing_env = {**env, "PORTICO_CRASH_AT": point}
        with serve_process(crashing_env, tmp_path / "crashing.log") as (base, process):
            contact = portal_login(base, DEMO_PORTAL, CONTACT_EMAIL, CONTACT_PASSWORD)
            staff = login(base, ADMIN_EMAIL, ADMIN_PASSWORD)
            invoice = _invoice_to_pay_by_card(base, contact)
            paid = _pay(base, contact, invoice, f"crash-{uuid.uuid4().hex}")["data"]["payInvoices"]
            assert paid["payment"]["status"] == "SUCCEEDED"
            total = Decimal(invoice["balanceDue"]["amount"])
            half = (total / 2).quantize(Decimal("0.01"))
            with pytest.raises(httpx.TransportError):
                _refund(base, staff, paid["payment"]["id"], half)
            assert process.wait(timeout=15) == -signal.SIGKILL

        with serve(env, tmp_path / "restarted.log") as base:
            changed = _portico_output("payments", "reconcile", "--older-than", "0", env=env)
            reconciled = 0 if point == "refund-after-commit" else 1
            assert changed == f"Reconciled 0 payments and {reconciled} refunds."
            given_back = point != "refund-before-call"
            _assert_refunds_agree_with_ledger(database_url, gateway, refunds=int(given_back))
            refunded = half if given_back else Decimal(0)
            _assert_due_again(base, contact, invoice, refunded)
            if not given_back:
                # Reconciling cancelled the key: a call still under way cannot give money back.
                [(key, *_)] = _rows(database_url, ONLINE_REFUNDS)
                [(charge_reference, _)] = _rows(database_url, REFUNDED)
                late = asyncio.run(
                    gateway.refund(key=key, charge_reference=charge_reference, amount_minor=1)
                )
                assert late.status == RefundStatus.CANCELLED

            # The next refund has a key of its own: the rest goes back, and not a cent more.
            staff = login(base, ADMIN_EMAIL, ADMIN_PASSWORD)
            rest = _refund(base, staff, paid["payment"]["id"], total - refunded)["data"]
            assert rest["refundPayment"]["errors"] == []
            assert rest["refundPayment"]["payment"]["refundedAmount"] == invoice["balanceDue"]
            over = _refund(base, staff, paid["payment"]["id"], Decimal("0.01"))["data"]
            assert [e["code"] for e in over["refundPayment"]["errors"]] == ["EXCEEDS_BALANCE"]
            _assert_refunds_agree_with_ledger(database_url, gateway, refunds=int(given_back) + 1)
            _assert_due_again(base, contact, invoice, total)
            _assert_database_agrees_with_ledger(database_url, gateway, charges=1)


def _assert_refunds_agree_with_ledger(
    database_url: str, gateway: TestGateway, *, refunds: int
) -> None:
    """Every refund the gateway made is a SUCCEEDED refund of Portico's, under the same key, of
    the same charge and amount; every other ended FAILED; payments count what was given back."""
    ledger = {refund.key: refund for refund in asyncio.run(gateway.refund_ledger())}
    assert len(ledger) == refunds, ledger
    by_key: dict[str, list[tuple[Any, ...]]] = {}
    for key, *row in _rows(database_url, ONLINE_REFUNDS):
        by_key.setdefault(key, []).append(tuple(row))
    for key, rows in by_key.items():
        statuses = {status for status, *_ in rows}
        amount = sum(amount for _, amount, *_ in rows)
        if key not in ledger:
            assert statuses == {"FAILED"}, rows
            continue
        refund = ledger[key]
        assert statuses == {"SUCCEEDED"}, rows
        assert amount == refund.amount_minor
        assert {(reference, charge) for _, _, reference, charge in rows} == {
            (refund.reference, refund.charge_reference)
        }
    assert set(ledger) <= set(by_key)
    for charge_reference, refunded_minor in _rows(database_url, REFUNDED):
        given = [r.amount_minor for r in ledger.values() if r.charge_reference == charge_reference]
        assert refunded_minor == sum(given)
    assert _scalar(database_url, REFUND_ACTIVITY) == refunds


def _assert_due_again(base: str, contact: str, invoice: dict[str, Any], refunded: Decimal) -> None:
    """The invoice the payment paid is due again by what was given back, no more."""
    if refunded in (0, Decimal(invoice["balanceDue"]["amount"])):
        _assert_invoice(base, contact, invoice, paid=refunded == 0)
        return
    now = _graphql(base, INVOICE, {"id": invoice["id"]}, contact)["data"]["salesDocument"]
    assert Decimal(now["balanceDue"]["amount"]) == refunded
    assert now["status"] == ("OVERDUE" if invoice["status"] == "OVERDUE" else "PARTIALLY_PAID")


def _refund(base: str, staff: str, payment_id: str, amount: Decimal) -> dict[str, Any]:
    refund = {"paymentId": payment_id, "amount": str(amount), "mode": "CARD"}
    return _graphql(base, REFUND, {"input": refund}, staff)


def _assert_database_agrees_with_ledger(
    database_url: str, gateway: TestGateway, *, charges: int
) -> None:
    payments = _online_payments(database_url)
    ledger: list[Charge] = asyncio.run(gateway.ledger())
    assert len(ledger) == charges, ledger
    assert _scalar(database_url, IN_FLIGHT) == 0
    by_key = {payment.charge_key: payment for payment in payments}
    for charge in ledger:
        # Every charge belongs to a payment that says what the gateway says.
        payment = by_key[charge.key]
        assert charge.status == ChargeStatus.SUCCEEDED
        assert (payment.status, payment.amount_minor, payment.currency) == (
            "SUCCEEDED",
            charge.amount_minor,
            charge.currency,
        )
        assert payment.gateway_reference == charge.reference
    charged_keys = {charge.key for charge in ledger}
    for payment in payments:
        # What the gateway never charged ended FAILED, with no charge of the gateway's.
        if payment.charge_key not in charged_keys:
            assert payment.status == "FAILED", payment
            assert payment.gateway_reference == ""
    succeeded = sum(payment.status == "SUCCEEDED" for payment in payments)
    failed = sum(payment.status == "FAILED" for payment in payments)
    assert _scalar(database_url, RECEIPTS) == succeeded
    activity = dict(_rows(database_url, PAYMENT_ACTIVITY))
    assert activity == {
        kind: count
        for kind, count in (("PAYMENT_FAILED", failed), ("PAYMENT_MADE", succeeded))
        if count
    }


def _assert_invoice(base: str, contact: str, invoice: dict[str, Any], *, paid: bool) -> None:
    now = _graphql(base, INVOICE, {"id": invoice["id"]}, contact)["data"]["salesDocument"]
    if paid:
        assert (now["status"], Decimal(now["balanceDue"]["amount"])) == ("PAID", 0)
    else:
        assert now == {
            "number": invoice["number"],
            "status": invoice["status"],
            "balanceDue": invoice["balanceDue"],
        }


def _invoice_to_pay_by_card(base: str, contact: str) -> dict[str, Any]:
    nodes = _graphql(base, OPEN_INVOICES, {}, contact)["data"]["salesDocuments"]["nodes"]
    payable = [
        node
        for node in nodes
        if "CARD" in node["paymentMethods"] and Decimal(node["balanceDue"]["amount"]) > 0
    ]
    assert payable, nodes
    return payable[0]


def _pay(base: str, contact: str, invoice: dict[str, Any], key: str) -> dict[str, Any]:
    allocation = {"documentId": invoice["id"], "amount": invoice["balanceDue"]["amount"]}
    payment = {"idempotencyKey": key, "allocations": [allocation], "token": "tok_visa",
               "savePaymentMethod": True}  # fmt: skip
    return _graphql(base, PAY, {"input": payment}, contact)


def _graphql(base: str, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
        trust_env=False,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body


def _portico_output(*args: str, env: dict[str, str]) -> str:
    done = launcher.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"portico {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout.strip()


@contextlib.contextmanager
def _logs_shown_on_failure(var_dir: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        for log in sorted(var_dir.glob("*.log")):
            print(f"----- {log.name} -----\n{log.read_text(errors='replace')}")
        raise


def _online_payments(database_url: str) -> list[OnlinePayment]:
    return [OnlinePayment(*row) for row in _rows(database_url, ONLINE_PAYMENTS)]


def _scalar(database_url: str, sql: str) -> Any:
    [[value]] = _rows(database_url, sql)
    return value


def _rows(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    """Read straight from the database, not through Portico, which is what is being checked."""
    if database_url.startswith("sqlite://"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite://"))) as db:
            return [tuple(row) for row in db.execute(sql).fetchall()]
    return asyncio.run(_postgres_rows(database_url, sql))


async def _postgres_rows(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        return [tuple(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()
