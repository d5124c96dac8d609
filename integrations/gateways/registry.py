"""The gateways this process can charge through, by name; set up once by the composition root
(`server.app`, the CLI) and looked up per organization."""

from __future__ import annotations

from integrations.gateways.base import Gateway
from integrations.gateways.metered import MeteredGateway

# Metered (integrations.gateways.metered): every call through the interface is counted and traced.
_gateways: dict[str, MeteredGateway] = {}


def install(*gateways: Gateway) -> None:
    for gateway in gateways:
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
