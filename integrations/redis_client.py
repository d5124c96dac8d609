"""The Redis client Portico's shared state uses (live events, query budgets): one that gives up
within `timeout` and never retries by itself, because each user has its own circuit that decides
when Redis is tried again, falling back to this process meanwhile."""

from __future__ import annotations

from redis import asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def failing_fast(url: str, timeout: float) -> redis.Redis:
    return redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )
