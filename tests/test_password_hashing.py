"""argon2 takes a tenth of a second or more per password by design: it runs in a small pool of
threads of its own, never on the event loop, where it would hold up every other request."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

import pytest
from argon2 import PasswordHasher

from auth import passwords
from models.staff import StaffUser
from server.settings import Settings
from tests.conftest import PASSWORD, World, gql

LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code } } }"""
CHANGE_PASSWORD = """mutation($current: String!) {
  changePassword(input: {currentPassword: $current, newPassword: "a much better passphrase"}) {
    errors { code } } }"""
CREATE_STAFF = """mutation { createStaffUser(input: {email: "new@alpha.example", name: "New One",
  password: "a fine first passphrase"}) { errors { code } } }"""
# Made with other parameters than the server's, so that logging in replaces it.
OLD_HASH = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(PASSWORD)


@dataclass
class Argon2Calls:
    """Which thread each hash and verification ran in, and how many ran at once."""

    threads: dict[str, list[int]] = field(default_factory=lambda: {"hash": [], "verify": []})
    running: int = 0
    most_at_once: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    pause: float = 0.0

    def enter(self, kind: str) -> None:
        with self.lock:
            self.threads[kind].append(threading.get_ident())
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.pause)  # long enough for other requests to reach the pool meanwhile

    def leave(self) -> None:
        with self.lock:
            self.running -= 1


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> Argon2Calls:
    calls = Argon2Calls()
    real_hash, real_verify = PasswordHasher.hash, PasswordHasher.verify

    def watched_hash(self: PasswordHasher, password: str | bytes, **options) -> str:
        calls.enter("hash")
        try:
            return real_hash(self, password, **options)
        finally:
            calls.leave()

    def watched_verify(self: PasswordHasher, stored: str | bytes, password: str | bytes) -> bool:
        calls.enter("verify")
        try:
            return real_verify(self, stored, password)
        finally:
            calls.leave()

    monkeypatch.setattr(PasswordHasher, "hash", watched_hash)
    monkeypatch.setattr(PasswordHasher, "verify", watched_verify)
    return calls


async def login(client, email: str, password: str = PASSWORD) -> dict:
    return (await gql(client, LOGIN, {"email": email, "password": password}))["data"]["login"]


async def test_no_password_is_hashed_or_checked_on_the_event_loop(
    client, world: World, argon2_calls: Argon2Calls
) -> None:
    event_loop = threading.get_ident()
    assert (await login(client, "staff@alpha.example"))["token"]
    # An unknown account costs a verification against a dummy hash, made on first use.
    assert (await login(client, "nobody@alpha.example"))["errors"] == [
        {"code": "INVALID_CREDENTIALS"}
    ]
    await StaffUser.filter(id=world.admin.id).update(password_hash=OLD_HASH)
    assert (await login(client, "admin@alpha.example"))["token"]
    body = await gql(client, CHANGE_PASSWORD, {"current": PASSWORD}, token=world.tokens["staff"])
    assert body["data"]["changePassword"]["errors"] == []
    body = await gql(client, CREATE_STAFF, token=world.tokens["admin"])
    assert body["data"]["createStaffUser"]["errors"] == []

    hashed, verified = argon2_calls.threads["hash"], argon2_calls.threads["verify"]
    assert len(hashed) == 1 + 1 + 1 + 1  # dummy, rehash, new password, new staff user
    assert len(verified) == 4
    assert event_loop not in hashed + verified


async def test_the_pool_checks_as_many_passwords_at_once_as_it_has_threads(
    client, world: World, db: Settings, argon2_calls: Argon2Calls
) -> None:
    passwords.configure(db.argon2_time_cost, db.argon2_memory_kib, workers=2)
    argon2_calls.pause = 0.05
    emails = ["staff@alpha.example", "admin@alpha.example", "admin@beta.example"]
    results = await asyncio.gather(*(login(client, email) for email in emails * 2))
    assert all(result["token"] for result in results)
    assert argon2_calls.most_at_once == 2
    assert len(set(argon2_calls.threads["verify"])) == 2
