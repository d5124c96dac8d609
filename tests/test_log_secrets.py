"""No secret reaches the log, at any level, from any logger: a whole flow through the API runs
with everything logged at DEBUG, and the log is searched for every secret the flow used."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from auth import mfa
from integrations.mailer import ConsoleMailer
from integrations.outbox import deliver_once
from models.customers import ContactPerson
from server import logs
from server.settings import Settings
from tests.conftest import PASSWORD, World, app_client, collected_logs, gid, gql
from tests.test_customer_api_keys import CREATE_KEY
from tests.test_mfa import LOGIN, PORTAL_LOGIN, START, VERIFY, Clock, code_at
from tests.test_online_payments import invoice, pay
from tests.test_portal_access import ACCEPT, ENABLE
from tests.test_public_links import OPEN, share

CONFIRM = """mutation($code: String!) { confirmMfaEnrollment(input: {code: $code}) {
  recoveryCodes errors { code } } }"""
NEW_PASSWORD = "a sturdy phrase for 2026"


@pytest.fixture
def everything() -> Iterator[list[logging.LogRecord]]:
    with collected_logs(logging.DEBUG) as records:
        yield records


@pytest.fixture
def totp(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(mfa, "clock", fake)
    return fake


def written(record: logging.LogRecord) -> str:
    """The record as each of Portico's formats writes it, and its bare message."""
    return "\n".join(
        (
            logs.JsonFormatter().format(record),
            logs.TextFormatter().format(record),
            record.getMessage(),
            repr(record.args),
        )
    )


def telltale(secret: str) -> re.Pattern[str]:
    """Finds the secret, or any piece of it a dozen characters long (a token cut short is a
    leak too); a short one (a TOTP code) as a whole word."""
    if len(secret) < 12:
        return re.compile(rf"\b{re.escape(secret)}\b")
    pieces = {secret[start : start + 12] for start in range(0, len(secret) - 11, 6)}
    return re.compile("|".join(re.escape(piece) for piece in sorted(pieces)))


@pytest.mark.slow
async def test_a_whole_flow_logs_no_secret(
    db: Settings, world: World, everything: list[logging.LogRecord], totp: Clock
) -> None:
    secrets: set[str] = {PASSWORD, NEW_PASSWORD, db.secret_key, "tok_visa"}
    secrets |= set(world.tokens.values())
    async with app_client(db, log_level="DEBUG") as client:
        assert logging.getLogger().getEffectiveLevel() == logging.DEBUG
        # Staff log in with a password.
        login = await gql(client, LOGIN, {"email": "admin@alpha.example", "password": PASSWORD})
        staff = login["data"]["login"]["token"]
        secrets.add(staff)
        client.cookies.clear()  # each step below says who it is with its token

        # A contact is invited; the console mailer shows the link, at DEBUG.
        contact = await ContactPerson.create(
            organization=world.org_a, customer=world.customer_a, first_name="Dana",
            email="dana@acorn.example",
        )  # fmt: skip
        await gql(client, ENABLE, {"ids": [gid("ContactPerson", contact)]}, token=staff)
        await deliver_once(ConsoleMailer(), "test")
        bodies = [r.getMessage() for r in everything if r.name == "portico.mail"]
        link = re.search(r"#token=([\w-]+)", "\n".join(bodies)).group(1)
        secrets.add(link)

        # The contact accepts with it, sets a password, enrolls in MFA and logs in with a code.
        accepted = await gql(client, ACCEPT, {"token": link, "password": NEW_PASSWORD})
        session = accepted["data"]["acceptInvitation"]["token"]
        secrets.add(session)
        client.cookies.clear()
        started = (await gql(client, START, token=session))["data"]["startMfaEnrollment"]
        totp_secret = started["secret"]
        code = code_at(totp_secret, totp.now)
        confirmed = await gql(client, CONFIRM, {"code": code}, token=session)
        recovery = confirmed["data"]["confirmMfaEnrollment"]["recoveryCodes"]
        secrets |= {totp_secret, started["otpauthUri"], code, *recovery}
        first = await gql(
            client, PORTAL_LOGIN, {"email": "dana@acorn.example", "password": NEW_PASSWORD}
        )
        mfa_token = first["data"]["portalLogin"]["mfaToken"]
        totp.advance()
        code = code_at(totp_secret, totp.now)
        verified = (await gql(client, VERIFY, {"token": mfa_token, "code": code}))["data"]
        dana = verified["verifyMfa"]["token"]
        secrets |= {mfa_token, code, dana}
        assert dana
        client.cookies.clear()

        # The contact pays an invoice with a test card.
        world.tokens["dana"] = dana
        document = await invoice(client, world)
        paid = await pay(client, world, (document, "100"), token="tok_visa", contact="dana")
        assert paid["payment"]["status"] == "SUCCEEDED", paid

        # Staff share it by a public link, which someone opens.
        public = await share(client, world, document)
        secrets.add(public)
        assert (await gql(client, OPEN, {"token": public}))["data"]["publicDocument"]
        assert (await client.get(f"/public/{public}/pdf")).status_code == 200

        # A partner's key is made and used.
        variables = {"input": {"name": "Sync", "scopes": ["CUSTOMERS_READ"]}}
        key = (await gql(client, CREATE_KEY, variables, token=world.tokens["admin"]))["data"]
        partner = key["createApiKey"]["secret"]
        secrets.add(partner)
        listed = await gql(client, "{ customers(first: 5) { totalCount } }", token=partner)
        assert listed["data"]["customers"]["totalCount"] == 2

    levels = {r.levelno for r in everything}
    assert logging.DEBUG in levels and logging.INFO in levels
    loggers = {r.name for r in everything}
    assert {"portico.request", "portico.mail", "tortoise.db_client"} <= loggers
    patterns = [telltale(secret) for secret in secrets if secret]
    leaks = [
        (record.name, record.levelname, pattern.pattern)
        for record in everything
        # httpx and httpcore are the test's client, which logs the URLs it asks for.
        if not record.name.startswith(("httpx", "httpcore"))
        for pattern in patterns
        if pattern.search(written(record))
        # What the console mailer writes at DEBUG is the message itself, link and all: that
        # is how a developer reads mail without a mail server. Not at INFO, nor elsewhere.
        and not (record.name == "portico.mail" and record.levelno == logging.DEBUG)
    ]
    assert leaks == []
