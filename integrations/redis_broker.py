"""Events shared between workers and hosts through Redis pub/sub, trusted only while Redis
answers promptly.

A Redis that hangs (a frozen process, a network that drops packets) is treated like one that
died, behind a circuit breaker:

- closed (`live`): events are published to Redis, each command given `timeout` seconds, and the
  subscriber connection is pinged whenever it has been quiet for a second;
- open: the first failure or unanswered ping opens it. Nothing waits on Redis any more: events
  go straight to this process's subscribers, and every subscriber catches up from the database
  once a second (every event is written there before it is published). In the background the
  connection is tried again once a second;
- when Redis answers again the circuit closes, subscribers catch up once more and live delivery
  resumes. A process that delivered events only to itself meanwhile tells the other processes to
  catch up too, since their subscribers may have stopped looking in the database before it came
  back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Final

from redis import asyncio as redis
from redis.exceptions import RedisError

from integrations.broker import DEFAULT_TIMEOUT_SECONDS, Hub, Subscription
from integrations.redis_client import failing_fast

logger = logging.getLogger("portico.broker")

# A quiet subscriber connection is pinged after this long, so a Redis that stopped answering
# is noticed within HEARTBEAT_SECONDS plus the timeout.
HEARTBEAT_SECONDS: Final = 1.0
# How often Redis is tried again while it is away, and how often subscribers meanwhile read
# the database: the README promises every second.
RETRY_SECONDS: Final = 1.0

PREFIX: Final = "portico:"
# Not an organization's channel (those are `org.<id>`): tells every process to catch up.
CATCH_UP_CHANNEL: Final = "catch-up"

# OSError covers TimeoutError and refused or reset connections.
FAILURES: Final = (RedisError, OSError)


class RedisUnresponsive(RedisError):
    pass


class RedisBroker:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.hub = Hub()
        self.live = False
        self._timeout = timeout
        self._retry_seconds = retry_seconds
        self._redis = failing_fast(url, timeout)
        self._reader: asyncio.Task[None] | None = None
        self._reported_down = False
        self._delivered_alone = False

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._keep_listening())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._redis.aclose()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Never waits on Redis for more than the timeout, and not at all while it is away."""
        if self.live:
            try:
                async with asyncio.timeout(self._timeout):
                    await self._redis.publish(PREFIX + channel, json.dumps(message))
                return
            except FAILURES as exc:
                self._open(exc)
        self._delivered_alone = True
        self.hub.dispatch(channel, message)

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[Subscription]:
        return self.hub.subscribe(channel)

    async def _keep_listening(self) -> None:
        loop = asyncio.get_running_loop()
        next_attempt = loop.time()
        while True:
            await asyncio.sleep(max(0.0, next_attempt - loop.time()))
            if not self.live:
                self.hub.resync_all()  # the database is the only news while Redis is away
            started = loop.time()
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # whatever ended the relay, Redis is tried afresh
                self._open(exc)
            # Once a second: failed attempts keep the pace, the end of a long relay starts it.
            ended = loop.time()
            paced = started + self._retry_seconds
            next_attempt = paced if ended < paced else ended + self._retry_seconds

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            async with asyncio.timeout(self._timeout):
                await pubsub.psubscribe(PREFIX + "*")
                await _confirmed(pubsub)
                await self._redis.ping()  # the connections that publish answer too
            await self._close()
            await self._relay(pubsub)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _relay(self, pubsub: redis.client.PubSub) -> None:
        """Hands what Redis sends to the subscribers until Redis stops answering or a
        publish fails (then the circuit is open and the connection is tried afresh)."""
        loop = asyncio.get_running_loop()
        heard = loop.time()
        pinged = False
        while self.live:
            quiet = loop.time() - heard
            if pinged and quiet >= HEARTBEAT_SECONDS + self._timeout:
                raise RedisUnresponsive(f"no answer to a ping within {self._timeout:g} s")
            if not pinged and quiet >= HEARTBEAT_SECONDS:
                await pubsub.ping()
                pinged = True
            due = HEARTBEAT_SECONDS + (self._timeout if pinged else 0.0)
            item = await pubsub.get_message(timeout=max(0.0, due - quiet))
            if item is None:
                continue
            heard, pinged = loop.time(), False
            if item["type"] == "pmessage":
                self._deliver(item["channel"].decode().removeprefix(PREFIX), item["data"])

    def _deliver(self, channel: str, data: bytes) -> None:
        if channel == CATCH_UP_CHANNEL:
            self.hub.resync_all()
        else:
            self.hub.dispatch(channel, json.loads(data))

    def _open(self, error: BaseException) -> None:
        if not self._reported_down:
            logger.warning(
                "Redis is not answering (%s); live events go through the database until it does",
                self._describe(error),
            )
            self._reported_down = True
        if self.live:
            self.live = False
            self.hub.resync_all()

    async def _close(self) -> None:
        if self._reported_down:
            logger.warning("Redis answers again; live events go through it")
            self._reported_down = False
        self.live = True
        # Whatever was published while we were away is in the database.
        self.hub.resync_all()
        if self._delivered_alone:
            self._delivered_alone = False
            await self.publish(CATCH_UP_CHANNEL, {})

    def _describe(self, error: BaseException) -> str:
        if isinstance(error, TimeoutError):
            return f"no answer within {self._timeout:g} s"
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


async def _confirmed(pubsub: redis.client.PubSub) -> None:
    """Waits for Redis to confirm the subscription: a connection is not proof it answers."""
    while (await pubsub.get_message(timeout=None))["type"] != "psubscribe":
        pass
