"""A gateway that counts its calls, by outcome, for `portico_gateway_calls` (integrations.metrics).
The registry hands these out, so every call Portico makes to a gateway is counted."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from integrations import metrics
from integrations.gateways.base import (
    Charge,
    Gateway,
    GatewayError,
    InvalidToken,
    MethodDetails,
    Refund,
    WebhookEvent,
)


class MeteredGateway:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.name = gateway.name

    async def describe(self, token: str) -> MethodDetails:
        return await self._call("describe", self.gateway.describe, token)

    async def charge(self, **charge: Any) -> Charge:
        return await self._call("charge", functools.partial(self.gateway.charge, **charge))

    async def lookup_or_cancel(self, key: str) -> Charge:
        return await self._call("lookup_or_cancel", self.gateway.lookup_or_cancel, key)

    async def lookup(self, key: str) -> Charge | None:
        return await self._call("lookup", self.gateway.lookup, key)

    async def refund(self, **refund: Any) -> Refund:
        return await self._call("refund", functools.partial(self.gateway.refund, **refund))

    async def lookup_or_cancel_refund(self, key: str) -> Refund:
        return await self._call(
            "lookup_or_cancel_refund", self.gateway.lookup_or_cancel_refund, key
        )

    def parse_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        return self.gateway.parse_webhook(headers, body)

    def __getattr__(self, name: str) -> Any:
        # What a gateway offers besides the interface (the test gateway's ledger, its
        # signed webhooks) is its own business.
        return getattr(self.gateway, name)

    async def _call(self, call: str, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        try:
            answer = await method(*args)
        except InvalidToken:
            self._count(call, "invalid_token")
            raise
        except GatewayError:
            self._count(call, "unreachable")
            raise
        except Exception:
            self._count(call, "error")
            raise
        status = getattr(answer, "status", None)
        self._count(call, status.lower() if status else "ok")
        return answer

    def _count(self, call: str, outcome: str) -> None:
        metrics.GATEWAY_CALLS.labels(self.name, call, outcome).inc()
