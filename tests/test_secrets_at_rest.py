"""A copy of the database grants nothing: no link or code Portico emails can be read back from
it. Every flow that emails a secret runs through the API; then every column of every row of
every table is searched for anything that looks like a token or a code, and each is tried
where such a secret is accepted (the emailed links and codes, and sessions, API keys and
public links too), while the emails wait in the outbox and after they went out.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from tortoise import connections

from auth import sealing
from integrations.mailer import mailer_from_url
from integrations.outbox import deliver_once
from models.customers import ContactPerson
from models.outbox import OutboxMessage, OutboxStatus
from models.sharing import VerificationCode
from tests.conftest import World, email_body, gid, gql
from tests.smtp import SmtpServer
from tests.test_online_payments import invoice
from tests.test_public_links import REQUEST_CODE, SHARE, VERIFY

NEW_PASSWORD = "violet harbour copper lantern"
PREFERENCES = """mutation { updatePortalPreferences(input: {allowSignUp: true,
  verifyIdentityForPublicLinks: true}) { errors { code } } }"""
INVITE = """mutation($ids: [ID!]!) { enablePortalAccess(input: {contactIds: $ids}) {
  errors { code } } }"""
RESET = """mutation { requestPasswordReset(input: {portalName: "alpha",
  email: "ann@acorn.example"}) { errors { code } } }"""
SIGN_UP = """mutation { signUp(input: {portalName: "alpha", email: "sam@newco.example",
  firstName: "Sam", companyName: "Newco"}) { errors { code } } }"""
# Each mutation that takes an emailed link's token, with the prefix its tokens carry.
LINK_MUTATIONS = {
    "acceptInvitation": "inv_",
    "completeSignUp": "ver_",
    "resetPassword": "rst_",
}
SESSION_PREFIXES = ("pts_", "ptk_")  # sessions and API keys, both sent as Bearer tokens
PUBLIC_LINK_PREFIX = "pl_"
TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{20,}")
# A token inside a longer run of word characters is found by its prefix and length.
PREFIXED_TOKEN = re.compile(r"(?:inv|ver|rst|pts|ptk|pl)_[A-Za-z0-9_-]{43}")
DIGITS = re.compile(r"\d{6,}")


@pytest.mark.slow
async def test_no_emailed_link_or_code_can_be_recovered_from_the_database(
    client: httpx.AsyncClient, world: World, smtp: SmtpServer
) -> None:
    link = await email_every_secret(client, world)
    assert await OutboxMessage.filter(status=OutboxStatus.PENDING).count() == 4

    await assert_nothing_usable_is_stored(client, link, await every_stored_value())

    received = await deliver(smtp, 4)
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 4
    secrets = emailed_secrets(received)
    assert set(secrets) == {"acceptInvitation", "completeSignUp", "resetPassword", "code"}
    # Once sent, not even the server key gets them back.
    dump = await every_stored_value() + await bodies_opened_with_the_server_key()
    assert [name for name, secret in secrets.items() if any(secret in v for v in dump)] == []
    await assert_nothing_usable_is_stored(client, link, dump)

    # What the recipients got still works, and so do the sessions, keys and link stored
    # hashed: the search above ran while it could have found them.
    for mutation, token in secrets.items():
        if mutation != "code":
            assert await link_accepts(client, mutation, token), mutation
    assert await code_accepts(client, link, secrets["code"])
    assert await public_link_opens(client, link)
    for name in ("admin", "contact_b", "partner"):  # contact_a's ended with the reset
        assert await bearer_accepted(client, world.tokens[name]), name


async def email_every_secret(client: httpx.AsyncClient, world: World) -> str:
    """An invitation, a password reset, a sign-up confirmation and a public link's code; returns
    the public link's token (staff get it from the API, it is never emailed)."""
    body = await gql(client, PREFERENCES, token=world.tokens["admin"])
    assert body["data"]["updatePortalPreferences"]["errors"] == []
    dana = await ContactPerson.create(
        organization=world.org_a, customer=world.customer_a, first_name="Dana",
        email="dana@acorn.example",
    )  # fmt: skip
    body = await gql(client, INVITE, {"ids": [gid("ContactPerson", dana)]},
                     token=world.tokens["staff"])  # fmt: skip
    assert body["data"]["enablePortalAccess"]["errors"] == []
    assert (await gql(client, RESET))["data"]["requestPasswordReset"]["errors"] == []
    assert (await gql(client, SIGN_UP))["data"]["signUp"]["errors"] == []
    document = await invoice(client, world)
    shared = await gql(client, SHARE, {"id": document["id"]}, token=world.tokens["staff"])
    url = shared["data"]["shareSalesDocument"]["publicLink"]["url"]
    link = url.partition("#token=")[2]
    body = await gql(client, REQUEST_CODE, {"token": link})
    assert body["data"]["requestPublicLinkCode"]["errors"] == []
    return link


async def assert_nothing_usable_is_stored(
    client: httpx.AsyncClient, link: str, dump: list[str]
) -> None:
    tokens, codes = token_candidates(dump), code_candidates(dump)
    assert tokens and codes  # the search looks at real data
    accepted = [
        (mutation, candidate)
        for mutation, prefix in LINK_MUTATIONS.items()
        for token in tokens
        for candidate in spellings(token, prefix)
        if await link_accepts(client, mutation, candidate)
    ]
    accepted += [
        ("Bearer", candidate)
        for prefix in SESSION_PREFIXES
        for token in tokens
        for candidate in spellings(token, prefix)
        if await bearer_accepted(client, candidate)
    ]
    accepted += [
        ("publicDocument", candidate)
        for token in tokens
        for candidate in spellings(token, PUBLIC_LINK_PREFIX)
        if candidate != link and await public_link_opens(client, candidate)
    ]
    accepted += [("code", code) for code in codes if await code_accepts(client, link, code)]
    assert accepted == []


async def every_stored_value() -> list[str]:
    """Every value of every row of every table, as text."""
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        listing = "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
    else:
        listing = "SELECT name FROM sqlite_master WHERE type = 'table'"
    tables = [row["name"] for row in await connection.execute_query_dict(listing)]
    assert "outbox_message" in tables and "one_time_token" in tables
    values = []
    for table in tables:
        for row in await connection.execute_query_dict(f'SELECT * FROM "{table}"'):  # noqa: S608
            values.extend(_text(value) for value in row.values() if value is not None)
    return values


async def bodies_opened_with_the_server_key() -> list[str]:
    """What someone holding the server key as well could read of the outbox's bodies."""
    opened = []
    for row in await OutboxMessage.all():
        with contextlib.suppress(sealing.Unsealable):
            body = email_body(row)
            opened += [body.text, body.html]
    return opened


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes | memoryview) else str(value)


def token_candidates(values: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for value in values:
        found.update(TOKEN_LIKE.findall(value))
        found.update(PREFIXED_TOKEN.findall(value))
    return found


def spellings(token: str, prefix: str) -> list[str]:
    """As found, and with the prefix a mutation's tokens carry, in case it was kept without."""
    return [token] if token.startswith(prefix) else [token, prefix + token]


def code_candidates(values: Iterable[str]) -> set[str]:
    """Every six digits in a row, wherever they stand."""
    return {
        run[start : start + 6]
        for value in values
        for run in DIGITS.findall(value)
        for start in range(len(run) - 5)
    }


async def link_accepts(client: httpx.AsyncClient, mutation: str, token: str) -> bool:
    query = f"""mutation($token: String!, $password: String!) {{
      {mutation}(input: {{token: $token, password: $password}}) {{ token }} }}"""
    body = await gql(client, query, {"token": token, "password": NEW_PASSWORD})
    return bool(_field(body, mutation).get("token"))


async def bearer_accepted(client: httpx.AsyncClient, token: str) -> bool:
    response = await client.post(
        "/graphql",
        json={"query": "{ viewer { __typename } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code == 200 and bool(_field(response.json(), "viewer"))


async def public_link_opens(client: httpx.AsyncClient, token: str) -> bool:
    body = await gql(client, "query($t: String!) { publicDocument(token: $t) { number } }",
                     {"t": token})  # fmt: skip
    return bool(_field(body, "publicDocument"))


async def code_accepts(client: httpx.AsyncClient, link: str, code: str) -> bool:
    # Five wrong tries void a code. Someone holding a copy of the database has all the time
    # in the world, so every candidate gets a fresh try: a wrong one cannot hide the right one.
    await VerificationCode.filter(used_at=None).update(attempts=0)
    body = await gql(client, VERIFY, {"token": link, "code": code})
    return bool(_field(body, "verifyPublicLinkCode").get("visitToken"))


def _field(body: dict[str, Any], name: str) -> dict[str, Any]:
    return (body.get("data") or {}).get(name) or {}


async def deliver(smtp: SmtpServer, count: int) -> list[EmailMessage]:
    mailer = mailer_from_url(smtp.url)
    while await deliver_once(mailer, "test"):
        pass
    return smtp.wait_for(count)


def emailed_secrets(messages: list[EmailMessage]) -> dict[str, str]:
    """What each recipient can use, read from the email as they see it."""
    found = {}
    for message in messages:
        text = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
        if token := re.search(r"#token=([\w-]+)", text):
            mutation = next(m for m, p in LINK_MUTATIONS.items() if token[1].startswith(p))
            found[mutation] = token[1]
        elif code := re.search(r"^\s+(\d{6})$", text, re.MULTILINE):
            found["code"] = code[1]
    return found
