"""Live activity against real `portico serve` processes: one process on SQLite, and two
workers sharing PostgreSQL and a real Redis, including a Redis outage."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from server.demo import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CONTACT_EMAIL,
    CONTACT_PASSWORD,
    DEMO_PORTAL,
    SECOND_CONTACT_EMAIL,
    SECOND_CONTACT_PASSWORD,
)
from tests import graphql_ws
from tests.e2e.processes import graphql, login, portal_login, portico, portico_env, serve
from tests.services import RedisServer, create_database, redis_server, services_required

EVENTS = "subscription($after: String) { portalActivity(after: $after) { cursor node { kind } } }"
TOGGLE = """mutation { updatePortalPreferences(input: {activityNotifications: %s}) {
  errors { code } } }"""


def change_preferences(base: str, token: str, value: str) -> None:
    body = graphql(base, TOGGLE % value, token)
    assert body["data"]["updatePortalPreferences"]["errors"] == []


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = portico_env(tmp_path_factory.mktemp("live"))
    portico("migrate", env=env)
    portico("demo", env=env)
    with serve(env) as base:
        yield base


async def test_event_from_a_mutation_arrives_and_replays_exactly_once(single: str) -> None:
    admin = login(single, ADMIN_EMAIL, ADMIN_PASSWORD)
    contact = portal_login(single, DEMO_PORTAL, CONTACT_EMAIL, CONTACT_PASSWORD)
    async with httpx.AsyncClient(base_url=single) as http:
        async with (
            graphql_ws.connect(http, token=admin, origin=single) as staff_ws,
            graphql_ws.connect(http, token=contact, origin=single) as contact_ws,
        ):
            await staff_ws.subscribe(EVENTS)
            await contact_ws.subscribe(EVENTS)
            await asyncio.sleep(0.2)
            # Another customer's contact logs in for the first time: staff hear of it,
            # Northwind's contact does not.
            portal_login(single, DEMO_PORTAL, SECOND_CONTACT_EMAIL, SECOND_CONTACT_PASSWORD)
            login_event = (await staff_ws.receive())["payload"]["data"]["portalActivity"]
            assert login_event["node"] == {"kind": "FIRST_LOGIN"}
            change_preferences(single, admin, "BOTH")
            first = (await staff_ws.receive())["payload"]["data"]["portalActivity"]
            assert first["node"] == {"kind": "PREFERENCES_CHANGED"}
            await contact_ws.expect_silence(0.5)  # neither is this customer's business

        # While nobody listens, two more changes happen.
        change_preferences(single, admin, "EMAIL")
        change_preferences(single, admin, "IN_APP")
        async with graphql_ws.connect(http, token=admin, origin=single) as ws:
            await ws.subscribe(EVENTS, {"after": first["cursor"]})
            missed = [await ws.receive() for _ in range(2)]
            assert [m["payload"]["data"]["portalActivity"]["node"]["kind"] for m in missed] == [
                "PREFERENCES_CHANGED",
                "PREFERENCES_CHANGED",
            ]
            await ws.expect_silence(0.5)


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        if server is None:
            if services_required():
                pytest.fail("redis-server is required but not installed")
            pytest.skip("redis-server is not installed")
        yield server


@pytest.fixture(scope="module")
def two_workers(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str | None, redis: RedisServer
) -> Iterator[tuple[str, str]]:
    if postgres_url is None:
        if services_required():
            pytest.fail("PostgreSQL (initdb/pg_ctl) is required but not installed")
        pytest.skip("PostgreSQL is not installed")
    database_url = asyncio.run(create_database(postgres_url, "portico_workers"))
    env = portico_env(
        tmp_path_factory.mktemp("workers"), DATABASE_URL=database_url, REDIS_URL=redis.url
    )
    portico("migrate", env=env)
    portico("demo", env=env)
    with serve(env) as first, serve(env) as second:
        yield first, second


async def test_event_caused_on_one_worker_reaches_a_subscriber_on_another(
    two_workers: tuple[str, str], redis: RedisServer
) -> None:
    first, second = two_workers
    admin = login(second, ADMIN_EMAIL, ADMIN_PASSWORD)
    async with (
        httpx.AsyncClient(base_url=first) as http,
        graphql_ws.connect(http, token=admin, origin=first) as ws,
    ):
        await ws.subscribe(EVENTS)
        await asyncio.sleep(0.3)
        change_preferences(second, admin, "BOTH")
        message = await ws.receive()
        assert message["payload"]["data"]["portalActivity"]["node"] == {
            "kind": "PREFERENCES_CHANGED"
        }

        # Redis goes away: the change still commits and still arrives, once, either from the
        # database while Redis is down or after it is back; nothing twice after it returns.
        redis.stop()
        change_preferences(second, admin, "NONE")
        during = await ws.receive(within=15)
        assert during["payload"]["data"]["portalActivity"]["node"] == {
            "kind": "PREFERENCES_CHANGED"
        }
        redis.start()
        await ws.expect_silence(3.0)
        change_preferences(second, admin, "IN_APP")
        after = await ws.receive(within=15)
        assert after["payload"]["data"]["portalActivity"]["node"] == {"kind": "PREFERENCES_CHANGED"}
        await ws.expect_silence(1.0)
