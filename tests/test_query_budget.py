"""Partners' query budgets: each operation's cost, its maximum and the API key's bucket."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine

from integrations.query_budgets import Charge, Rate
from integrations.redis_budgets import RedisBudgets
from server.settings import ConfigurationError, Settings
from tests.conftest import World, app_client, error_codes, gql
from tests.services import RedisServer

SMALL = "{ customers(first: 5) { totalCount nodes { id displayName } } }"
# 1 for the connection, 100 edges with a node each, 100 nodes: 301 points, three times.
EXPENSIVE = """{
  a: customers(first: 100) { edges { node { id } } nodes { id } }
  b: customers(first: 100) { edges { node { id } } nodes { id } }
  c: customers(first: 100) { edges { node { id } } nodes { id } }
}"""
# 1 + 100 rows of (edge 1 + node 1 + sharedFiles 1 + 10 files): 1,301 points.
TOO_COSTLY = """query ($files: Int = 10) {
  customers(first: 100) {
    edges { node { displayName sharedFiles(first: $files) { nodes { id } } } }
  }
}"""


async def post(client: httpx.AsyncClient, query: str, token: str, **variables: Any):
    return await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_a_partner_is_told_what_each_query_cost_and_what_is_left(
    client: httpx.AsyncClient, world: World
) -> None:
    body = await gql(client, SMALL, token=world.tokens["partner"])
    assert "errors" not in body
    # customers 1, nodes 5 rows of 1.
    assert body["extensions"]["cost"] == {
        "requested": 6,
        "maxCost": 1000,
        "limit": 10_000,
        "remaining": 9_994,
        "refillRate": 100,
    }


async def test_fragments_and_variables_count_and_nested_pages_multiply(
    client: httpx.AsyncClient, world: World
) -> None:
    query = """
      query ($first: Int, $files: Int = 3) { customers(first: $first) { ...Page } }
      fragment Page on CustomerConnection {
        pageInfo { hasNextPage }
        nodes { ... on Customer { sharedFiles(first: $files) { nodes { id } } } }
      }"""

    async def cost(**variables: Any) -> int:
        response = await post(client, query, world.tokens["partner"], **variables)
        return response.json()["extensions"]["cost"]["requested"]

    # customers 1 + pageInfo 1 + rows * (node 1 + sharedFiles 1 + files).
    assert await cost(first=4) == 1 + 1 + 4 * (2 + 3)
    assert await cost(first=4, files=10) == 1 + 1 + 4 * (2 + 10)
    assert await cost() == 1 + 1 + 20 * (2 + 3)  # a page is 20 rows unless `first` says
    assert await cost(first=5000) == 1 + 1 + 100 * (2 + 3)  # and never more than 100


async def test_an_operation_over_the_maximum_is_refused_before_anything_runs(
    client: httpx.AsyncClient, world: World, count_queries
) -> None:
    token = world.tokens["customer_key"]  # every scope: its documents' files too
    await gql(client, "{ __typename }", token=token)  # signing in with the key alone
    count_queries.reset()
    await gql(client, "{ __typename }", token=token)
    signing_in = count_queries.count
    count_queries.reset()

    body = await gql(client, TOO_COSTLY, token=token)

    assert body["data"] is None
    assert error_codes(body) == ["QUERY_TOO_COSTLY"]
    error = body["errors"][0]
    assert "1,301" in error["message"]
    assert error["extensions"]["cost"] == 1301
    assert count_queries.count == signing_in
    assert count_queries.touching("customer") == 0
    # Nothing was charged for it.
    assert body["extensions"]["cost"]["requested"] == 1301
    assert body["extensions"]["cost"]["remaining"] == 10_000

    # The same document with smaller pages runs.
    smaller = await post(client, TOO_COSTLY, token, files=5)
    assert "errors" not in smaller.json()
    assert len(smaller.json()["data"]["customers"]["edges"]) == 1  # its own customer
    assert smaller.json()["extensions"]["cost"]["requested"] == 1 + 100 * 8


async def test_the_key_budget_runs_out_and_refills_over_time(
    client: httpx.AsyncClient, world: World
) -> None:
    token = world.tokens["partner"]
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        for spent in range(1, 12):
            body = await gql(client, EXPENSIVE, token=token)
            assert "errors" not in body
            assert body["extensions"]["cost"]["remaining"] == 10_000 - spent * 903

        refused = await post(client, EXPENSIVE, token)
        assert refused.status_code == 429
        # 67 points left; 836 more take 8.36 seconds at 100 a second.
        assert refused.headers["Retry-After"] == "9"
        body = refused.json()
        assert body["data"] is None
        assert error_codes(body) == ["BUDGET_EXHAUSTED"]
        assert body["extensions"]["cost"]["remaining"] == 67

        # A cheap query still fits, and another key's budget is its own.
        assert "errors" not in await gql(client, SMALL, token=token)
        other = await gql(client, EXPENSIVE, token=world.tokens["customer_key"])
        assert other["extensions"]["cost"]["remaining"] == 10_000 - 903

        clock.shift(timedelta(seconds=9))
        body = await gql(client, EXPENSIVE, token=token)
        assert "errors" not in body
        assert body["extensions"]["cost"]["remaining"] == 61 + 900 - 903

        clock.shift(timedelta(hours=1))
        body = await gql(client, SMALL, token=token)
        assert body["extensions"]["cost"]["remaining"] == 10_000 - 6


async def test_staff_and_contacts_are_neither_costed_nor_limited(
    client: httpx.AsyncClient, world: World
) -> None:
    body = await gql(client, TOO_COSTLY, token=world.tokens["admin"])
    assert "errors" not in body
    assert len(body["data"]["customers"]["edges"]) == 2
    assert "cost" not in (body.get("extensions") or {})

    contact = await gql(client, "{ __typename }", token=world.tokens["contact_a"])
    assert "cost" not in (contact.get("extensions") or {})


async def test_workers_share_a_key_budget_through_redis_and_keep_their_own_while_it_hangs(
    redis: RedisServer,
) -> None:
    rate = Rate(capacity=1000, refill_per_second=10)
    first = RedisBudgets(redis.url, rate, timeout=0.3, retry_seconds=0)
    second = RedisBudgets(redis.url, rate, timeout=0.3, retry_seconds=0)
    try:
        with time_machine.travel(datetime.now(UTC), tick=False) as clock:
            assert await first.charge("api-key:1", 600) == Charge(True, 400, 0.0)
            assert await second.charge("api-key:1", 600) == Charge(False, 400, 20.0)
            assert (await second.charge("api-key:2", 600)).allowed  # another key's own
            clock.shift(timedelta(seconds=20))
            assert await second.charge("api-key:1", 600) == Charge(True, 0, 0.0)

            redis.freeze()
            try:
                started = time.monotonic()
                # Redis does not answer: each worker charges a bucket of its own.
                assert await first.charge("api-key:1", 600) == Charge(True, 400, 0.0)
                assert time.monotonic() - started < 2
            finally:
                redis.thaw()
            assert await first.charge("api-key:1", 600) == Charge(False, 0, 60.0)
    finally:
        await first.close()
        await second.close()


async def test_a_budget_of_zero_costs_and_limits_nothing(db: Settings, world: World) -> None:
    async with app_client(db, api_key_budget=0) as http:
        for _ in range(12):
            body = await gql(http, EXPENSIVE, token=world.tokens["partner"])
            assert "errors" not in body
            assert "extensions" not in body
        assert "errors" not in await gql(http, TOO_COSTLY, token=world.tokens["customer_key"])


async def test_the_budget_and_its_refill_are_configured_by_environment(monkeypatch) -> None:
    monkeypatch.setenv("PORTICO_API_KEY_BUDGET", "50000")
    monkeypatch.setenv("PORTICO_API_KEY_BUDGET_REFILL", "250")
    settings = Settings.from_env()
    assert (settings.api_key_budget, settings.api_key_budget_refill) == (50_000, 250)
    for name, value in (("PORTICO_API_KEY_BUDGET", "999"), ("PORTICO_API_KEY_BUDGET_REFILL", "0")):
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env()
        monkeypatch.delenv(name)
