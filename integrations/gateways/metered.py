"""A gateway that counts its calls, by outcome, for `portico_gateway_calls` (integrations.metrics),
and makes each a span of its own while tracing is on (the arguments, which hold tokens, keys and
amounts, left out). The registry hands these out, so every call Portico makes to a gateway is
counted and traced."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry.trace import SpanKind

from integrations import metrics, tracing
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
        attributes = {"portico.gateway.name": self.name, "portico.gateway.call": call}
        with tracing.span(
            f"gateway {self.name} {call}", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
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
            if span is not None and status is not None:
                span.set_attribute("portico.gateway.status", str(status))
        self._count(call, status.lower() if status else "ok")
        return answer

    def _count(self, call: str, outcome: str) -> None:
        metrics.GATEWAY_CALLS.labels(self.name, call, outcome).inc()
