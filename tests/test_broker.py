"""The Redis broker against a real redis-server that hangs: two brokers stand for two workers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integrations import broker
from integrations.redis_broker import RedisBroker
from server.settings import ConfigurationError, Settings
from tests.conftest import until
from tests.services import RedisServer

TIMEOUT = 0.3


@contextlib.asynccontextmanager
async def workers(redis: RedisServer) -> AsyncIterator[tuple[RedisBroker, RedisBroker]]:
    first, second = RedisBroker(redis.url, timeout=TIMEOUT), RedisBroker(redis.url, timeout=TIMEOUT)
    await first.start()
    await second.start()
    try:
        await until(lambda: first.live and second.live)
        yield first, second
    finally:
        await first.stop()
        await second.stop()


async def received(subscription: broker.Subscription, within: float) -> list[broker.Message]:
    """Everything the subscription gets within the next `within` seconds."""
    messages = []
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        message = await subscription.next(within=left)
        if message is not None:
            messages.append(message)
    return messages


async def publish_timed(worker: RedisBroker, message: dict) -> float:
    started = time.monotonic()
    await worker.publish("org.1", message)
    return time.monotonic() - started


@pytest.mark.slow
async def test_a_frozen_redis_delays_no_publish_and_subscribers_turn_to_the_database(
    redis: RedisServer,
) -> None:
    async with (
        workers(redis) as (first, second),
        first.subscribe("org.1") as there,
        second.subscribe("org.1") as here,
    ):
        await second.publish("org.1", {"n": 1})
        assert await there.next(within=2) == {"n": 1}
        assert await here.next(within=2) == {"n": 1}

        redis.freeze()
        try:
            # The first publish finds out, within the timeout; the next does not even try.
            assert await publish_timed(second, {"n": 2}) < TIMEOUT + 0.2
            assert await publish_timed(second, {"n": 3}) < TIMEOUT / 3
            assert not second.live
            # Its own worker's subscribers still hear of them at once (and are told to catch up).
            assert await received(here, within=0.2) == [broker.RESYNC, {"n": 2}, {"n": 3}]
            # The other worker notices the silence within a heartbeat and a timeout, then its
            # subscribers read the database every second.
            started = time.monotonic()
            assert await there.next(within=2.5) == broker.RESYNC
            assert time.monotonic() - started < 1.0 + 2 * TIMEOUT + 0.5
            assert not first.live
            assert await received(there, within=2.5) == [broker.RESYNC, broker.RESYNC]
        finally:
            redis.thaw()

        await until(lambda: first.live and second.live, within=3)
        await asyncio.sleep(0.5)  # what the frozen Redis still had to deliver
        while await there.next(within=0) is not None:
            pass
        await second.publish("org.1", {"n": 4})
        assert await there.next(within=1) == {"n": 4}


async def test_a_worker_that_published_alone_has_the_others_catch_up_when_redis_returns(
    redis: RedisServer,
) -> None:
    async with workers(redis) as (first, _), first.subscribe("org.1") as there:
        late = RedisBroker(redis.url, timeout=TIMEOUT)
        await late.publish("org.1", {"n": 1})  # before it reached Redis: nobody else heard
        assert await there.next(within=0.3) is None
        await late.start()
        try:
            assert await there.next(within=2) == broker.RESYNC
        finally:
            await late.stop()


@pytest.mark.slow
async def test_a_killed_redis_is_noticed_and_live_delivery_resumes_when_it_restarts(
    redis: RedisServer,
) -> None:
    async with workers(redis) as (first, second), first.subscribe("org.1") as there:
        redis.stop()
        try:
            assert await publish_timed(second, {"n": 1}) < TIMEOUT + 0.2
            assert await there.next(within=2) == broker.RESYNC
        finally:
            redis.start()
        await until(lambda: first.live and second.live, within=3)
        while await there.next(within=0) is not None:
            pass
        await second.publish("org.1", {"n": 2})
        assert await there.next(within=1) == {"n": 2}


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf"])
def test_the_redis_timeout_must_be_a_positive_number_of_seconds(
    value: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PORTICO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("PORTICO_REDIS_TIMEOUT_SECONDS", value)
    with pytest.raises(ConfigurationError, match="PORTICO_REDIS_TIMEOUT_SECONDS"):
        Settings.from_env()
    monkeypatch.setenv("PORTICO_REDIS_TIMEOUT_SECONDS", "0.25")
    assert Settings.from_env().redis_timeout_seconds == 0.25
