"""The one interface Portico uses to take money: every payment gateway adapter implements it.

Portico never sees card numbers or CVV. The browser hands card or bank details to the gateway
and Portico receives a token; it charges that token with an idempotency key of its own, so a
retried call never charges twice, and it can always ask the gateway what became of a key.
Refunds work the same way, with keys of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class MethodKind(StrEnum):
    CARD = "CARD"
    BANK_ACCOUNT = "BANK_ACCOUNT"


class ChargeStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    # Accepted, the money has not arrived yet (bank debits); a webhook says how it ended.
    PENDING = "PENDING"
    DECLINED = "DECLINED"
    # A temporary failure: the same payment may succeed when the customer tries again.
    TRY_AGAIN = "TRY_AGAIN"
    # The key was cancelled before any charge was made with it; it never will be.
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class MethodDetails:
    """What may be shown and stored about a payment method: never the number itself."""

    kind: MethodKind
    token: str
    last4: str
    brand: str = ""  # cards: visa, mastercard, ...
    exp_month: int | None = None
    exp_year: int | None = None
    bank_name: str = ""  # bank accounts


@dataclass(frozen=True)
class Charge:
    key: str  # Portico's idempotency key for the charge
    status: ChargeStatus
    amount_minor: int
    currency: str
    reference: str = ""  # the gateway's id for the charge; empty when none was made
    failure_reason: str = ""


class RefundStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    # The gateway refused it (e.g. more than is left of the charge); nothing was given back.
    FAILED = "FAILED"
    # The key was cancelled before any refund was made with it; it never will be.
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class Refund:
    key: str  # Portico's idempotency key for the refund
    status: RefundStatus
    amount_minor: int  # what was given back: nothing unless SUCCEEDED
    charge_reference: str = ""
    reference: str = ""  # the gateway's id for the refund; empty when none was made
    failure_reason: str = ""


# As long as Portico stores them (gateway_event.event_id, payment.charge_key).
EVENT_ID_LENGTH = 100
CHARGE_KEY_LENGTH = 64


@dataclass(frozen=True)
class WebhookEvent:
    """An event as a gateway's parser found it; one Portico could not store is refused, even
    when its signature is good, as a payload no charge of Portico's could be about."""

    id: str  # unique per event, however often it is delivered
    type: str
    charge_key: str

    def __post_init__(self) -> None:
        for value, limit in ((self.id, EVENT_ID_LENGTH), (self.charge_key, CHARGE_KEY_LENGTH)):
            if not isinstance(value, str) or not 0 < len(value) <= limit or "\x00" in value:
                raise BadWebhook("event id or charge key missing or out of bounds")


# Gateways name card brands in lower case; receipts show them as printed on the card.
BRAND_NAMES = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
    "diners": "Diners Club",
    "jcb": "JCB",
    "unionpay": "UnionPay",
}


def brand_name(brand: str) -> str:
    return BRAND_NAMES.get(brand.lower(), brand.title())


class GatewayError(Exception):
    """The gateway could not be reached or answered nonsense: the outcome is unknown."""


class InvalidToken(Exception):
    """The token is unknown to the gateway, or expired."""


class BadWebhook(Exception):
    """A webhook whose signature, timestamp or body does not check out."""


class Gateway(Protocol):
    name: str

    async def describe(self, token: str) -> MethodDetails:
        """The details of a tokenized card or bank account; raises InvalidToken."""
        ...

    async def charge(
        self, *, key: str, token: str, amount_minor: int, currency: str, description: str
    ) -> Charge:
        """Charges at most once per key: a repeated key returns the first charge."""
        ...

    async def lookup_or_cancel(self, key: str) -> Charge:
        """What became of a key; a key never charged is cancelled, so it never will be."""
        ...

    async def lookup(self, key: str) -> Charge | None:
        """The charge made with a key, if any, in its current state."""
        ...

    async def refund(self, *, key: str, charge_reference: str, amount_minor: int) -> Refund:
        """Gives back part or all of a succeeded charge, at most once per key: a repeated key
        returns the first answer, a refusal included."""
        ...

    async def lookup_or_cancel_refund(self, key: str) -> Refund:
        """What became of a refund key; a key never used is cancelled, so it never will be."""
        ...

    def parse_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        """A verified event; raises BadWebhook for a bad signature or a stale timestamp."""
        ...
