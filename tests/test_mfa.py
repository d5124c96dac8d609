"""Multi-factor authentication through the API: enrolling, two-step login, replay and rate
limits, recovery codes, the organization's requirement, resets by staff."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from auth import mfa
from auth.sessions import SessionPolicy, start_session
from models.customers import ContactPerson, PortalAccess
from models.mfa import MfaFactor, RecoveryCode
from models.preferences import PortalPreferences
from models.security import FailedAttempt
from models.tokens import OneTimeToken
from resolvers.preferences import preferences_for
from tests.conftest import PASSWORD, World, error_codes, gql

START = """mutation { startMfaEnrollment {
  secret otpauthUri qrCodeSvg errors { code } } }"""
CONFIRM = """mutation($code: String!) { confirmMfaEnrollment(input: {code: $code}) {
  recoveryCodes errors { code field } } }"""
REGENERATE = """mutation($code: String!) { regenerateRecoveryCodes(input: {code: $code}) {
  recoveryCodes errors { code } } }"""
DISABLE = """mutation($code: String!) { disableMfa(input: {code: $code}) { errors { code } } }"""
PORTAL_LOGIN = """mutation($email: String!, $password: String!) {
  portalLogin(input: {portalName: "alpha", email: $email, password: $password}) {
    token mfaRequired mfaToken errors { code }
    viewer { __typename ... on ContactPerson { email } } } }"""
LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    token mfaRequired mfaToken errors { code } viewer { __typename } } }"""
VERIFY = """mutation($token: String!, $code: String!) {
  verifyMfa(input: {mfaToken: $token, code: $code}) {
    token mfaRequired mfaToken errors { code field }
    viewer { __typename ... on ContactPerson { email mfaEnabled }
                        ... on StaffUser { email mfaEnabled } } } }"""
CUSTOMERS = "{ customers { totalCount } }"
VIEWER_MFA = (
    """{ viewer { ... on ContactPerson { mfaEnabled } ... on StaffUser { mfaEnabled } } }"""
)
RECOVERY_CODE = re.compile(r"^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$")
# The start of a 30-second step, well away from today: codes are computed for chosen moments.
T0 = 1_900_000_020.0


class Clock:
    def __init__(self) -> None:
        self.now = T0 + 5

    def __call__(self) -> float:
        return self.now

    def advance(self, steps: int = 1) -> None:
        self.now += steps * mfa.STEP_SECONDS


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(mfa, "clock", fake)
    return fake


def code_at(secret: str, moment: float) -> str:
    return pyotp.TOTP(secret).at(moment)


async def enroll(client, token: str, clock: Clock) -> tuple[str, list[str]]:
    started = (await gql(client, START, token=token))["data"]["startMfaEnrollment"]
    assert started["errors"] == []
    secret = started["secret"]
    body = await gql(client, CONFIRM, {"code": code_at(secret, clock.now)}, token=token)
    confirmed = body["data"]["confirmMfaEnrollment"]
    assert confirmed["errors"] == [], confirmed
    return secret, confirmed["recoveryCodes"]


async def portal_login(client, email: str = "ann@acorn.example", password: str = PASSWORD):
    body = await gql(client, PORTAL_LOGIN, {"email": email, "password": password})
    return body["data"]["portalLogin"]


async def staff_login(client, email: str, password: str = PASSWORD):
    body = await gql(client, LOGIN, {"email": email, "password": password})
    return body["data"]["login"]


async def verify(client, mfa_token: str, code: str):
    return (await gql(client, VERIFY, {"token": mfa_token, "code": code}))["data"]["verifyMfa"]


async def require_mfa(world: World) -> None:
    await preferences_for(world.org_a.id)
    await PortalPreferences.filter(organization_id=world.org_a.id).update(mfa_required=True)


async def test_enroll_then_log_in_in_two_steps(client, world: World, clock: Clock) -> None:
    token = world.tokens["contact_a"]
    other = (await portal_login(client))["token"]
    client.cookies.clear()
    started = (await gql(client, START, token=token))["data"]["startMfaEnrollment"]
    assert started["otpauthUri"].startswith("otpauth://totp/Alpha%20Trading:ann%40acorn.example?")
    assert f"secret={started['secret']}" in started["otpauthUri"]
    assert "issuer=Alpha%20Trading" in started["otpauthUri"]
    assert started["qrCodeSvg"].startswith("<svg") and started["qrCodeSvg"].endswith("</svg>")
    assert 'xmlns="http://www.w3.org/2000/svg"' in started["qrCodeSvg"]
    # Started, not confirmed: the password alone still logs in.
    assert (await gql(client, VIEWER_MFA, token=token))["data"]["viewer"] == {"mfaEnabled": False}

    wrong = await gql(client, CONFIRM, {"code": "000000"}, token=token)
    assert wrong["data"]["confirmMfaEnrollment"]["errors"] == [
        {"code": "INVALID_CODE", "field": ["code"]}
    ]
    code = code_at(started["secret"], clock.now)
    body = await gql(client, CONFIRM, {"code": code}, token=token)
    codes = body["data"]["confirmMfaEnrollment"]["recoveryCodes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(RECOVERY_CODE.match(value) for value in codes)
    assert (await gql(client, VIEWER_MFA, token=token))["data"]["viewer"] == {"mfaEnabled": True}
    # Confirming ends the sessions opened with the password alone, except this one.
    assert (await gql(client, VIEWER_MFA, token=other))["data"]["viewer"] is None
    await gql(client, "mutation { logout { errors { code } } }", token=token)

    variables = {"email": "ann@acorn.example", "password": PASSWORD}
    response = await client.post("/graphql", json={"query": PORTAL_LOGIN, "variables": variables})
    assert "set-cookie" not in response.headers
    first = response.json()["data"]["portalLogin"]
    assert first["errors"] == []
    assert first["mfaRequired"] is True
    assert first["token"] is None and first["viewer"] is None
    assert first["mfaToken"].startswith("mfa_")

    clock.advance()
    code = code_at(started["secret"], clock.now)
    second = await verify(client, first["mfaToken"], code)
    assert second["errors"] == []
    assert second["mfaRequired"] is False and second["mfaToken"] is None
    assert second["viewer"] == {
        "__typename": "ContactPerson",
        "email": "ann@acorn.example",
        "mfaEnabled": True,
    }
    session = second["token"]
    assert (await gql(client, CUSTOMERS, token=session))["data"]["customers"]["totalCount"] == 1
    # The challenge is used up.
    again = await verify(client, first["mfaToken"], code)
    assert again["errors"][0]["code"] == "MFA_CHALLENGE_EXPIRED"

    # The same code once more, with a fresh challenge: a replay.
    client.cookies.clear()
    fresh = await portal_login(client)
    replay = await verify(client, fresh["mfaToken"], code)
    assert replay["token"] is None
    assert replay["errors"] == [{"code": "INVALID_CODE", "field": ["code"]}]
    clock.advance()
    assert (await verify(client, fresh["mfaToken"], code_at(started["secret"], clock.now)))["token"]


async def test_wrong_password_gets_no_challenge(client, world: World, clock: Clock) -> None:
    await enroll(client, world.tokens["contact_a"], clock)
    refused = await portal_login(client, password="not-the-password")
    assert refused["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert refused["mfaRequired"] is False and refused["mfaToken"] is None


def test_codes_count_one_step_either_side_of_now() -> None:
    secret = mfa.new_secret()
    now = T0 + 12
    for offset_steps, accepted in ((-2, False), (-1, True), (0, True), (1, True), (2, False)):
        code = code_at(secret, now + offset_steps * mfa.STEP_SECONDS)
        step = mfa.matching_step(secret, code, after_step=0, at=now)
        assert (step is not None) is accepted, offset_steps
        if accepted:
            assert step == mfa.current_step(now) + offset_steps
    # Not newer than the last accepted step: refused.
    code = code_at(secret, now)
    assert mfa.matching_step(secret, code, after_step=mfa.current_step(now), at=now) is None
    assert mfa.matching_step(secret, "12345", after_step=0, at=now) is None
    assert mfa.matching_step(secret, "abcdef", after_step=0, at=now) is None


async def test_a_code_from_the_previous_step_logs_in_one_from_two_steps_ago_does_not(
    client, world: World, clock: Clock
) -> None:
    secret, _ = await enroll(client, world.tokens["contact_a"], clock)
    clock.advance(10)
    challenge = (await portal_login(client))["mfaToken"]
    too_old = await verify(client, challenge, code_at(secret, clock.now - 60))
    assert too_old["errors"][0]["code"] == "INVALID_CODE"
    too_new = await verify(client, challenge, code_at(secret, clock.now + 60))
    assert too_new["errors"][0]["code"] == "INVALID_CODE"
    previous = await verify(client, challenge, code_at(secret, clock.now - 30))
    assert previous["errors"] == [] and previous["token"]


async def test_one_code_used_twice_at_once_passes_once(client, world: World, clock) -> None:
    secret, _ = await enroll(client, world.tokens["contact_a"], clock)
    clock.advance()
    code = code_at(secret, clock.now)
    first, second = (
        await MfaFactor.get(contact_id=world.contact_a.id),
        await MfaFactor.get(contact_id=world.contact_a.id),
    )
    results = await asyncio.gather(mfa.use_totp(first, code), mfa.use_totp(second, code))
    assert sorted(results) == [False, True]


async def test_the_mfa_token_is_not_a_session(client, world: World, clock: Clock) -> None:
    await enroll(client, world.tokens["contact_a"], clock)
    challenge = (await portal_login(client))["mfaToken"]
    body = await gql(client, CUSTOMERS, token=challenge)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert (await gql(client, VIEWER_MFA, token=challenge))["data"]["viewer"] is None


async def test_one_login_step_per_operation(client, world: World, clock: Clock) -> None:
    await enroll(client, world.tokens["contact_a"], clock)
    challenge = (await portal_login(client))["mfaToken"]
    guesses = " ".join(
        f'g{n}: verifyMfa(input: {{mfaToken: "{challenge}", code: "{n:06d}"}}) {{ token }}'
        for n in range(15)
    )
    body = await gql(client, "mutation { %s }" % guesses)
    assert body.get("data") is None
    assert set(error_codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert not await FailedAttempt.exists()

    through_fragments = """mutation { ...A ...B }
      fragment A on Mutation { login(input: {email: "a@b.c", password: "x"}) { token } }
      fragment B on Mutation { portalLogin(input: {portalName: "alpha", email: "a@b.c",
        password: "x"}) { token } }"""
    assert error_codes(await gql(client, through_fragments)) == ["GRAPHQL_VALIDATION_FAILED"]
    # Nothing may ride along after a login either: it would run as the new session.
    mixed = """mutation { portalLogin(input: {portalName: "alpha", email: "a@b.c",
      password: "x"}) { token } logout { errors { code } } }"""
    assert error_codes(await gql(client, mixed)) == ["GRAPHQL_VALIDATION_FAILED"]
    alone = """mutation { __typename portalLogin(input: {portalName: "alpha", email: "a@b.c",
      password: "x"}) { errors { code } } }"""
    assert (await gql(client, alone))["data"]["portalLogin"]["errors"][0]["code"] == (
        "INVALID_CREDENTIALS"
    )


async def test_repeated_wrong_codes_lock_the_second_step(client, world: World, clock) -> None:
    secret, _ = await enroll(client, world.tokens["contact_a"], clock)
    clock.advance()
    challenge = (await portal_login(client))["mfaToken"]
    for guess in ("111111", "222222", "333333", "444444", "555555"):
        assert (await verify(client, challenge, guess))["errors"][0]["code"] == "INVALID_CODE"
    right = code_at(secret, clock.now)
    locked = await verify(client, challenge, right)
    assert locked["token"] is None
    assert locked["errors"][0]["code"] == "RATE_LIMITED"
    fresh = (await portal_login(client))["mfaToken"]
    assert (await verify(client, fresh, right))["errors"][0]["code"] == "RATE_LIMITED"
    # Another account is not locked by these failures.
    assert (await portal_login(client, "bob@birch.example"))["token"]
    # Once the failures are older than the window, the right code works again.
    long_ago = datetime.now(UTC) - timedelta(minutes=16)
    await FailedAttempt.filter(key__startswith="mfa-account:").update(created_at=long_ago)
    assert (await verify(client, fresh, right))["token"]


async def test_a_recovery_code_works_once(client, world: World, clock: Clock) -> None:
    _, codes = await enroll(client, world.tokens["contact_a"], clock)
    challenge = (await portal_login(client))["mfaToken"]
    # Typed loosely: upper case, without the hyphens.
    loosely = codes[3].upper().replace("-", " ")
    used = await verify(client, challenge, loosely)
    assert used["errors"] == [] and used["token"]
    assert await RecoveryCode.filter(used_at__isnull=False).count() == 1
    challenge = (await portal_login(client))["mfaToken"]
    again = await verify(client, challenge, codes[3])
    assert again["errors"][0]["code"] == "INVALID_CODE"
    assert (await verify(client, challenge, codes[4]))["token"]


async def test_factors_sealed_by_earlier_versions_still_open(db) -> None:
    """Enrolled authenticators outlive upgrades: the sealed format and the keys derived from
    the server secret must not drift (these were stored by an earlier version)."""
    sealed = "v1:QV4mlscmndbZsj1u6P7CFc8Tu-HvGM0m-HkD9x2o4wxYztMuy4zbyUZtkIq2-DhG4anMvnWKOLFySjPh"
    assert mfa.unseal(sealed, "contact:1") == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    assert mfa.recovery_code_digest("ABCD efgh-jkmn") == (
        "44c5e97cbf848760ce65e8bdd4a436a2f2c5f51fa79fb67b587790022be1fc68"
    )


async def test_the_database_holds_no_plain_secret_or_recovery_code(
    client, world: World, clock: Clock
) -> None:
    secret, codes = await enroll(client, world.tokens["contact_a"], clock)
    factor = await MfaFactor.get(contact_id=world.contact_a.id)
    stored = str(await MfaFactor.all().values())
    assert secret not in stored and secret.lower() not in stored.lower()
    assert mfa.unseal(factor.sealed_secret, f"contact:{world.contact_a.id}") == secret
    # Bound to its owner: copied onto another account's row, it does not open.
    with pytest.raises(ValueError):
        mfa.unseal(factor.sealed_secret, f"contact:{world.contact_b.id}")
    hashes = str(await RecoveryCode.all().values())
    for code in codes:
        assert code not in hashes and code.replace("-", "") not in hashes
    challenge = (await portal_login(client))["mfaToken"]
    assert challenge not in str(await OneTimeToken.all().values())


async def test_regenerate_and_disable_need_a_code(client, world: World, clock: Clock) -> None:
    token = world.tokens["contact_a"]
    secret, old_codes = await enroll(client, token, clock)
    refused = await gql(client, REGENERATE, {"code": "123456"}, token=token)
    assert refused["data"]["regenerateRecoveryCodes"]["errors"] == [{"code": "INVALID_CODE"}]
    clock.advance()
    body = await gql(client, REGENERATE, {"code": code_at(secret, clock.now)}, token=token)
    new_codes = body["data"]["regenerateRecoveryCodes"]["recoveryCodes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    challenge = (await portal_login(client))["mfaToken"]
    assert (await verify(client, challenge, old_codes[0]))["errors"][0]["code"] == "INVALID_CODE"

    other = (await verify(client, challenge, new_codes[0]))["token"]
    assert (await gql(client, DISABLE, {"code": "123456"}, token=token))["data"]["disableMfa"][
        "errors"
    ] == [{"code": "INVALID_CODE"}]
    clock.advance()
    body = await gql(client, DISABLE, {"code": code_at(secret, clock.now)}, token=token)
    assert body["data"]["disableMfa"]["errors"] == []
    assert not await MfaFactor.exists() and not await RecoveryCode.exists()
    assert (await gql(client, VIEWER_MFA, token=other))["data"]["viewer"] is None
    assert (await gql(client, VIEWER_MFA, token=token))["data"]["viewer"] == {"mfaEnabled": False}
    assert (await portal_login(client))["token"]
    again = await gql(client, DISABLE, {"code": "123456"}, token=token)
    assert again["data"]["disableMfa"]["errors"] == [{"code": "MFA_NOT_ENABLED"}]


async def test_enrollment_states(client, world: World, clock: Clock) -> None:
    token = world.tokens["staff"]
    body = await gql(client, CONFIRM, {"code": "123456"}, token=token)
    assert body["data"]["confirmMfaEnrollment"]["errors"][0]["code"] == "MFA_NOT_STARTED"
    first = (await gql(client, START, token=token))["data"]["startMfaEnrollment"]
    second = (await gql(client, START, token=token))["data"]["startMfaEnrollment"]
    assert first["secret"] != second["secret"]
    assert await MfaFactor.filter(staff_user_id=world.staff.id).count() == 1
    # Only the newest secret counts.
    stale = await gql(client, CONFIRM, {"code": code_at(first["secret"], clock.now)}, token=token)
    assert stale["data"]["confirmMfaEnrollment"]["errors"][0]["code"] == "INVALID_CODE"
    code = code_at(second["secret"], clock.now)
    body = await gql(client, CONFIRM, {"code": code}, token=token)
    assert body["data"]["confirmMfaEnrollment"]["errors"] == []
    again = (await gql(client, START, token=token))["data"]["startMfaEnrollment"]
    assert again["errors"] == [{"code": "MFA_ALREADY_ENABLED"}] and again["secret"] is None


async def test_organization_requires_mfa_of_portal_contacts(
    client, world: World, clock: Clock
) -> None:
    await require_mfa(world)
    token = world.tokens["contact_a"]
    refused = await gql(client, CUSTOMERS, token=token)
    assert error_codes(refused) == ["MFA_ENROLLMENT_REQUIRED"] and refused.get("data") is None
    mixed = await gql(client, "{ viewer { __typename } organization { name } }", token=token)
    assert error_codes(mixed) == ["MFA_ENROLLMENT_REQUIRED"]
    password = """mutation { changePassword(input: {currentPassword: "x", newPassword: "y"}) {
      errors { code } } }"""
    assert error_codes(await gql(client, password, token=token)) == ["MFA_ENROLLMENT_REQUIRED"]
    assert (await gql(client, "{ viewer { __typename } __typename }", token=token))["data"] == {
        "viewer": {"__typename": "ContactPerson"},
        "__typename": "Query",
    }
    # Staff are not bound by the portal's requirement.
    assert "errors" not in await gql(client, CUSTOMERS, token=world.tokens["staff"])

    # A fresh login gets a session too, as limited.
    login = await portal_login(client, "bob@birch.example")
    assert login["token"] and login["mfaRequired"] is False
    assert error_codes(await gql(client, CUSTOMERS, token=login["token"])) == [
        "MFA_ENROLLMENT_REQUIRED"
    ]

    secret, _ = await enroll(client, token, clock)
    assert (await gql(client, CUSTOMERS, token=token))["data"]["customers"]["totalCount"] == 1
    clock.advance()
    body = await gql(client, DISABLE, {"code": code_at(secret, clock.now)}, token=token)
    assert body["data"]["disableMfa"]["errors"] == [{"code": "MFA_REQUIRED"}]
    assert await MfaFactor.filter(contact_id=world.contact_a.id).exists()


async def test_a_session_that_must_enroll_may_still_log_in_as_someone_else(
    client, world: World
) -> None:
    """A browser holding the restricted session of one contact logs in as another: the new
    login replaces the session instead of being refused until a logout."""
    await require_mfa(world)
    restricted = world.tokens["contact_a"]
    body = await gql(client, PORTAL_LOGIN, {"email": "bob@birch.example", "password": PASSWORD},
                     token=restricted)  # fmt: skip
    login = body["data"]["portalLogin"]
    assert login["errors"] == [] and login["token"] and login["token"] != restricted
    assert login["viewer"] == {"__typename": "ContactPerson", "email": "bob@birch.example"}
    staff = await gql(client, LOGIN, {"email": "staff@alpha.example", "password": PASSWORD},
                      token=restricted)  # fmt: skip
    assert staff["data"]["login"]["token"]
    # Nothing else is let through alongside: a login stands alone in its operation.
    mixed = await gql(client, "mutation { logout { errors { code } } changePassword(input: "
                      '{currentPassword: "x", newPassword: "y"}) { errors { code } } }',
                      token=restricted)  # fmt: skip
    assert error_codes(mixed) == ["MFA_ENROLLMENT_REQUIRED"]


async def test_staff_reset_of_a_contact_ends_its_sessions(
    client, world: World, clock: Clock
) -> None:
    token = world.tokens["contact_a"]
    await enroll(client, token, clock)
    challenge = (await portal_login(client))["mfaToken"]
    mutation = """mutation($id: ID!) { resetContactMfa(input: {contactId: $id}) {
      contactPerson { email mfaEnabled } errors { code } } }"""
    contact_id = await _contact_id(client, world, "ann@acorn.example")
    body = await gql(client, mutation, {"id": contact_id}, token=world.tokens["staff"])
    assert body["data"]["resetContactMfa"] == {
        "contactPerson": {"email": "ann@acorn.example", "mfaEnabled": False},
        "errors": [],
    }
    assert (await gql(client, VIEWER_MFA, token=token))["data"]["viewer"] is None
    assert not await RecoveryCode.exists()
    # A challenge from before the reset is void; the password alone logs in now.
    assert (await verify(client, challenge, "123456"))["errors"][0]["code"] == (
        "MFA_CHALLENGE_EXPIRED"
    )
    login = await portal_login(client)
    assert login["token"] and login["mfaRequired"] is False


async def test_staff_mfa_and_admin_reset(client, world: World, clock: Clock) -> None:
    token = world.tokens["staff"]
    secret, _ = await enroll(client, token, clock)
    first = await staff_login(client, "staff@alpha.example")
    assert first["mfaRequired"] is True and first["token"] is None
    clock.advance()
    variables = {"token": first["mfaToken"], "code": code_at(secret, clock.now)}
    response = await client.post("/graphql", json={"query": VERIFY, "variables": variables})
    # The same session as a password-only login: token, viewer and the HttpOnly cookie.
    assert "portico_session=" in response.headers["set-cookie"]
    second = response.json()["data"]["verifyMfa"]
    assert second["viewer"]["__typename"] == "StaffUser" and second["viewer"]["mfaEnabled"]
    cookie_viewer = await client.post("/graphql", json={"query": VIEWER_MFA})
    assert cookie_viewer.json()["data"]["viewer"] == {"mfaEnabled": True}
    client.cookies.clear()
    listed = await gql(
        client, "{ staffUsers { nodes { email mfaEnabled } } }", token=world.tokens["admin"]
    )
    assert listed["data"]["staffUsers"]["nodes"] == [
        {"email": "admin@alpha.example", "mfaEnabled": False},
        {"email": "staff@alpha.example", "mfaEnabled": True},
    ]

    mutation = """mutation($id: ID!) { resetStaffMfa(input: {staffUserId: $id}) {
      staffUser { email mfaEnabled } errors { code } } }"""
    staff_id = await _staff_id(client, world, "staff@alpha.example")
    admin_id = await _staff_id(client, world, "admin@alpha.example")
    own = await gql(client, mutation, {"id": admin_id}, token=world.tokens["admin"])
    assert own["data"]["resetStaffMfa"]["errors"] == [{"code": "OWN_ACCOUNT"}]
    body = await gql(client, mutation, {"id": staff_id}, token=world.tokens["admin"])
    assert body["data"]["resetStaffMfa"] == {
        "staffUser": {"email": "staff@alpha.example", "mfaEnabled": False},
        "errors": [],
    }
    for ended in (token, second["token"]):
        assert (await gql(client, VIEWER_MFA, token=ended))["data"]["viewer"] is None
    assert (await staff_login(client, "staff@alpha.example"))["token"]


async def test_a_contacts_mfa_state_is_its_own_and_staffs_business(
    client, db, world: World, clock: Clock
) -> None:
    colleague = await ContactPerson.create(
        organization=world.org_a,
        customer=world.customer_a,
        first_name="Cat",
        email="cat@acorn.example",
        portal_access=PortalAccess.ACTIVE,
    )
    colleague_token, _ = await start_session(SessionPolicy.from_settings(db), contact=colleague)
    await enroll(client, world.tokens["contact_a"], clock)
    query = "{ contactPersons { nodes { email mfaEnabled } } }"
    own = """{ viewer { ... on ContactPerson { mfaEnabled } }
      contactPersons { nodes { email } } }"""
    assert (await gql(client, own, token=colleague_token))["data"]["viewer"] == {
        "mfaEnabled": False
    }
    assert error_codes(await gql(client, query, token=colleague_token)) == ["FORBIDDEN"]
    staff_view = await gql(client, query, token=world.tokens["staff"])
    assert {n["email"]: n["mfaEnabled"] for n in staff_view["data"]["contactPersons"]["nodes"]} == {
        "ann@acorn.example": True,
        "bob@birch.example": False,
        "cat@acorn.example": False,
    }


async def _contact_id(client, world: World, email: str) -> str:
    query = '{ contactPersons(filter: {search: "%s"}) { nodes { id } } }' % email
    body = await gql(client, query, token=world.tokens["staff"])
    return body["data"]["contactPersons"]["nodes"][0]["id"]


async def _staff_id(client, world: World, email: str) -> str:
    query = '{ staffUsers(filter: {search: "%s"}) { nodes { id } } }' % email
    body = await gql(client, query, token=world.tokens["admin"])
    return body["data"]["staffUsers"]["nodes"][0]["id"]


async def test_a_session_that_must_enroll_cannot_subscribe(db, world: World) -> None:
    from tests import graphql_ws
    from tests.test_activity import websocket_client

    await require_mfa(world)
    async with (
        websocket_client(db) as ws_http,
        graphql_ws.connect(ws_http, token=world.tokens["contact_a"]) as ws,
    ):
        operation = await ws.subscribe("subscription { portalActivity { cursor } }")
        message = await ws.receive()
        assert message["id"] == operation and message["payload"]["data"] is None, message
        assert error_codes(message["payload"]) == ["MFA_ENROLLMENT_REQUIRED"]


async def test_a_password_reset_link_does_not_skip_the_second_step(
    client, world: World, clock: Clock, smtp
) -> None:
    from integrations.mailer import mailer_from_url
    from integrations.outbox import deliver_once
    from tests.test_portal_access import link_token

    secret, _ = await enroll(client, world.tokens["contact_a"], clock)
    request = """mutation { requestPasswordReset(input: {portalName: "alpha",
      email: "ann@acorn.example"}) { errors { code } } }"""
    await gql(client, request)
    await deliver_once(mailer_from_url(smtp.url), "test")
    [message] = smtp.wait_for(1)
    reset = """mutation($token: String!) { resetPassword(input: {token: $token,
      password: "a brand new passphrase"}) { token mfaRequired mfaToken errors { code } } }"""
    body = (await gql(client, reset, {"token": link_token(message)}))["data"]["resetPassword"]
    assert body["token"] is None and body["mfaRequired"] is True
    clock.advance()
    done = await verify(client, body["mfaToken"], code_at(secret, clock.now))
    assert done["token"]


async def test_invite_accept_enroll_logout_and_log_in_with_a_code(
    client, world: World, clock: Clock, smtp
) -> None:
    from integrations.mailer import mailer_from_url
    from integrations.outbox import deliver_once
    from models.customers import ContactPerson
    from tests.conftest import gid
    from tests.test_portal_access import ACCEPT, ENABLE, link_token

    contact = await ContactPerson.create(
        organization=world.org_a, customer=world.customer_a, first_name="Dana",
        email="dana@acorn.example",
    )  # fmt: skip
    await gql(client, ENABLE, {"ids": [gid("ContactPerson", contact)]},
              token=world.tokens["staff"])  # fmt: skip
    await deliver_once(mailer_from_url(smtp.url), "test")
    [invitation] = smtp.wait_for(1)
    password = "a sturdy phrase for 2026"
    accepted = await gql(client, ACCEPT, {"token": link_token(invitation), "password": password})
    session = accepted["data"]["acceptInvitation"]["token"]
    secret, _ = await enroll(client, session, clock)
    await gql(client, "mutation { logout { errors { code } } }", token=session)

    first = await portal_login(client, "dana@acorn.example", password)
    assert first["token"] is None and first["mfaRequired"] is True
    clock.advance()
    done = await verify(client, first["mfaToken"], code_at(secret, clock.now))
    me = await gql(client, "{ viewer { ... on ContactPerson { email mfaEnabled } } }",
                   token=done["token"])  # fmt: skip
    assert me["data"]["viewer"] == {"email": "dana@acorn.example", "mfaEnabled": True}
