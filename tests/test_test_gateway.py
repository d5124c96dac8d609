from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

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
from integrations.gateways.test_gateway import TestGateway

SECRET = b"whsec_test"
NOW = 1_800_000_000.0
ROOT = Path(__file__).resolve().parent.parent


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gateway(tmp_path: Path, clock: Clock) -> TestGateway:
    return TestGateway(tmp_path / "ledger.sqlite3", SECRET, clock=clock)


async def charge(gateway: TestGateway, key: str, token: str = "tok_visa", amount: int = 1000):
    return await gateway.charge(
        key=key, token=token, amount_minor=amount, currency="EUR", description="Invoice INV-1"
    )


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# Tokens


@pytest.mark.parametrize(
    ("token", "details"),
    [
        ("tok_visa", MethodDetails(MethodKind.CARD, "tok_visa", "4242", "visa", 12, 2030)),
        (
            "tok_mastercard",
            MethodDetails(MethodKind.CARD, "tok_mastercard", "4444", "mastercard", 6, 2031),
        ),
        ("tok_declined", MethodDetails(MethodKind.CARD, "tok_declined", "0002", "visa", 12, 2030)),
        ("tok_retry", MethodDetails(MethodKind.CARD, "tok_retry", "9995", "visa", 12, 2030)),
        (
            "tok_ach",
            MethodDetails(MethodKind.BANK_ACCOUNT, "tok_ach", "6789", bank_name="Test Bank"),
        ),
        (
            "tok_ach_fails",
            MethodDetails(MethodKind.BANK_ACCOUNT, "tok_ach_fails", "1116", bank_name="Test Bank"),
        ),
    ],
)
async def test_describe(gateway: TestGateway, token: str, details: MethodDetails) -> None:
    assert await gateway.describe(token) == details


@pytest.mark.parametrize("token", ["tok_amex", "tok_", "4242424242424242", "", "TOK_VISA"])
async def test_unknown_tokens_are_invalid(gateway: TestGateway, token: str) -> None:
    with pytest.raises(InvalidToken):
        await gateway.describe(token)
    with pytest.raises(InvalidToken):
        await charge(gateway, "k1", token)
    assert await gateway.ledger() == []


@pytest.mark.parametrize(
    ("token", "status", "reason"),
    [
        ("tok_visa", ChargeStatus.SUCCEEDED, ""),
        ("tok_mastercard", ChargeStatus.SUCCEEDED, ""),
        ("tok_declined", ChargeStatus.DECLINED, "Your card was declined."),
        ("tok_ach", ChargeStatus.PENDING, ""),
        ("tok_ach_fails", ChargeStatus.PENDING, ""),
    ],
)
async def test_charge_outcome_by_token(
    gateway: TestGateway, token: str, status: ChargeStatus, reason: str
) -> None:
    result = await charge(gateway, "k1", token, 2500)
    assert (result.key, result.status, result.failure_reason) == ("k1", status, reason)
    assert (result.amount_minor, result.currency) == (2500, "EUR")
    assert re.fullmatch(r"ch_[0-9a-f]{24}", result.reference)
    assert await gateway.ledger() == [result]
    assert await gateway.lookup("k1") == result


async def test_retry_token_fails_only_its_first_charge(gateway: TestGateway) -> None:
    first = await charge(gateway, "k1", "tok_retry")
    assert first.status == ChargeStatus.TRY_AGAIN
    assert first.failure_reason == "The bank did not answer; try again."
    # The decline is stored under its key: a replay repeats it and is not a new attempt.
    assert await charge(gateway, "k1", "tok_retry") == first
    second = await charge(gateway, "k2", "tok_retry")
    third = await charge(gateway, "k3", "tok_retry")
    assert (second.status, third.status) == (ChargeStatus.SUCCEEDED, ChargeStatus.SUCCEEDED)
    assert len(await gateway.ledger()) == 3


async def test_declines_are_stored_under_their_key(gateway: TestGateway) -> None:
    first = await charge(gateway, "k1", "tok_declined")
    assert await charge(gateway, "k1", "tok_declined") == first
    assert await gateway.ledger() == [first]


async def test_retry_counter_is_per_ledger(tmp_path: Path) -> None:
    one = TestGateway(tmp_path / "one.sqlite3", SECRET)
    two = TestGateway(tmp_path / "two.sqlite3", SECRET)
    assert (await charge(one, "k1", "tok_retry")).status == ChargeStatus.TRY_AGAIN
    assert (await charge(two, "k1", "tok_retry")).status == ChargeStatus.TRY_AGAIN


# Idempotency


async def test_repeated_key_returns_the_first_charge(gateway: TestGateway) -> None:
    first = await charge(gateway, "k1")
    again = await charge(gateway, "k1")
    assert again == first
    assert await gateway.ledger() == [first]


@pytest.mark.parametrize(
    "changes",
    [{"amount_minor": 999}, {"currency": "USD"}, {"token": "tok_mastercard"}],
)
async def test_key_reused_with_different_parameters(
    gateway: TestGateway, changes: dict[str, object]
) -> None:
    first = await charge(gateway, "k1")
    params = {"token": "tok_visa", "amount_minor": 1000, "currency": "EUR"} | changes
    with pytest.raises(GatewayError, match="key reused with different parameters"):
        await gateway.charge(key="k1", description="other", **params)  # type: ignore[arg-type]
    assert await gateway.ledger() == [first]


async def test_description_may_differ_on_replay(gateway: TestGateway) -> None:
    first = await charge(gateway, "k1")
    again = await gateway.charge(
        key="k1", token="tok_visa", amount_minor=1000, currency="EUR", description="retried"
    )
    assert again == first


@pytest.mark.parametrize(
    ("amount", "currency", "key"),
    [(0, "EUR", "k1"), (-5, "EUR", "k1"), (5, "E", "k1"), (5, "EUR", "")],
)
async def test_invalid_charges_are_refused(
    gateway: TestGateway, amount: int, currency: str, key: str
) -> None:
    with pytest.raises(GatewayError):
        await gateway.charge(
            key=key, token="tok_visa", amount_minor=amount, currency=currency, description=""
        )
    assert await gateway.ledger() == []


async def test_lookup_of_an_unknown_key(gateway: TestGateway) -> None:
    assert await gateway.lookup("nothing") is None


async def test_cancelled_key_is_never_charged(gateway: TestGateway) -> None:
    cancelled = Charge("k1", ChargeStatus.CANCELLED, 0, "")
    assert await gateway.lookup_or_cancel("k1") == cancelled
    assert await charge(gateway, "k1") == cancelled
    assert await gateway.lookup_or_cancel("k1") == cancelled
    assert await gateway.lookup("k1") == cancelled
    assert await gateway.ledger() == []
    assert await gateway.pending_keys() == []


async def test_lookup_or_cancel_after_a_charge_returns_it(gateway: TestGateway) -> None:
    made = await charge(gateway, "k1")
    assert await gateway.lookup_or_cancel("k1") == made
    assert await charge(gateway, "k1") == made
    assert await gateway.ledger() == [made]


async def test_concurrent_charges_with_one_key_charge_once(gateway: TestGateway) -> None:
    results = await asyncio.gather(*(charge(gateway, "k1") for _ in range(20)))
    assert len(set(results)) == 1
    assert await gateway.ledger() == [results[0]]


async def test_concurrent_charges_with_many_keys(gateway: TestGateway) -> None:
    results = await asyncio.gather(*(charge(gateway, f"k{i}") for i in range(20)))
    assert len({result.reference for result in results}) == 20
    assert {result.status for result in results} == {ChargeStatus.SUCCEEDED}
    assert sorted(await gateway.ledger(), key=lambda c: c.key) == sorted(
        results, key=lambda c: c.key
    )


async def test_concurrent_retry_token_charges_fail_once(gateway: TestGateway) -> None:
    results = await asyncio.gather(*(charge(gateway, f"k{i}", "tok_retry") for i in range(20)))
    statuses = [result.status for result in results]
    assert statuses.count(ChargeStatus.TRY_AGAIN) == 1
    assert statuses.count(ChargeStatus.SUCCEEDED) == 19


async def test_concurrent_charge_and_cancel_agree(gateway: TestGateway) -> None:
    for i in range(10):
        key = f"k{i}"
        made, looked = await asyncio.gather(charge(gateway, key), gateway.lookup_or_cancel(key))
        assert made == looked
        assert made.status in (ChargeStatus.SUCCEEDED, ChargeStatus.CANCELLED)
    ledger = await gateway.ledger()
    assert all(entry.status == ChargeStatus.SUCCEEDED for entry in ledger)


async def test_ledger_survives_a_new_instance(gateway: TestGateway, tmp_path: Path) -> None:
    made = await charge(gateway, "k1")
    await gateway.lookup_or_cancel("k2")
    reopened = TestGateway(tmp_path / "ledger.sqlite3", SECRET)
    assert await reopened.ledger() == [made]
    assert (await charge(reopened, "k2")).status == ChargeStatus.CANCELLED


def test_charges_from_several_processes_with_one_key(tmp_path: Path) -> None:
    script = """
import asyncio, sys
from pathlib import Path
from integrations.gateways.test_gateway import TestGateway

async def main():
    gateway = TestGateway(Path(sys.argv[1]), b"secret")
    shared = await gateway.charge(
        key="shared", token="tok_visa", amount_minor=1234, currency="EUR", description=""
    )
    own = [
        await gateway.charge(
            key=f"{sys.argv[2]}-{i}", token="tok_retry", amount_minor=1, currency="EUR",
            description="",
        )
        for i in range(5)
    ]
    print(shared.reference, *(charge.status for charge in own))

asyncio.run(main())
"""
    ledger_path = tmp_path / "ledger.sqlite3"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(ledger_path), f"p{n}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, outputs
    words = [stdout.split() for stdout, _ in outputs]
    assert len({line[0] for line in words}) == 1
    statuses = [status for line in words for status in line[1:]]
    assert statuses.count("TRY_AGAIN") == 1
    assert statuses.count("SUCCEEDED") == 19

    ledger = asyncio.run(TestGateway(ledger_path, b"secret").ledger())
    shared = [entry for entry in ledger if entry.key == "shared"]
    assert [entry.reference for entry in shared] == [words[0][0]]
    assert len(ledger) == 21


# Bank debits


async def test_bank_debit_settles_as_its_token_dictates(gateway: TestGateway) -> None:
    await charge(gateway, "good", "tok_ach")
    await charge(gateway, "bad", "tok_ach_fails")
    await charge(gateway, "card", "tok_visa")
    assert await gateway.pending_keys() == ["good", "bad"]

    settled = await gateway.settle("good")
    assert (settled.status, settled.failure_reason) == (ChargeStatus.SUCCEEDED, "")
    failed = await gateway.settle("bad")
    assert failed.status == ChargeStatus.DECLINED
    assert failed.failure_reason == "The account has insufficient funds."
    assert await gateway.pending_keys() == []

    # Settling again, or settling a charge that never was pending, changes nothing.
    assert await gateway.settle("good", "DECLINED") == settled
    assert await gateway.settle("bad") == failed
    card = await gateway.lookup("card")
    assert await gateway.settle("card") == card
    assert await gateway.lookup("good") == settled
    assert [entry.status for entry in await gateway.ledger()] == [
        ChargeStatus.SUCCEEDED,
        ChargeStatus.DECLINED,
        ChargeStatus.SUCCEEDED,
    ]


async def test_settle_outcome_may_be_forced(gateway: TestGateway) -> None:
    await charge(gateway, "good", "tok_ach")
    await charge(gateway, "bad", "tok_ach_fails")
    declined = await gateway.settle("good", "DECLINED")
    assert declined.status == ChargeStatus.DECLINED
    assert declined.failure_reason == "The account has insufficient funds."
    assert (await gateway.settle("bad", ChargeStatus.SUCCEEDED)).status == ChargeStatus.SUCCEEDED


async def test_settle_refuses_unknown_outcomes_and_keys(gateway: TestGateway) -> None:
    await charge(gateway, "k1", "tok_ach")
    with pytest.raises(ValueError, match="SUCCEEDED or DECLINED"):
        await gateway.settle("k1", "PENDING")
    with pytest.raises(LookupError):
        await gateway.settle("nothing")
    await gateway.lookup_or_cancel("gone")
    assert (await gateway.settle("gone")).status == ChargeStatus.CANCELLED
    assert await gateway.pending_keys() == ["k1"]


async def test_concurrent_settles_settle_once(gateway: TestGateway) -> None:
    await charge(gateway, "k1", "tok_ach")
    results = await asyncio.gather(
        *(gateway.settle("k1", "SUCCEEDED" if i % 2 else "DECLINED") for i in range(10))
    )
    assert len(set(results)) == 1


# Refunds


async def refund(gateway: TestGateway, reference: str, amount: int, key: str) -> Refund:
    return await gateway.refund(key=key, charge_reference=reference, amount_minor=amount)


async def test_refunds_are_capped_and_idempotent(gateway: TestGateway) -> None:
    made = await charge(gateway, "k1", amount=1000)
    first = await refund(gateway, made.reference, 600, "r1")
    assert re.fullmatch(r"re_[0-9a-f]{24}", first.reference)
    assert first == Refund("r1", RefundStatus.SUCCEEDED, 600, made.reference, first.reference)
    assert await refund(gateway, made.reference, 600, "r1") == first
    too_much = await refund(gateway, made.reference, 401, "r2")
    assert too_much == Refund(
        "r2", RefundStatus.FAILED, 0, made.reference,
        failure_reason="The refunds would exceed the charge.",
    )  # fmt: skip
    rest = await refund(gateway, made.reference, 400, "r3")
    assert (rest.status, rest.amount_minor) == (RefundStatus.SUCCEEDED, 400)
    assert rest.reference != first.reference
    assert (await refund(gateway, made.reference, 1, "r4")).status == RefundStatus.FAILED
    # Still replayable once the charge is fully refunded.
    assert await refund(gateway, made.reference, 400, "r3") == rest
    assert await gateway.refund_ledger() == [first, rest]


async def test_a_refused_key_stays_refused(gateway: TestGateway) -> None:
    made = await charge(gateway, "k1", amount=1000)
    await refund(gateway, made.reference, 1001, "r1")
    # Asked again for what the charge could give, the key still answers as it first did.
    again = await refund(gateway, made.reference, 100, "r1")
    assert (again.status, again.amount_minor) == (RefundStatus.FAILED, 0)
    assert (await gateway.lookup_or_cancel_refund("r1")).status == RefundStatus.FAILED
    assert await gateway.refund_ledger() == []


async def test_refund_key_reused_with_different_amount(gateway: TestGateway) -> None:
    made = await charge(gateway, "k1", amount=1000)
    await refund(gateway, made.reference, 100, "r1")
    with pytest.raises(GatewayError, match="key reused"):
        await refund(gateway, made.reference, 200, "r1")


@pytest.mark.parametrize("token", ["tok_declined", "tok_ach", "tok_retry"])
async def test_only_succeeded_charges_are_refunded(gateway: TestGateway, token: str) -> None:
    made = await charge(gateway, "k1", token)
    refused = await refund(gateway, made.reference, 100, "r1")
    assert refused.status == RefundStatus.FAILED
    assert refused.failure_reason.endswith("charge cannot be refunded.")


async def test_invalid_refunds_are_refused(gateway: TestGateway) -> None:
    made = await charge(gateway, "k1")
    unknown = await refund(gateway, "ch_nothing", 100, "r1")
    assert (unknown.status, unknown.failure_reason) == (RefundStatus.FAILED, "No such charge.")
    with pytest.raises(GatewayError):
        await refund(gateway, made.reference, 0, "r2")
    with pytest.raises(GatewayError):
        await refund(gateway, made.reference, 100, "")
    assert (await refund(gateway, made.reference, 1000, "r2")).amount_minor == 1000


async def test_lookup_or_cancel_refund(gateway: TestGateway) -> None:
    made = await charge(gateway, "k1", amount=1000)
    given = await refund(gateway, made.reference, 300, "r1")
    assert await gateway.lookup_or_cancel_refund("r1") == given
    # A key never used is cancelled: a call still under way can no longer refund with it.
    cancelled = Refund("r2", RefundStatus.CANCELLED, 0)
    assert await gateway.lookup_or_cancel_refund("r2") == cancelled
    assert await refund(gateway, made.reference, 300, "r2") == cancelled
    assert await gateway.lookup_or_cancel_refund("r2") == cancelled
    assert await gateway.refund_ledger() == [given]


async def test_concurrent_refunds_never_exceed_the_charge(gateway: TestGateway) -> None:
    made = await charge(gateway, "k1", amount=1000)
    results = await asyncio.gather(
        *(refund(gateway, made.reference, 300, f"r{i}") for i in range(10))
    )
    statuses = [result.status for result in results]
    assert statuses.count(RefundStatus.SUCCEEDED) == 3
    assert statuses.count(RefundStatus.FAILED) == 7


# Webhooks


async def test_signed_webhook_parses(gateway: TestGateway) -> None:
    headers, body = gateway.signed_webhook("charge.updated", "k1", event_id="evt_1")
    assert json.loads(body) == {
        "id": "evt_1",
        "type": "charge.updated",
        "data": {"key": "k1"},
        "created": int(NOW),
    }
    assert gateway.parse_webhook(headers, body) == WebhookEvent("evt_1", "charge.updated", "k1")


async def test_webhook_header_lookup_ignores_case(gateway: TestGateway) -> None:
    headers, body = gateway.signed_webhook("charge.updated", "k1")
    lowered = {name.lower(): value for name, value in headers.items()}
    event = gateway.parse_webhook(lowered, body)
    assert re.fullmatch(r"evt_[0-9a-f]{24}", event.id)


@pytest.mark.parametrize("age", [300, -300, 0])
async def test_webhook_within_tolerance(gateway: TestGateway, age: int) -> None:
    headers, body = gateway.signed_webhook("charge.updated", "k1", timestamp=int(NOW) - age)
    assert gateway.parse_webhook(headers, body).charge_key == "k1"


@pytest.mark.parametrize("age", [301, -301])
async def test_webhook_outside_tolerance(gateway: TestGateway, age: int) -> None:
    headers, body = gateway.signed_webhook("charge.updated", "k1", timestamp=int(NOW) - age)
    with pytest.raises(BadWebhook, match="timestamp"):
        gateway.parse_webhook(headers, body)


async def test_webhook_tolerance_follows_the_clock(gateway: TestGateway, clock: Clock) -> None:
    headers, body = gateway.signed_webhook("charge.updated", "k1")
    clock.now += 301
    with pytest.raises(BadWebhook, match="timestamp"):
        gateway.parse_webhook(headers, body)


async def test_tampered_webhook_body(gateway: TestGateway) -> None:
    headers, body = gateway.signed_webhook("charge.updated", "k1")
    with pytest.raises(BadWebhook, match="signature"):
        gateway.parse_webhook(headers, body.replace(b"k1", b"k2"))


async def test_webhook_signed_with_another_secret(gateway: TestGateway, tmp_path: Path) -> None:
    other = TestGateway(tmp_path / "other.sqlite3", b"another secret", clock=lambda: NOW)
    headers, body = other.signed_webhook("charge.updated", "k1")
    with pytest.raises(BadWebhook, match="signature"):
        gateway.parse_webhook(headers, body)


async def test_webhook_without_signature_header(gateway: TestGateway) -> None:
    headers, body = gateway.signed_webhook("charge.updated", "k1")
    with pytest.raises(BadWebhook, match="header"):
        gateway.parse_webhook({"Content-Type": "application/json"}, body)
    del headers["Portico-Signature"]
    with pytest.raises(BadWebhook):
        gateway.parse_webhook(headers, body)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "t=,v1=abc",
        "t=abc,v1=abc",
        "t=-1800000000,v1=abc",
        "v1=abc",
        "t=1800000000",
        "t=1800000000,v0=abc",
        "t=1800000000,t=1800000000,v1=abc",
        "t=1800000000,v1=",
        "t=\uff11\uff18\uff10\uff10000000,v1=abc",
        "t=" + "9" * 5000 + ",v1=abc",
    ],
)
async def test_malformed_signature_header(gateway: TestGateway, header: str) -> None:
    _, body = gateway.signed_webhook("charge.updated", "k1")
    with pytest.raises(BadWebhook):
        gateway.parse_webhook({"Portico-Signature": header}, body)


async def test_any_v1_signature_may_match(gateway: TestGateway) -> None:
    _, body = gateway.signed_webhook("charge.updated", "k1")
    ts = int(NOW)
    good = sign(SECRET, ts, body).split(",")[1]
    header = f"t={ts},v1={'0' * 64},{good},v0=ignored"
    assert gateway.parse_webhook({"Portico-Signature": header}, body).charge_key == "k1"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"evt"',
        b"{}",
        b'{"id": "evt_1", "type": "charge.updated"}',
        b'{"id": "evt_1", "type": "charge.updated", "data": {}}',
        b'{"id": "evt_1", "type": "charge.updated", "data": "k1"}',
        b'{"id": 1, "type": "charge.updated", "data": {"key": "k1"}}',
        b'{"id": "evt_1", "type": null, "data": {"key": "k1"}}',
        b'{"id": "evt_1", "type": "charge.updated", "data": {"key": 7}}',
        b'{"id": "", "type": "charge.updated", "data": {"key": "k1"}}',
    ],
)
async def test_signed_webhook_with_a_bad_body(gateway: TestGateway, body: bytes) -> None:
    headers = {"Portico-Signature": sign(SECRET, int(NOW), body)}
    with pytest.raises(BadWebhook):
        gateway.parse_webhook(headers, body)
