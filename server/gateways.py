"""The payment gateways a process installs: the server's (server.app) and those of the commands
that reach a gateway (server.cli), apart from the app so that such a command does not import it."""

from __future__ import annotations

from integrations.gateways import registry
from integrations.gateways.test_gateway import TestGateway
from server.settings import Settings


def install_gateways(settings: Settings) -> None:
    registry.install(TestGateway(settings.test_gateway_ledger_path, settings.webhook_secret))
