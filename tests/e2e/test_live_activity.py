"""Live activity against real `portico serve` processes: one process on SQLite, and two
workers sharing PostgreSQL and a real Redis, including a Redis outage."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

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
from tests.conftest import until
from tests.databases import DemoTemplates, worker_name
from tests.e2e.processes import (
    graphql,
    installed,
    login,
    portal_login,
    portico_env,
    serve,
)
from tests.services import RedisServer

EVENTS = "subscription($after: String) { portalActivity(after: $after) { cursor node { kind } } }"
TOGGLE = """mutation { updatePortalPreferences(input: {activityNotifications: %s}) {
  errors { code } } }"""


def change_preferences(base: str, token: str, value: str) -> None:
    body = graphql(base, TOGGLE % value, token)
    assert body["data"]["updatePortalPreferences"]["errors"] == []


@pytest.fixture(scope="module")
def single(
    tmp_path_factory: pytest.TempPathFactory, demo_templates: DemoTemplates
) -> Iterator[str]:
    env = installed(tmp_path_factory.mktemp("live"), demo_templates)
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
def workers_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workers' PORTICO_VAR_DIR, where their logs are written."""
    return tmp_path_factory.mktemp("workers")


@pytest.fixture(scope="module")
def two_workers(
    workers_dir: Path, demo_templates: DemoTemplates, redis: RedisServer
) -> Iterator[tuple[str, str]]:
    """Two workers of one installation with the demo loaded (tests.databases), as a deploy
    behind a load balancer runs them."""
    name = f"portico_workers_{worker_name()}"
    database_url = demo_templates.postgres_install(workers_dir, name)
    env = portico_env(workers_dir, DATABASE_URL=database_url, REDIS_URL=redis.url)
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


async def test_a_frozen_redis_slows_no_mutation_and_loses_no_event(
    two_workers: tuple[str, str], redis: RedisServer, workers_dir: Path
) -> None:
    first, second = two_workers
    admin = login(second, ADMIN_EMAIL, ADMIN_PASSWORD)
    async with (
        httpx.AsyncClient(base_url=first) as http,
        graphql_ws.connect(http, token=admin, origin=first) as ws,
    ):
        await ws.subscribe(EVENTS)
        await asyncio.sleep(0.3)
        cursors = [await changed_and_heard(second, admin, ws, "BOTH", within=2)]
        recoveries = log_count(workers_dir, "Redis answers again")

        # Redis stops answering, its connections left open. Mutations on either worker stay
        # fast, and the subscriber hears of each within a couple of seconds, once.
        redis.freeze()
        try:
            for base, value in ((second, "NONE"), (second, "EMAIL"), (first, "IN_APP")):
                cursors.append(await changed_and_heard(base, admin, ws, value, within=3))
        finally:
            redis.thaw()

        # Both workers go back to Redis. What the frozen Redis still held arrives late and is
        # dropped as already seen; what happens next arrives live.
        await until(
            lambda: log_count(workers_dir, "Redis answers again") == recoveries + 2, every=0.1
        )
        await ws.expect_silence(2.0)
        cursors.append(await changed_and_heard(second, admin, ws, "BOTH", within=1))
        await ws.expect_silence(1.0)
    assert len(set(cursors)) == len(cursors)
    assert log_count(workers_dir, "Traceback") == 0


SHARED = """subscription($after: String) { portalActivity(after: $after) { cursor node {
  kind excerpt visibleToCustomer documentNumber actor { kind name } } } }"""
NEWEST = "{ activities(first: 1) { edges { cursor } } }"
A_DOCUMENT = "{ salesDocuments(first: 1, filter: {kinds: [INVOICE]}) { nodes { id number } } }"
COMMENT = """mutation { addComment(input: {documentId: "%s", body: "%s", internal: %s}) {
  errors { code } } }"""


@pytest.fixture(params=["single", "two_workers"])
def bases(request: pytest.FixtureRequest) -> list[str]:
    """Where clients connect: one process twice, or each of two workers."""
    if request.param == "single":
        return [request.getfixturevalue("single")] * 2
    return list(request.getfixturevalue("two_workers"))


async def test_identical_subscribers_get_one_frame_and_audiences_stay_apart(
    bases: list[str],
) -> None:
    """Two staff dashboards and two tabs of a Northwind contact on each worker, a Contoso
    contact on one: a staff note on a Northwind invoice reaches staff only, a comment Northwind
    sees reaches staff and Northwind's contact, Contoso hears nothing, and every subscriber of
    one audience receives the same bytes, whichever worker serves it."""
    admin = login(bases[0], ADMIN_EMAIL, ADMIN_PASSWORD)
    maria = portal_login(bases[0], DEMO_PORTAL, CONTACT_EMAIL, CONTACT_PASSWORD)
    priya = portal_login(bases[0], DEMO_PORTAL, SECOND_CONTACT_EMAIL, SECOND_CONTACT_PASSWORD)
    [invoice] = graphql(bases[0], A_DOCUMENT, maria)["data"]["salesDocuments"]["nodes"]
    # From the newest event on, so a subscription that goes live after an event still has it.
    newest = graphql(bases[0], NEWEST, admin)["data"]["activities"]["edges"][0]["cursor"]
    async with contextlib.AsyncExitStack() as stack:
        listeners: dict[str, list[graphql_ws.GraphQLWebSocket]] = {}
        for who, token, copies in (("staff", admin, 2), ("maria", maria, 2), ("priya", priya, 1)):
            for base in bases[: 2 if copies == 2 else 1]:
                http = await stack.enter_async_context(httpx.AsyncClient(base_url=base))
                for _ in range(copies):
                    ws = await stack.enter_async_context(
                        graphql_ws.connect(http, token=token, origin=base)
                    )
                    await ws.subscribe(SHARED, {"after": newest})
                    listeners.setdefault(who, []).append(ws)
        for body, internal in (("Margin is thin on this one", "true"), ("Shipped today", "false")):
            result = graphql(bases[-1], COMMENT % (invoice["id"], body, internal), admin)
            assert result["data"]["addComment"]["errors"] == []

        staff = [[await ws.receive_text() for _ in range(2)] for ws in listeners["staff"]]
        northwind = [[await ws.receive_text()] for ws in listeners["maria"]]
        for ws in listeners["staff"] + listeners["maria"] + listeners["priya"]:
            await ws.expect_silence(0.5)
    assert all(frames == staff[0] for frames in staff)
    assert all(frames == northwind[0] for frames in northwind)
    notes = [json.loads(frame)["payload"]["data"]["portalActivity"]["node"] for frame in staff[0]]
    assert [(n["kind"], n["excerpt"], n["visibleToCustomer"]) for n in notes] == [
        ("COMMENT_ADDED", "Margin is thin on this one", False),
        ("COMMENT_ADDED", "Shipped today", True),
    ]
    assert northwind[0] == staff[0][1:]
    assert all(n["documentNumber"] == invoice["number"] for n in notes)


async def changed_and_heard(
    base: str, token: str, ws: graphql_ws.GraphQLWebSocket, value: str, within: float
) -> str:
    """Changes a preference on `base` within a second; returns the event's cursor."""
    started = time.monotonic()
    change_preferences(base, token, value)
    assert time.monotonic() - started < 1.0
    event = (await ws.receive(within=within))["payload"]["data"]["portalActivity"]
    assert event["node"] == {"kind": "PREFERENCES_CHANGED"}
    return event["cursor"]


def log_count(var_dir: Path, text: str) -> int:
    return sum(log.read_text().count(text) for log in var_dir.glob("serve-*.log"))
