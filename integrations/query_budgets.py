"""Token buckets of query cost, one per API key: in memory for one process, in Redis across
workers and hosts (integrations.redis_budgets).

A bucket holds up to `capacity` points and refills at `refill_per_second`; an operation takes
its cost from it, or nothing when the bucket holds less (then the caller is told when it will
hold enough). A bucket nobody used is full.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Charge:
    allowed: bool
    # Points left after this charge (or before it, when refused), rounded down.
    remaining: int
    # Seconds until the bucket holds the cost asked for; 0 when it was taken.
    retry_after: float


@dataclass(frozen=True)
class Rate:
    capacity: int
    refill_per_second: float

    def settle(self, tokens: float, at: float, now: float, cost: int) -> tuple[Charge, float]:
        """The charge of `cost` on a bucket that held `tokens` at `at`, and what it holds now."""
        tokens = min(self.capacity, tokens + max(0.0, now - at) * self.refill_per_second)
        if tokens >= cost:
            tokens -= cost
            return Charge(True, math.floor(tokens), 0.0), tokens
        wait = (cost - tokens) / self.refill_per_second
        return Charge(False, math.floor(tokens), wait), tokens


class QueryBudgets(Protocol):
    rate: Rate

    async def charge(self, key: str, cost: int) -> Charge: ...

    async def close(self) -> None: ...


class MemoryBudgets:
    """This process's buckets: enough for one worker, the embedded default."""

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._buckets: dict[str, tuple[float, float]] = {}

    async def charge(self, key: str, cost: int) -> Charge:
        return self.charge_now(key, cost)

    def charge_now(self, key: str, cost: int) -> Charge:
        now = time.time()
        tokens, at = self._buckets.get(key, (float(self.rate.capacity), now))
        charge, tokens = self.rate.settle(tokens, at, now, cost)
        if tokens >= self.rate.capacity:
            self._buckets.pop(key, None)  # a full bucket is the same as none: keep memory bounded
        else:
            self._buckets[key] = (tokens, now)
        return charge

    async def close(self) -> None:
        pass


def budgets_from_url(redis_url: str, rate: Rate, *, timeout: float) -> QueryBudgets:
    """Redis when a URL is given (several workers or hosts), else this process alone."""
    if not redis_url:
        return MemoryBudgets(rate)
    # Only then: importing redis costs a fifth of a second of CPU.
    from integrations.redis_budgets import RedisBudgets

    return RedisBudgets(redis_url, rate, timeout=timeout)
