"""Limits on guesses and requests hold when the attempts arrive all at once: an attacker who
sends twenty requests in parallel gets no more tries than one who sends them in turn."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
from argon2 import PasswordHasher

from models.outbox import OutboxMessage
from resolvers.preferences import preferences_for
from tests.conftest import PASSWORD, World, gql
from tests.test_mfa import Clock, enroll, portal_login
from tests.test_online_payments import invoice
from tests.test_public_links import PAY, REQUEST_CODE, share, verification

LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code } } }"""
VERIFY_MFA = """mutation($token: String!, $code: String!) {
  verifyMfa(input: {mfaToken: $token, code: $code}) { token errors { code } } }"""
CHANGE_PASSWORD = """mutation($current: String!) {
  changePassword(input: {currentPassword: $current, newPassword: "a much better passphrase"}) {
    errors { code } } }"""
RESET = """mutation { requestPasswordReset(input: {portalName: "alpha",
  email: "ann@acorn.example"}) { errors { code } } }"""
AT_ONCE = 20


@pytest.fixture
def checked_passwords(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every stored hash a password was compared with."""
    checked: list[str] = []
    real_verify = PasswordHasher.verify

    def counting_verify(self: PasswordHasher, stored_hash: str, password: str) -> bool:
        checked.append(stored_hash)
        return real_verify(self, stored_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    return checked


async def at_once(count: int, send) -> Counter[str]:
    """The first error code (or "OK") of `count` requests sent concurrently."""
    bodies = await asyncio.gather(*(send(n) for n in range(count)))
    return Counter((body["errors"] or [{"code": "OK"}])[0]["code"] for body in bodies)


async def test_concurrent_wrong_passwords_are_checked_at_most_five_times(
    client, world: World, checked_passwords: list[str]
) -> None:
    async def guess(n: int) -> dict:
        variables = {"email": "staff@alpha.example", "password": f"wrong guess {n}"}
        return (await gql(client, LOGIN, variables))["data"]["login"]

    answers = await at_once(AT_ONCE, guess)
    assert answers == {"INVALID_CREDENTIALS": 5, "RATE_LIMITED": AT_ONCE - 5}
    assert len(checked_passwords) == 5
    # Locked: even the right password is not checked now.
    right = await gql(client, LOGIN, {"email": "staff@alpha.example", "password": PASSWORD})
    assert right["data"]["login"]["errors"] == [{"code": "RATE_LIMITED"}]
    assert len(checked_passwords) == 5


async def test_a_right_password_clears_the_failures_before_it(
    client, world: World, checked_passwords: list[str]
) -> None:
    async def attempt(password: str) -> dict:
        variables = {"email": "staff@alpha.example", "password": password}
        return (await gql(client, LOGIN, variables))["data"]["login"]

    for n in range(4):
        assert (await attempt(f"wrong guess {n}"))["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert (await attempt(PASSWORD))["token"]
    answers = await at_once(AT_ONCE, lambda n: attempt(f"another guess {n}"))
    assert answers == {"INVALID_CREDENTIALS": 5, "RATE_LIMITED": AT_ONCE - 5}
    assert len(checked_passwords) == 4 + 1 + 5


async def test_concurrent_wrong_codes_are_checked_at_most_five_times(
    client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auth import mfa

    clock = Clock()
    monkeypatch.setattr(mfa, "clock", clock)
    await enroll(client, world.tokens["contact_a"], clock)
    clock.advance()
    challenge = (await portal_login(client))["mfaToken"]

    async def guess(n: int) -> dict:
        variables = {"token": challenge, "code": f"{n:06}"}
        return (await gql(client, VERIFY_MFA, variables))["data"]["verifyMfa"]

    answers = await at_once(AT_ONCE, guess)
    assert answers == {"INVALID_CODE": 5, "RATE_LIMITED": AT_ONCE - 5}


async def test_concurrent_wrong_current_passwords_are_checked_at_most_five_times(
    client, world: World, checked_passwords: list[str]
) -> None:
    async def guess(n: int) -> dict:
        body = await gql(client, CHANGE_PASSWORD, {"current": f"wrong guess {n}"},
                         token=world.tokens["staff"])  # fmt: skip
        return body["data"]["changePassword"]

    answers = await at_once(AT_ONCE, guess)
    assert answers == {"INVALID_CREDENTIALS": 5, "RATE_LIMITED": AT_ONCE - 5}
    assert len(checked_passwords) == 5


async def test_concurrent_reset_requests_send_three_emails(client, world: World) -> None:
    async def request(n: int) -> dict:
        return (await gql(client, RESET))["data"]["requestPasswordReset"]

    answers = await at_once(AT_ONCE, request)
    assert answers == {"OK": 3, "RATE_LIMITED": AT_ONCE - 3}
    assert await OutboxMessage.filter(template="password_reset").count() == 3


async def test_concurrent_code_requests_send_three_codes(client, world: World) -> None:
    await verification(world)
    token = await share(client, world, await invoice(client, world))

    async def request(n: int) -> dict:
        body = await gql(client, REQUEST_CODE, {"token": token})
        return body["data"]["requestPublicLinkCode"]

    answers = await at_once(AT_ONCE, request)
    assert answers == {"OK": 3, "RATE_LIMITED": AT_ONCE - 3}
    assert await OutboxMessage.filter(template="public_link_code").count() == 3


async def test_concurrent_declined_cards_are_limited_per_address(client, world: World) -> None:
    """Ten declines an hour from one address, over however many links."""
    tokens = [await share(client, world, await invoice(client, world)) for _ in range(12)]
    await preferences_for(world.org_a.id)  # created before, not by twelve payments at once

    async def pay(n: int) -> dict:
        variables = {"token": tokens[n], "key": uuid.uuid4().hex, "amount": "100",
                     "card": "tok_declined"}  # fmt: skip
        return (await gql(client, PAY, variables))["data"]["payPublicDocument"]

    answers = await at_once(len(tokens), pay)
    assert answers == {"PAYMENT_DECLINED": 10, "RATE_LIMITED": 2}
