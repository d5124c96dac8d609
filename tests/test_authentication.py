from datetime import UTC, datetime, timedelta

import httpx
from argon2 import PasswordHasher

from auth import passwords
from auth.tokens import hash_token
from models.customers import ContactPerson, PortalAccess
from models.sessions import Session
from models.staff import StaffUser
from tests.conftest import PASSWORD, World, error_codes, gql

LOGIN = """
mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    token errors { code message field }
    viewer { __typename ... on StaffUser { email role } }
  }
}"""
PORTAL_LOGIN = """
mutation($portal: String!, $email: String!, $password: String!) {
  portalLogin(input: {portalName: $portal, email: $email, password: $password}) {
    token errors { code message }
    viewer { __typename ... on ContactPerson { email customer { displayName } } }
  }
}"""
VIEWER = "{ viewer { __typename ... on StaffUser { email } ... on ContactPerson { email } } }"


async def login(client, email, password=PASSWORD, **request):
    body = await gql(client, LOGIN, {"email": email, "password": password}, **request)
    return body["data"]["login"]


async def test_staff_logs_in_and_the_token_identifies_them(client, world: World) -> None:
    result = await login(client, "Admin@Alpha.example ")
    assert result["errors"] == []
    assert result["viewer"] == {
        "__typename": "StaffUser",
        "email": "admin@alpha.example",
        "role": "ADMIN",
    }
    viewer = await gql(client, VIEWER, token=result["token"])
    assert viewer["data"]["viewer"]["email"] == "admin@alpha.example"
    assert not await Session.filter(token_hash=result["token"]).exists()
    assert await Session.filter(token_hash=hash_token(result["token"])).exists()


async def test_portal_contact_logs_in_with_portal_name(client, world: World) -> None:
    variables = {"portal": "alpha", "email": "ann@acorn.example", "password": PASSWORD}
    result = (await gql(client, PORTAL_LOGIN, variables))["data"]["portalLogin"]
    assert result["errors"] == []
    assert result["viewer"]["customer"] == {"displayName": "Acorn Ltd"}
    wrong_portal = {**variables, "portal": "beta"}
    refused = (await gql(client, PORTAL_LOGIN, wrong_portal))["data"]["portalLogin"]
    assert refused["token"] is None
    assert refused["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_unknown_email_and_wrong_password_get_the_same_answer(client, world) -> None:
    wrong_password = await login(client, "admin@alpha.example", "not-the-password")
    unknown = await login(client, "nobody@alpha.example", "not-the-password")
    assert wrong_password == unknown
    assert wrong_password["token"] is None
    assert wrong_password["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_contact_without_portal_access_cannot_log_in(client, world: World) -> None:
    await ContactPerson.filter(id=world.contact_a.id).update(portal_access=PortalAccess.DISABLED)
    variables = {"portal": "alpha", "email": "ann@acorn.example", "password": PASSWORD}
    result = (await gql(client, PORTAL_LOGIN, variables))["data"]["portalLogin"]
    assert result["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_repeated_failures_lock_the_account_even_for_the_right_password(
    client, world
) -> None:
    for _ in range(5):
        assert (await login(client, "staff@alpha.example", "wrong-password-x"))["token"] is None
    locked = await login(client, "staff@alpha.example")
    assert locked["token"] is None
    assert locked["errors"][0]["code"] == "RATE_LIMITED"
    # Another account from the same address is not locked by these five failures.
    assert (await login(client, "admin@alpha.example"))["token"]


async def test_many_failures_from_one_address_are_limited(client, world) -> None:
    for index in range(30):
        await login(client, f"guess{index}@alpha.example", "wrong-password-x")
    blocked = await login(client, "admin@alpha.example")
    assert blocked["errors"][0]["code"] == "RATE_LIMITED"


async def test_login_rehashes_a_password_stored_with_old_parameters(client, world) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(PASSWORD)
    await StaffUser.filter(id=world.staff.id).update(password_hash=old)
    assert (await login(client, "staff@alpha.example"))["token"]
    user = await StaffUser.get(id=world.staff.id)
    assert user.password_hash != old
    assert user.password_hash.startswith("$argon2id$")
    assert not passwords.needs_rehash(user.password_hash)


async def test_logout_ends_the_session(client, world: World) -> None:
    token = world.tokens["staff"]
    body = await gql(client, "mutation { logout { errors { code } } }", token=token)
    assert body["data"]["logout"]["errors"] == []
    assert (await gql(client, VIEWER, token=token))["data"]["viewer"] is None


async def test_idle_and_absolute_expiry(client, world: World) -> None:
    token = world.tokens["staff"]
    long_ago = datetime.now(UTC) - timedelta(days=1)
    await Session.filter(staff_user_id=world.staff.id).update(last_seen_at=long_ago)
    assert (await gql(client, VIEWER, token=token))["data"]["viewer"] is None
    token = world.tokens["admin"]
    await Session.filter(staff_user_id=world.admin.id).update(expires_at=datetime.now(UTC))
    assert (await gql(client, VIEWER, token=token))["data"]["viewer"] is None


async def test_disabling_a_contact_ends_its_sessions_at_once(client, world: World) -> None:
    token = world.tokens["contact_a"]
    assert (await gql(client, VIEWER, token=token))["data"]["viewer"]
    await ContactPerson.filter(id=world.contact_a.id).update(portal_access=PortalAccess.DISABLED)
    body = await gql(client, "{ customers { totalCount } }", token=token)
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_change_password_ends_other_sessions_and_keeps_this_one(client, world: World) -> None:
    other = (await login(client, "staff@alpha.example"))["token"]
    mutation = """mutation($input: ChangePasswordInput!) {
      changePassword(input: $input) { errors { code field } } }"""
    this = world.tokens["staff"]
    weak = {"currentPassword": PASSWORD, "newPassword": "password1"}
    body = await gql(client, mutation, {"input": weak}, token=this)
    assert body["data"]["changePassword"]["errors"][0]["code"] == "WEAK_PASSWORD"
    strong = {"currentPassword": PASSWORD, "newPassword": "a much better passphrase"}
    body = await gql(client, mutation, {"input": strong}, token=this)
    assert body["data"]["changePassword"]["errors"] == []
    assert (await gql(client, VIEWER, token=this))["data"]["viewer"]
    assert (await gql(client, VIEWER, token=other))["data"]["viewer"] is None
    assert (await login(client, "staff@alpha.example", "a much better passphrase"))["token"]


async def test_wrong_current_passwords_stop_change_password_for_a_while(
    client, world: World
) -> None:
    """Someone with a stolen session cannot guess the password by changing it."""
    mutation = """mutation($input: ChangePasswordInput!) {
      changePassword(input: $input) { errors { code field } } }"""
    for who in ("staff", "contact_a"):
        guesses = [f"guess number {n}" for n in range(5)] + [PASSWORD]
        codes = []
        for guess in guesses:
            attempt = {"currentPassword": guess, "newPassword": "a much better passphrase"}
            body = await gql(client, mutation, {"input": attempt}, token=world.tokens[who])
            codes.append(body["data"]["changePassword"]["errors"][0]["code"])
        assert codes == ["INVALID_CREDENTIALS"] * 5 + ["RATE_LIMITED"], who
    assert (await login(client, "staff@alpha.example"))["token"]  # the password is unchanged


async def test_cookie_session_is_set_httponly_and_works_for_json_posts(
    client: httpx.AsyncClient, world
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"email": "admin@alpha.example", "password": PASSWORD}},
    )
    cookie = response.headers["set-cookie"].lower()
    assert "portico_session=" in cookie
    assert "httponly" in cookie and "samesite=strict" in cookie
    viewer = (await client.post("/graphql", json={"query": VIEWER})).json()
    assert viewer["data"]["viewer"]["email"] == "admin@alpha.example"


async def test_cookie_is_ignored_for_cross_site_shaped_requests(
    client: httpx.AsyncClient, world
) -> None:
    await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"email": "admin@alpha.example", "password": PASSWORD}},
    )
    foreign = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.json()["data"]["viewer"] is None
    form = await client.post(
        "/graphql",
        content=f'{{"query": "{VIEWER}"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert form.status_code == 400
    via_get = await client.get("/graphql", params={"query": VIEWER})
    assert via_get.status_code != 200 or via_get.json()["data"]["viewer"] is None


async def test_deactivated_staff_loses_access(client, world: World) -> None:
    mutation = """mutation($input: UpdateStaffUserInput!) {
      updateStaffUser(input: $input) { staffUser { isActive } errors { code } } }"""
    staff_id = await _global_id(client, world, "staff@alpha.example")
    body = await gql(
        client,
        mutation,
        {"input": {"id": staff_id, "isActive": False}},
        token=world.tokens["admin"],
    )
    assert body["data"]["updateStaffUser"] == {"staffUser": {"isActive": False}, "errors": []}
    assert (await gql(client, VIEWER, token=world.tokens["staff"]))["data"]["viewer"] is None
    assert (await login(client, "staff@alpha.example"))["token"] is None


async def _global_id(client, world: World, email: str) -> str:
    query = '{ staffUsers(filter: {search: "%s"}) { nodes { id } } }' % email
    body = await gql(client, query, token=world.tokens["admin"])
    return body["data"]["staffUsers"]["nodes"][0]["id"]


async def test_unknown_email_costs_a_password_verification_too(client, world, monkeypatch) -> None:
    verified: list[str] = []
    real_verify = PasswordHasher.verify

    def counting_verify(self, stored_hash, password):
        verified.append(stored_hash)
        return real_verify(self, stored_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    await login(client, "admin@alpha.example", "wrong-password-x")
    await login(client, "nobody@alpha.example", "wrong-password-x")
    assert len(verified) == 2
    assert all(stored.startswith("$argon2id$") for stored in verified)


async def test_expired_and_revoked_api_keys_stop_working(client, world: World) -> None:
    from models.api_keys import ApiKey

    token = world.tokens["partner"]
    assert (await gql(client, "{ customers { totalCount } }", token=token))["data"]
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    await ApiKey.filter(name="Sync").update(expires_on=yesterday)
    body = await gql(client, "{ customers { totalCount } }", token=token)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    await ApiKey.filter(name="Sync").update(expires_on=None, revoked_at=datetime.now(UTC))
    body = await gql(client, "{ customers { totalCount } }", token=token)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_api_key_secret_is_shown_once_and_stored_hashed(client, world: World) -> None:
    from models.api_keys import ApiKey

    mutation = """mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
      secret apiKey { id prefix scopes expiresOn } errors { code field } } }"""
    past = {"name": "Old", "scopes": ["CUSTOMERS_READ"], "expiresOn": "2000-01-01"}
    body = await gql(client, mutation, {"input": past}, token=world.tokens["admin"])
    assert body["data"]["createApiKey"]["errors"] == [{"code": "INVALID", "field": ["expiresOn"]}]
    variables = {"input": {"name": "ERP", "scopes": ["CUSTOMERS_READ"], "expiresOn": "2999-12-31"}}
    created = (await gql(client, mutation, variables, token=world.tokens["admin"]))["data"]
    secret = created["createApiKey"]["secret"]
    assert secret.startswith("ptk_") and len(secret) > 40
    assert created["createApiKey"]["apiKey"]["expiresOn"] == "2999-12-31"
    assert secret.startswith(created["createApiKey"]["apiKey"]["prefix"])
    row = await ApiKey.get(name="ERP")
    assert row.key_hash == hash_token(secret) and secret not in str(row.__dict__)
    listed = await gql(client, "{ apiKeys { nodes { name } } }", token=world.tokens["admin"])
    assert "secret" not in str(listed)
    body = await gql(client, "{ viewer { ... on ApiKey { name scopes } } }", token=secret)
    assert body["data"]["viewer"] == {"name": "ERP", "scopes": ["CUSTOMERS_READ"]}
