"""Event fan-out: in memory for one process, Redis pub/sub across workers and hosts.

Subscribers in a process share one hub; Redis adds one connection per process, not per
subscriber. Delivery is best-effort by design: every event is also in the database, and a
subscriber told to RESYNC (after an outage or when it falls behind) reads what it missed there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Final, Protocol

logger = logging.getLogger("portico.broker")

RESYNC: Final = "resync"
QUEUE_LIMIT = 1000

Message = dict[str, Any] | str


class Broker(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, channel: str, message: dict[str, Any]) -> None: ...
    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[Subscription]: ...


class Subscription:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Message] = asyncio.Queue(QUEUE_LIMIT)

    def offer(self, message: Message) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # A consumer this far behind catches up from the database instead.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)

    async def next(self, within: float | None = None) -> Message | None:
        """The next message, or None when `within` seconds pass without one."""
        try:
            async with asyncio.timeout(within):
                return await self.queue.get()
        except TimeoutError:
            return None


class Hub:
    """The subscribers of one process, by channel."""

    def __init__(self) -> None:
        self._channels: dict[str, set[Subscription]] = defaultdict(set)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        self._channels[channel].add(subscription)
        try:
            yield subscription
        finally:
            self._channels[channel].discard(subscription)
            if not self._channels[channel]:
                del self._channels[channel]

    def dispatch(self, channel: str, message: Message) -> None:
        for subscription in tuple(self._channels.get(channel, ())):
            subscription.offer(message)

    def resync_all(self) -> None:
        for subscriptions in tuple(self._channels.values()):
            for subscription in tuple(subscriptions):
                subscription.offer(RESYNC)

    def subscriber_count(self, channel: str | None = None) -> int:
        if channel is not None:
            return len(self._channels.get(channel, ()))
        return sum(len(subs) for subs in self._channels.values())


class MemoryBroker:
    def __init__(self) -> None:
        self.hub = Hub()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.hub.dispatch(channel, message)

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[Subscription]:
        return self.hub.subscribe(channel)


class RedisBroker:
    PREFIX = "portico:"

    def __init__(self, url: str, *, retry_seconds: float = 1.0) -> None:
        from redis import asyncio as redis

        self.hub = Hub()
        self._redis = redis.from_url(url, socket_connect_timeout=2, health_check_interval=10)
        self._retry_seconds = retry_seconds
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read_forever())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._redis.aclose()

    async def wait_connected(self, within: float) -> bool:
        try:
            async with asyncio.timeout(within):
                await self._connected.wait()
        except TimeoutError:
            return False
        return True

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        data = json.dumps(message)
        for attempt in range(2):
            try:
                await self._redis.publish(self.PREFIX + channel, data)
                return
            except Exception as exc:  # a pooled connection may predate a Redis restart
                error = exc
                if attempt == 0:
                    continue
        logger.warning("Redis publish failed (%s); delivering to this worker only", error)
        self.hub.dispatch(channel, message)

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[Subscription]:
        return self.hub.subscribe(channel)

    async def _read_forever(self) -> None:
        while True:
            try:
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost or refused: retry, never give up
                if self._connected.is_set():
                    logger.warning("Redis connection lost (%s); retrying", exc)
                self._connected.clear()
                self.hub.resync_all()
                await asyncio.sleep(self._retry_seconds)

    async def _read(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.psubscribe(self.PREFIX + "*")
            self._connected.set()
            # Whatever was published while we were away is in the database.
            self.hub.resync_all()
            async for item in pubsub.listen():
                if item["type"] == "pmessage":
                    channel = item["channel"].decode().removeprefix(self.PREFIX)
                    self.hub.dispatch(channel, json.loads(item["data"]))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()


_current: Broker = MemoryBroker()


def broker_from_url(redis_url: str) -> Broker:
    return RedisBroker(redis_url) if redis_url else MemoryBroker()


def install(broker: Broker) -> None:
    global _current
    _current = broker


def current() -> Broker:
    return _current
