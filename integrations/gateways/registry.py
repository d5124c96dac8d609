"""The gateways this process can charge through, by name; set up once by the composition root
(`server.app`, the CLI) and looked up per organization."""

from __future__ import annotations

from integrations.gateways.base import Gateway

_gateways: dict[str, Gateway] = {}


def install(*gateways: Gateway) -> None:
    for gateway in gateways:
        _gateways[gateway.name] = gateway


def gateway(name: str) -> Gateway:
    try:
        return _gateways[name]
    except KeyError:
        raise LookupError(f"No payment gateway {name!r} is configured") from None
