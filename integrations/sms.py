"""Text messages behind one small interface, so a provider's adapter plugs in without touching
the code that sends. The default writes each message to the log (logger `portico.sms`)
instead of sending it, as the console mailer does for email."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger("portico.sms")

DEFAULT_SMS_URL = "log"


class SmsConfigurationError(ValueError):
    pass


class SmsSender(Protocol):
    async def send(self, to: str, text: str) -> None: ...


class LogSmsSender:
    async def send(self, to: str, text: str) -> None:
        logger.info("SMS to %s: %s", to, text)


# By URL scheme: a provider's adapter registers its own (e.g. "twilio" for "twilio://...").
SENDERS: dict[str, Callable[[str], SmsSender]] = {"log": lambda url: LogSmsSender()}

_sender: SmsSender = LogSmsSender()


def sender_from_url(url: str) -> SmsSender:
    scheme = url.strip().split(":", 1)[0].lower()
    factory = SENDERS.get(scheme)
    if factory is None:
        raise SmsConfigurationError(f"unknown SMS sender {scheme!r}; use one of {sorted(SENDERS)}")
    return factory(url)


def install(sender: SmsSender) -> None:
    global _sender
    _sender = sender


def current() -> SmsSender:
    return _sender
