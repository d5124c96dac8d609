"""/metrics: refused without its token, absent without configuration; the counters that move
with requests, errors, websockets, payments and the outbox; several processes added up."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from httpx_ws.transport import ASGIWebSocketTransport
from prometheus_client.multiprocess import mark_process_dead
from prometheus_client.parser import text_string_to_metric_families

from integrations import broker
from models.outbox import OutboxMessage
from resolvers import activity, persisted_queries
from server.app import create_app
from server.settings import Settings
from tests import graphql_ws
from tests.conftest import World, app_client, gql, until

TOKEN = "metrics-token-0123456789abcdef"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}
ROOT = Path(__file__).resolve().parents[1]
SUBSCRIBE = "subscription Live { portalActivity { cursor } }"


@contextlib.asynccontextmanager
async def metered(settings: Settings, **changes: object) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings, metrics_token=TOKEN, **changes) as http:
        yield http


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, frozenset], float]:
    response = await http.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


OPERATIONS = "portico_graphql_operation_duration_seconds_count"


async def test_metrics_are_absent_unless_configured_and_refused_without_the_token(
    db: Settings,
) -> None:
    async with app_client(db) as http:
        assert (await http.get("/metrics", headers=SCRAPER)).status_code == 404
    async with metered(db) as http:
        assert (await http.get("/metrics")).status_code == 401
        for wrong in ("Bearer nope", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN):
            refused = await http.get("/metrics", headers={"Authorization": wrong})
            assert refused.status_code == 401 and "portico_" not in refused.text
        assert (await http.get("/metrics", headers=SCRAPER)).status_code == 200


async def test_requests_operations_and_error_codes_are_counted(db: Settings, world: World) -> None:
    registered = "query Registered { customers(first: 1) { totalCount } }"
    await persisted_queries.register(registered)
    async with metered(db) as http:
        before = await scrape(http)
        await gql(http, registered, token=world.tokens["staff"])
        await gql(
            http, "query Stranger123 { customers { totalCount } }", token=world.tokens["staff"]
        )
        await gql(http, "{ customers { totalCount } }")  # refused: UNAUTHENTICATED
        after = await scrape(http)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(OPERATIONS, operation="Registered", type="query") == 1
    # An unregistered name makes no series of its own: it is "other", as a refused one is.
    assert moved(OPERATIONS, operation="other", type="query") == 2
    assert not any(("operation", "Stranger123") in labels for _, labels in after)
    assert moved("portico_graphql_errors_total", code="UNAUTHENTICATED") == 1
    assert moved("portico_http_requests_total", route="graphql", status="200") == 3
    assert moved("portico_sql_statements_total") > 0


async def test_open_subscriptions_and_delivered_events_follow_a_websocket(
    db: Settings, world: World
) -> None:
    from tests.test_activity import customer_event

    app = create_app(dataclasses.replace(db, metrics_token=TOKEN), manage_database=False)
    hub = broker.current().hub  # type: ignore[attr-defined]
    channel = activity.channel_for(world.org_a.id)
    transport = ASGIWebSocketTransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        before = await scrape(http)
        opened = value(before, "portico_subscriptions_open")
        async with graphql_ws.connect(http, token=world.tokens["staff"]) as ws:
            operation = await ws.subscribe(SUBSCRIBE)

            async def open_now() -> float:
                return value(await scrape(http), "portico_subscriptions_open")

            assert await open_now() == opened + 1
            await until(lambda: hub.subscriber_count(channel) == 1)
            await customer_event(world, world.customer_a)
            assert (await ws.receive())["type"] == "next"
            events = value(await scrape(http), "portico_subscription_events_total")
            assert events - value(before, "portico_subscription_events_total") == 1
            await ws.complete(operation)
            for _ in range(100):
                if await open_now() == opened:
                    break
                await asyncio.sleep(0.02)
            assert await open_now() == opened


async def test_the_outbox_backlog_is_read_at_each_scrape(db: Settings, clock) -> None:
    async with metered(db) as http:
        assert value(await scrape(http), "portico_outbox_pending") == 0
        for number in range(2):
            await OutboxMessage.create(
                message_id=f"<{uuid.uuid4()}@portico>",
                to_address=f"a{number}@example.com",
                subject="Hello",
                next_attempt_at=datetime.now(UTC),
            )
        await OutboxMessage.filter(to_address="a0@example.com").update(
            created_at=datetime.now(UTC) - timedelta(seconds=90)
        )
        samples = await scrape(http)
    assert value(samples, "portico_outbox_pending") == 2
    assert 90 <= value(samples, "portico_outbox_oldest_pending_age_seconds") < 120


async def test_gateway_calls_are_counted_by_outcome(client, db: Settings, world: World) -> None:
    from tests.test_online_payments import invoice, pay

    async with metered(db) as http:
        before = await scrape(http)
    document = await invoice(client, world)
    await pay(client, world, (document, "100"), token="tok_visa")
    async with metered(db) as http:
        after = await scrape(http)
    labels = {"gateway": "test", "call": "charge", "outcome": "succeeded"}
    assert (
        value(after, "portico_gateway_calls_total", **labels)
        - value(before, "portico_gateway_calls_total", **labels)
        == 1
    )


WRITER = """
import sys
from integrations import metrics
metrics.GRAPHQL_ERRORS.labels("FORBIDDEN").inc(int(sys.argv[1]))
metrics.SUBSCRIPTIONS_OPEN.inc(int(sys.argv[1]))
"""


def write_from_two_processes(directory: Path) -> list[int]:
    """Two processes' metrics in `directory`; their ids."""
    for count in (3, 4):
        subprocess.run(
            [sys.executable, "-c", WRITER, str(count)],
            cwd=ROOT,
            env={"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"},
            check=True,
        )
    return [int(f.stem.rsplit("_", 1)[1]) for f in directory.glob("gauge_livesum_*.db")]


@pytest.mark.slow
async def test_several_processes_are_added_up(
    db: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = await asyncio.to_thread(write_from_two_processes, tmp_path)
    assert len(pids) == 2
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    async with metered(db) as http:
        samples = await scrape(http)
        assert value(samples, "portico_graphql_errors_total", code="FORBIDDEN") == 7
        assert value(samples, "portico_subscriptions_open") == 7
        assert value(samples, "portico_outbox_pending") == 0  # from the database, once
        # A worker that stops takes its gauges with it (server.metrics.process_ends); its
        # counters stay counted.
        mark_process_dead(pids[0], str(tmp_path))
        samples = await scrape(http)
    assert value(samples, "portico_subscriptions_open") in (3, 4)
    assert value(samples, "portico_graphql_errors_total", code="FORBIDDEN") == 7


def test_serve_gives_several_workers_a_directory_of_their_own_or_empties_the_given_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.metrics import multiprocess_directory

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with multiprocess_directory(1):
        assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    with multiprocess_directory(2):
        made = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        assert made.is_dir()
    assert not made.exists() and "PROMETHEUS_MULTIPROC_DIR" not in os.environ

    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("kept")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with multiprocess_directory(3):
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)
        assert not (tmp_path / "counter_123.db").exists()
    assert (tmp_path / "notes.txt").exists()
