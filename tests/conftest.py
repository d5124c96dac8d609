from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import time_machine
from strawberry.relay import GlobalID
from tortoise.backends.base.executor import EXECUTOR_CACHE

from auth import passwords, sealing
from auth.api_keys import ApiScope, issue_api_key
from auth.sessions import SessionPolicy, start_session
from integrations.outbox import EmailBody, open_body
from models.customers import ContactPerson, Customer, PortalAccess
from models.organizations import Organization
from models.outbox import OutboxMessage
from models.staff import StaffRole, StaffUser
from pdf import renderer as pdf_renderer
from resolvers import calendars
from server.app import create_app
from server.database import close_database, open_database
from server.settings import Settings
from tests import databases, scheduling
from tests.databases import (
    BACKENDS,
    SQLITE_TEST_OPTIONS,
    DemoTemplates,
    Snapshot,
    Templates,
    worker_name,
)
from tests.services import REDIS, RedisServer, missing, redis_server
from tests.smtp import SmtpServer

PASSWORD = "correct-horse-battery"
T = TypeVar("T")

# The instant every test starts at, unless it sets another with @pytest.mark.clock(...): what
# is due, overdue or expired must not depend on when the suite runs. The organizations of the
# tests keep their days in UTC, so this is their today too.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
TODAY = NOW.date()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=["sqlite", "postgres"],
        help="run on this database only (repeatable); default both",
    )
    parser.addoption(
        "--hour",
        type=time.fromisoformat,
        default=NOW.time(),
        help=f"the time of day (UTC, HH:MM) on {NOW.date()} at which the in-process tests "
        f"start (default {NOW:%H:%M}); tests that set their own clock keep it",
    )


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: one worker more than CPUs. Many tests spend seconds waiting (for a quiet
    websocket, a PDF process, a `portico` process they started), and the extra worker runs
    tests on the CPU they leave idle. PYTEST_XDIST_AUTO_NUM_WORKERS still decides if set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    if hasattr(os, "sched_getaffinity"):  # the CPUs this process may use, in a container too
        return len(os.sched_getaffinity(0)) + 1
    return (os.cpu_count() or 1) + 1


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the run's root: xdist's controller or the only one
        run_dir = databases.begin_run()
        config.add_cleanup(lambda: databases.end_run(run_dir))


@pytest.hookimpl(trylast=True)  # after pytest grouped the tests by backend
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow tests spread over each xdist worker's share (tests.scheduling)."""
    workers = config.workerinput["workercount"] if hasattr(config, "workerinput") else 1
    items[:] = scheduling.spread_slow_over_each_slice(
        items, _is_slow, _runs_with, _database_of, workers
    )


def _runs_with(item: pytest.Item) -> Hashable:
    """The tests of a module that starts something for all of them (a module-scoped fixture:
    servers, an upgraded database) run together; any other test runs on its own."""
    fixtures = item._fixtureinfo.name2fixturedefs.values()  # type: ignore[attr-defined]
    return item.path if any(defs[-1].scope == "module" for defs in fixtures) else item.nodeid


def _database_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("backend") if callspec else None


def _is_slow(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(name) for name in ("slow", "e2e"))


def chosen_backends(config: pytest.Config) -> list[str]:
    return config.getoption("backend") or list(BACKENDS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = chosen_backends(metafunc.config)
        if metafunc.definition.get_closest_marker("any_backend"):
            backends = backends[:1]
        metafunc.parametrize("backend", backends, scope="session")


@contextlib.contextmanager
def collected_logs(level: int) -> Iterator[list[logging.LogRecord]]:
    """Every record this process logs from `level` up while the block runs, whoever logs it
    and however the app sets its handlers' levels."""
    handler = _Collecting(level)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)


class _Collecting(logging.Handler):
    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Coordinates]:
    """The set clock (it ticks on from there); `clock.move_to(...)` moves it."""
    marker = request.node.get_closest_marker("clock")
    start = (
        marker.args[0]
        if marker
        else datetime.combine(NOW.date(), request.config.getoption("hour"), tzinfo=UTC)
    )
    request.node.stash[CLOCK_START] = time_machine.extract_timestamp_tzname(start)
    with time_machine.travel(start, tick=True) as traveller:
        yield traveller


# Where the test's clock started (a timestamp and a time zone), unless a module has a clock of
# its own.
CLOCK_START = pytest.StashKey[tuple[float, str | None]]()


@pytest.fixture(scope="session", autouse=True)
def pdf_workers() -> Iterator[None]:
    """The PDF renderer's pool of processes, started by the first test that renders, serves the
    rest of the session: each start costs its processes' imports, seconds of CPU."""
    yield
    pdf_renderer.shutdown()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free loopback port."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def templates(request: pytest.FixtureRequest) -> Templates:
    """The run's migrated databases, to copy (tests.databases)."""
    return databases.templates(chosen_backends(request.config))


@pytest.fixture(scope="session")
def postgres_templates(request: pytest.FixtureRequest) -> Templates:
    """As `templates`, with PostgreSQL's whichever backends the run chose, for the tests that
    need PostgreSQL itself. The run's workers share its server: name what you make there with
    `worker_name()`."""
    return databases.templates([*chosen_backends(request.config), "postgres"])


@pytest.fixture(scope="session")
def demo_templates() -> DemoTemplates:
    """The run's installations with `portico demo` loaded, to copy (tests.databases); each
    backend's is made when first asked for."""
    return databases.demo_templates()


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    """A real redis-server of the module's own, which its tests may stop, start or freeze."""
    with redis_server() as server:
        if server is None:
            missing(REDIS)
        yield server


@pytest.fixture(scope="session")
async def database(
    backend: str, templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Settings]:
    """One migrated database per backend for the worker's session, emptied after each test."""
    if backend == "postgres":
        url = await templates.postgres_copy(f"portico_{worker_name()}")
    else:
        copy = templates.sqlite_copy(tmp_path_factory.mktemp("sqlite") / "portico.sqlite3")
        url = copy + SQLITE_TEST_OPTIONS
    settings = test_settings(url, tmp_path_factory.mktemp("var"))
    # Tortoise caches compiled SQL per connection name; both backends are called "default".
    EXECUTOR_CACHE.clear()
    await open_database(settings)
    yield settings
    await close_database()


def test_settings(url: str, var_dir: Path) -> Settings:
    return Settings(
        environment="development",
        database_url=url,
        secret_key="t" * 48,
        graphiql=False,
        # The cheapest argon2 the settings accept (8 KiB for each of the 4 lanes): the tests
        # hash and check passwords hundreds of times, and no test is about the cost.
        argon2_time_cost=1,
        argon2_memory_kib=32,
        var_dir=var_dir,
    )


@pytest.fixture
async def db(database: Settings) -> AsyncIterator[Settings]:
    passwords.configure(
        database.argon2_time_cost, database.argon2_memory_kib, database.password_workers
    )
    sealing.configure(database.secret_key)
    yield database
    await databases.empty_tables()
    calendars.forget_all()


@pytest.fixture
def storage_root(tmp_path: Path) -> Path:
    """Where a test's uploaded files go: its own directory, so it can see what is left."""
    return tmp_path / "files"


@pytest.fixture
async def client(db: Settings, storage_root: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(db, files_dir=storage_root) as http:
        yield http


@contextlib.asynccontextmanager
async def app_client(settings: Settings, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the whole app in this process, with `changes` to the test settings."""
    app = create_app(dataclasses.replace(settings, **changes), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    **request: Any,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers, **request
    )
    assert response.status_code == 200, response.text
    return response.json()


async def until(condition: Callable[[], bool], within: float = 5.0, every: float = 0.01) -> None:
    """Returns once `condition()` holds, asked `every` seconds; fails after `within` seconds."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polls what another task or process changes
            await asyncio.sleep(every)


def gid(type_name: str, row: Any) -> str:
    """The global id the API gives a row of that type."""
    return str(GlobalID(type_name, str(row.id)))


def email_body(row: OutboxMessage) -> EmailBody:
    """What the recipient of a queued email will read (the outbox keeps it sealed)."""
    return open_body(row.sealed_body, message_id=row.message_id, to_address=row.to_address)


# A mutation that reaches a use case, for tests that make the use case fail.
CREATE_CUSTOMER = 'mutation { createCustomer(input: {displayName: "X"}) { errors { code } } }'


def fail_customer_creation(monkeypatch: pytest.MonkeyPatch, message: str) -> None:
    """CREATE_CUSTOMER's use case raises an error of the server's own, with `message`: what an
    unexpected failure (a bug, a broken dependency) looks like to the layers above."""
    from resolvers import customers

    async def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(message)

    monkeypatch.setattr(customers, "create_customer", explode)


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


@dataclass
class World:
    """Two organizations with every kind of principal, and their tokens."""

    org_a: Organization
    org_b: Organization
    admin: StaffUser
    staff: StaffUser
    staff_b: StaffUser
    customer_a: Customer
    customer_b: Customer
    customer_other_org: Customer
    contact_a: ContactPerson
    contact_b: ContactPerson
    contact_other_org: ContactPerson
    tokens: dict[str, str]


async def _org(name: str, portal: str) -> Organization:
    return await Organization.create(name=name, portal_name=portal, base_currency="USD")


_password_hash: dict[tuple[int, int], str] = {}


async def _hash_of_password(settings: Settings) -> str:
    """PASSWORD's hash under the test settings, made once: argon2 is slow by design, and
    every person of the world has that password (with the same salt, which no test tells)."""
    costs = (settings.argon2_time_cost, settings.argon2_memory_kib)
    if costs not in _password_hash:
        _password_hash[costs] = await passwords.hash_password(PASSWORD)
    return _password_hash[costs]


async def _staff(org: Organization, email: str, role: StaffRole, password_hash: str) -> StaffUser:
    return await StaffUser.create(
        organization=org,
        email=email,
        name=email.split("@")[0].title(),
        role=role,
        password_hash=password_hash,
    )


async def _customer_with_contact(
    org: Organization, name: str, email: str, password_hash: str
) -> tuple[Customer, ContactPerson]:
    customer = await Customer.create(
        organization=org, display_name=name, email=email, currency="USD", internal_notes="vip"
    )
    contact = await ContactPerson.create(
        organization=org,
        customer=customer,
        first_name=name.split()[0],
        last_name="Contact",
        email=email,
        is_primary=True,
        portal_access=PortalAccess.ACTIVE,
        password_hash=password_hash,
    )
    return customer, contact


@pytest.fixture(scope="session")
def snapshots(database: Settings) -> dict[Hashable, tuple[Any, Snapshot]]:
    """What `copied_once` made in this database, by key. (Another backend's tests may close
    the database and make it anew: these go with it.)"""
    return {}


async def copied_once(
    snapshots: dict[Hashable, tuple[Any, Snapshot]], key: Hashable, make: Callable[[], Awaitable[T]]
) -> T:
    """What `make` returns, with the rows it makes in the emptied database: made by the first
    test that asks for `key`, and put back, ids and all, for the next ones, each of which gets
    its own copy of the value to change. (Made for each test alone when another fixture's rows
    are there already: a copy would take them to other tests.)"""
    if key in snapshots:
        value, snapshot = snapshots[key]
        await databases.fill(snapshot)
        return copy.deepcopy(value)
    if await databases.filled_tables():
        return await make()
    value = await make()
    snapshot = await databases.take_snapshot(f"snapshot_{len(snapshots)}")
    snapshots[key] = (copy.deepcopy(value), snapshot)
    return value


@pytest.fixture
async def world(
    db: Settings, snapshots: dict[Hashable, tuple[Any, Snapshot]], request: pytest.FixtureRequest
) -> World:
    """`make_world`'s world, made once per database and clock start: about twenty rows made
    anew cost each of the tests that ask for it ten milliseconds. Made for the test alone on
    the real clock or a module's own."""
    start = request.node.stash.get(CLOCK_START, None)
    if start is None:
        return await make_world(db)
    return await copied_once(snapshots, ("world", start), lambda: make_world(db))


async def make_world(db: Settings) -> World:
    """The rows and sessions of `World`, made now in the test's database."""
    policy = SessionPolicy.from_settings(db)
    hashed = await _hash_of_password(db)
    org_a, org_b = await _org("Alpha Trading", "alpha"), await _org("Beta Goods", "beta")
    admin = await _staff(org_a, "admin@alpha.example", StaffRole.ADMIN, hashed)
    staff = await _staff(org_a, "staff@alpha.example", StaffRole.STAFF, hashed)
    staff_b = await _staff(org_b, "admin@beta.example", StaffRole.ADMIN, hashed)
    customer_a, contact_a = await _customer_with_contact(
        org_a, "Acorn Ltd", "ann@acorn.example", hashed
    )
    customer_b, contact_b = await _customer_with_contact(
        org_a, "Birch Inc", "bob@birch.example", hashed
    )
    customer_o, contact_o = await _customer_with_contact(
        org_b, "Cedar Co", "cy@cedar.example", hashed
    )
    tokens = {
        "admin": (await start_session(policy, staff_user=admin))[0],
        "staff": (await start_session(policy, staff_user=staff))[0],
        "staff_other_org": (await start_session(policy, staff_user=staff_b))[0],
        "contact_a": (await start_session(policy, contact=contact_a))[0],
        "contact_b": (await start_session(policy, contact=contact_b))[0],
        "contact_other_org": (await start_session(policy, contact=contact_o))[0],
        "partner": (
            await issue_api_key(
                organization_id=org_a.id,
                name="Sync",
                scopes=[ApiScope.CUSTOMERS_READ],
                created_by_id=admin.id,
            )
        )[0],
        "partner_no_scope": (
            await issue_api_key(
                organization_id=org_a.id, name="Empty", scopes=[], created_by_id=admin.id
            )
        )[0],
        # Acorn's own accounts-payable system: every scope, Acorn's rows only.
        "customer_key": (
            await issue_api_key(
                organization_id=org_a.id,
                name="Acorn AP",
                scopes=list(ApiScope),
                created_by_id=admin.id,
                customer_id=customer_a.id,
            )
        )[0],
    }
    return World(
        org_a, org_b, admin, staff, staff_b, customer_a, customer_b, customer_o,
        contact_a, contact_b, contact_o, tokens,
    )  # fmt: skip


class QueryCounter(logging.Handler):
    """Counts SQL statements Tortoise sends, to keep query counts independent of page size."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.count = 0
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.statements.append(record.getMessage())

    def reset(self) -> None:
        self.count = 0
        self.statements.clear()

    def touching(self, table: str) -> int:
        return sum(f'"{table}"' in statement for statement in self.statements)


@pytest.fixture
def count_queries() -> Iterator[QueryCounter]:
    counter = QueryCounter()
    logger = logging.getLogger("tortoise.db_client")
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    yield counter
    logger.removeHandler(counter)
    logger.setLevel(previous)
