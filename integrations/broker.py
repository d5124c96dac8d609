"""Event fan-out: in memory for one process, Redis pub/sub across workers and hosts
(integrations.redis_broker).

Subscribers in a process share one hub; Redis adds one connection per process, not per
subscriber. Delivery is best-effort by design: every event is also in the database, and a
subscriber told to RESYNC (after an outage or when it falls behind) reads what it missed there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Final, Protocol

RESYNC: Final = "resync"
QUEUE_LIMIT = 1000
# How long a Redis command or ping may take before Redis counts as unavailable
# (PORTICO_REDIS_TIMEOUT_SECONDS); here, where the settings read it without importing redis.
DEFAULT_TIMEOUT_SECONDS: Final = 0.5

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


_current: Broker = MemoryBroker()


def broker_from_url(redis_url: str, *, timeout: float) -> Broker:
    """Redis when a URL is given (several workers or hosts), else this process alone."""
    if not redis_url:
        return MemoryBroker()
    from integrations.redis_broker import RedisBroker

    return RedisBroker(redis_url, timeout=timeout)


def install(broker: Broker) -> None:
    global _current
    _current = broker


def current() -> Broker:
    return _current
