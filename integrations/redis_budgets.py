"""API keys' query budgets kept in Redis, shared by every worker and host
(integrations.query_budgets has the arithmetic and the buckets of one process).

Redis is trusted only while it answers promptly, like the event broker
(integrations.redis_broker): each call gets `timeout` seconds; the first failure opens the
circuit, and for `retry_seconds` each worker charges a bucket of its own in memory (so a key
may spend up to one budget per worker while Redis is away) before Redis is tried again.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Final

from redis.exceptions import RedisError

from integrations.query_budgets import Charge, MemoryBudgets, Rate
from integrations.redis_client import failing_fast

logger = logging.getLogger("portico.query_budgets")

PREFIX: Final = "portico:budget:"
RETRY_SECONDS: Final = 1.0
# OSError covers TimeoutError and refused or reset connections.
FAILURES: Final = (RedisError, OSError)


# The same arithmetic as Rate.settle, atomic in Redis, in whole milliseconds (Lua keeps 14
# digits of a number it stores). The caller's clock is used, so that all workers agree as far
# as their clocks do; a bucket expires once it would be full again.
_SETTLE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
if now > at then tokens = math.min(capacity, tokens + (now - at) * rate / 1000) end
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


class RedisBudgets:
    """Buckets shared by every worker, falling back to this process's own while Redis is away."""

    def __init__(
        self, url: str, rate: Rate, *, timeout: float, retry_seconds: float = RETRY_SECONDS
    ) -> None:
        self.rate = rate
        self._redis = failing_fast(url, timeout)
        self._settle = self._redis.register_script(_SETTLE)
        self._alone = MemoryBudgets(rate)
        self._retry_seconds = retry_seconds
        self._away_until = 0.0

    @property
    def live(self) -> bool:
        return time.monotonic() >= self._away_until

    async def charge(self, key: str, cost: int) -> Charge:
        if not self.live:
            return self._alone.charge_now(key, cost)
        now_ms = int(time.time() * 1000)
        try:
            allowed, tokens = await self._settle(
                keys=[PREFIX + key],
                args=[self.rate.capacity, self.rate.refill_per_second, now_ms, cost],
            )
        except FAILURES as exc:
            logger.warning(
                "Redis is unreachable (%s): query budgets are kept per worker for %.0f s",
                exc,
                self._retry_seconds,
            )
            self._away_until = time.monotonic() + self._retry_seconds
            return self._alone.charge_now(key, cost)
        left = float(tokens)
        wait = 0.0 if allowed else (cost - left) / self.rate.refill_per_second
        return Charge(bool(allowed), math.floor(left), wait)

    async def close(self) -> None:
        await self._redis.aclose()
