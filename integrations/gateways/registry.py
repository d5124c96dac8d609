"""The gateways this process can charge through, by name; set up once by the composition root
(`server.app`, the CLI) and looked up per organization."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry.trace import SpanKind

from integrations import tracing
from integrations.gateways.base import Gateway
from integrations.gateways.metered import MeteredGateway

# Metered (integrations.gateways.metered): every call through the interface is counted.
_gateways: dict[str, MeteredGateway] = {}

# The calls that go to the gateway (parse_webhook only reads what was sent to Portico).
GATEWAY_CALLS = (
    "describe",
    "charge",
    "lookup",
    "lookup_or_cancel",
    "refund",
    "lookup_or_cancel_refund",
)


def install(*gateways: Gateway) -> None:
    for gateway in gateways:
        if tracing.tracer is not None:
            _trace_calls(gateway)
        _gateways[gateway.name] = MeteredGateway(gateway)


def gateway(name: str) -> MeteredGateway:
    try:
        return _gateways[name]
    except KeyError:
        raise LookupError(f"No payment gateway {name!r} is configured") from None


def adapter(name: str) -> Gateway:
    """The adapter itself, for what it offers besides the interface (the test gateway's
    settling); LookupError when none has the name."""
    return gateway(name).gateway


def _trace_calls(gateway: Gateway) -> None:
    """Each call a span of its own, named by gateway and call, with the outcome's status. On the
    instance, so that it stays what it is (the test gateway's extras, isinstance checks). The
    arguments (tokens, keys, amounts) are left out."""
    for call in GATEWAY_CALLS:
        method = getattr(gateway, call, None)
        if method is not None:
            setattr(gateway, call, _spanned(gateway.name, call, method))


def _spanned(
    name: str, call: str, method: Callable[..., Awaitable[Any]]
) -> Callable[..., Awaitable[Any]]:
    attributes = {"portico.gateway.name": name, "portico.gateway.call": call}

    @functools.wraps(method)
    async def traced_call(*args: Any, **kwargs: Any) -> Any:
        with tracing.span(
            f"gateway {name} {call}", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            answer = await method(*args, **kwargs)
            status = getattr(answer, "status", None)
            if span is not None and status is not None:
                span.set_attribute("portico.gateway.status", str(status))
            return answer

    return traced_call
