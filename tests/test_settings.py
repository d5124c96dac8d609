"""Settings: every bad value reported at once; addresses that follow the port served."""

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from resolvers import links
from server.app import create_app
from server.settings import ConfigurationError, Settings
from tests.conftest import PASSWORD, World, app_client, gql

VIEWER = "{ viewer { __typename ... on StaffUser { email } } }"
LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code } } }"""


def environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    return {"PORTICO_VAR_DIR": str(tmp_path), **variables}


def test_every_bad_value_is_reported_with_its_variable_value_and_what_is_accepted(
    tmp_path: Path,
) -> None:
    bad = environment(
        tmp_path,
        PORTICO_PORT="abc",
        PORTICO_WORKERS="x",
        PORTICO_LOG_LEVEL="verbose",
        PORTICO_ALLOWED_ORIGINS="portal.example.com",
        PORTICO_PUBLIC_URL="ftp://portal.example.com",
        DATABASE_URL="mysql://db/portico",
        PORTICO_GRAPHIQL="maybe",
    )
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(bad)
    problems = refused.value.problems
    assert [problem.split("=")[0] for problem in problems] == [
        "DATABASE_URL",
        "PORTICO_PORT",
        "PORTICO_WORKERS",
        "PORTICO_ALLOWED_ORIGINS",
        "PORTICO_PUBLIC_URL",
        "PORTICO_LOG_LEVEL",
        "PORTICO_GRAPHIQL",
    ]
    assert "PORTICO_PORT='abc' is not valid: expected an integer from 1 to 65535" in problems
    assert any("'verbose'" in p and "debug" in p for p in problems)
    assert any("'portal.example.com'" in p and "https://" in p for p in problems)
    # A bad configuration leaves nothing behind, not even a development secret key.
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORTICO_PORT", "0"),
        ("PORTICO_PORT", "65536"),
        ("PORTICO_WORKERS", "0"),
        ("PORTICO_SESSION_IDLE_MINUTES", "-5"),
        ("PORTICO_ENV", "staging"),
        ("REDIS_URL", "localhost:6379"),
        ("PORTICO_STAFF_APP_URL", "staff.example.com"),
        ("PORTICO_LOG_FORMAT", "xml"),
    ],
)
def test_out_of_range_values_are_refused(tmp_path: Path, variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(environment(tmp_path, **{variable: value}))
    assert refused.value.problems[0].startswith(f"{variable}={value!r} is not valid: expected")


def test_a_short_secret_key_is_refused_without_being_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(environment(tmp_path, PORTICO_SECRET_KEY="hunter2-hunter2"))
    assert refused.value.problems == [
        "PORTICO_SECRET_KEY is not valid: expected at least 32 characters, got 15"
    ]


def test_a_short_metrics_token_is_refused_without_being_echoed(tmp_path: Path) -> None:
    for weak in ("hunter2", "a token with spaces in it"):
        with pytest.raises(ConfigurationError) as refused:
            Settings.from_env(environment(tmp_path, PORTICO_METRICS_TOKEN=weak))
        [problem] = refused.value.problems
        assert problem.startswith("PORTICO_METRICS_TOKEN is not valid") and weak not in problem


def test_links_and_origins_follow_the_address_served(tmp_path: Path) -> None:
    default = Settings.from_env(environment(tmp_path))
    assert default.public_base_url == "http://127.0.0.1:8000"
    assert default.allowed_origins == ("http://127.0.0.1:8000", "http://localhost:8000")

    other_port = Settings.from_env(environment(tmp_path, PORTICO_PORT="9000"))
    assert other_port.public_base_url == "http://127.0.0.1:9000"
    assert other_port.allowed_origins == ("http://127.0.0.1:9000", "http://localhost:9000")

    named = Settings.from_env(
        environment(tmp_path, PORTICO_HOST="portal.internal", PORTICO_PORT="8080")
    )
    assert named.public_base_url == "http://portal.internal:8080"
    assert named.allowed_origins == ("http://portal.internal:8080",)

    everywhere = Settings.from_env(
        environment(
            tmp_path,
            PORTICO_HOST="0.0.0.0",  # noqa: S104
            PORTICO_PORT="9000",
            PORTICO_PUBLIC_URL="https://portal.example.com/",
        )
    )
    assert everywhere.public_base_url == "https://portal.example.com"
    assert everywhere.allowed_origins == (
        "https://portal.example.com",
        "http://127.0.0.1:9000",
        "http://localhost:9000",
    )

    configured = Settings.from_env(
        environment(
            tmp_path,
            PORTICO_PORT="9000",
            PORTICO_ALLOWED_ORIGINS="https://App.example.com:443/, https://staff.example.com",
        )
    )
    assert configured.allowed_origins == ("https://app.example.com", "https://staff.example.com")


@pytest.fixture
def served_on_9000(db: Settings) -> Iterator[Settings]:
    yield dataclasses.replace(db, port=9000)
    links.configure(db.links)  # the app installs its links process-wide


async def test_an_app_served_on_another_port_links_and_allows_that_port(
    served_on_9000: Settings, world: World
) -> None:
    async with app_client(served_on_9000) as http:
        body = await gql(http, "{ organization { portalUrl } }", token=world.tokens["admin"])
        assert body["data"]["organization"]["portalUrl"].startswith("http://127.0.0.1:9000/portal/")
        preflight = {"access-control-request-method": "POST"}
        for origin, allowed in (
            ("http://localhost:9000", True),
            ("http://127.0.0.1:9000", True),
            ("http://127.0.0.1:8000", False),
        ):
            response = await http.options("/graphql", headers={"origin": origin, **preflight})
            assert (response.headers.get("access-control-allow-origin") == origin) is allowed


async def test_a_same_origin_page_logs_in_with_its_cookie_at_any_address(
    db: Settings, world: World
) -> None:
    # GraphiQL reached as http://portal.internal:9000, an address no setting names.
    app = create_app(db, manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://portal.internal:9000"
    ) as http:
        same = {"origin": "http://portal.internal:9000"}
        variables = {"email": "admin@alpha.example", "password": PASSWORD}
        login = await http.post(
            "/graphql", json={"query": LOGIN, "variables": variables}, headers=same
        )
        assert login.json()["data"]["login"]["errors"] == []
        viewer = await http.post("/graphql", json={"query": VIEWER}, headers=same)
        assert viewer.json()["data"]["viewer"] == {
            "__typename": "StaffUser",
            "email": "admin@alpha.example",
        }
        for foreign in ("http://portal.internal:9001", "https://evil.example"):
            other = await http.post("/graphql", json={"query": VIEWER}, headers={"origin": foreign})
            assert other.json()["data"]["viewer"] is None


async def test_a_same_origin_websocket_is_accepted_at_any_address(db: Settings) -> None:
    app = create_app(db, manage_database=False)
    transport = ASGIWebSocketTransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://portal.internal:9000"
    ) as http:
        headers = {"origin": "http://portal.internal:9000"}
        async with aconnect_ws(
            "/graphql", http, subprotocols=["graphql-transport-ws"], headers=headers
        ) as ws:
            await ws.send_json({"type": "connection_init"})
            assert (await ws.receive_json())["type"] == "connection_ack"
        with pytest.raises(Exception):  # noqa: B017 - the handshake itself is refused
            async with aconnect_ws(
                "/graphql",
                http,
                subprotocols=["graphql-transport-ws"],
                headers={"origin": "http://portal.internal:9001"},
            ) as ws:
                await ws.send_json({"type": "connection_init"})
                await ws.receive_json()


DATABASE_URLS = [
    "sqlite://var/portico.sqlite3",
    "sqlite:///abs/path.sqlite3",
    "sqlite://:memory:",
    "sqlite://",
    "sqlite://;x",
    "sqlite://db.sqlite3?journal_size_limit=abc",
    "sqlite://db.sqlite3?journal_size_limit=1024&install_regexp_functions=yes",
    "SQLITE://db.sqlite3",
    "postgres://user:pass@host:5432/portico",
    "postgresql://user:pass@host/portico",
    "asyncpg://host/portico",
    "postgres://host",
    "postgres://host:port/portico",
    "postgres://host:70000/portico",
    "postgres://us[er:pa]ss@host/portico",
    "postgres://user:pass@[::1]:5432/portico",
    "postgres://user:pass@[::1/portico",
    "postgres://host/portico?min_size=2&max_inactive_connection_lifetime=0.5",
    "postgres://host/portico?max_size=many",
    "postgres://host/portico?max_inactive_connection_lifetime=soon",
    "postgres://host/portico?sslmode=require",
    "psycopg://host/portico",
    "mysql://db/portico",
    "portico.sqlite3",
    "",
]


@pytest.mark.parametrize("url", DATABASE_URLS)
def test_database_urls_are_read_as_tortoise_reads_them(url: str) -> None:
    """The settings check DATABASE_URL without importing Tortoise: a URL passes exactly when
    Tortoise would open it with SQLite or asyncpg."""
    from tortoise.backends.base.config_generator import expand_db_url

    from server.settings import tortoise_reads

    try:
        engine = expand_db_url(url)["engine"]
    except Exception:
        engine = ""
    opened = engine in {"tortoise.backends.sqlite", "tortoise.backends.asyncpg"}
    assert tortoise_reads(url) is opened
    refused = "DATABASE_URL" in " ".join(_problems({"DATABASE_URL": url} if url else {}))
    assert refused is not (opened or not url)


def _problems(variables: dict[str, str]) -> list[str]:
    try:
        Settings.from_env({"PORTICO_VAR_DIR": "/nonexistent", **variables})
    except ConfigurationError as refused:
        return refused.problems
    return []


@pytest.mark.parametrize(
    "origin",
    [
        "https://Portal.Example.com:443",
        "http://localhost:8000/",
        "HTTP://127.0.0.1:80",
        "https://[::1]:8443",
        "https://[",
        "https://host:99999",
        "null",
        "portal.example.com",
        "  https://portal.example.com  ",
    ],
)
def test_origins_are_spelled_as_strawberry_spells_them(origin: str) -> None:
    """PORTICO_ALLOWED_ORIGINS is normalized without strawberry, as strawberry normalizes the
    websocket handshake's origins: the same origins are allowed on either path."""
    from strawberry.http.websocket_origin import normalize_origin as strawberrys

    from server.origins import normalize_origin

    assert normalize_origin(origin) == strawberrys(origin)
