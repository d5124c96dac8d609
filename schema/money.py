from __future__ import annotations

from decimal import Decimal

import strawberry

from models.money import format_money, from_minor


@strawberry.type(description="An exact amount in one currency.")
class Money:
    amount: Decimal = strawberry.field(description="In major units, e.g. 12.50.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    _minor: strawberry.Private[int]

    @strawberry.field(description="For display, e.g. $1,234.50.")
    def formatted(self) -> str:
        # Formatting costs far more than the amount itself: only when asked for.
        return format_money(self._minor, self.currency)

    @classmethod
    def of(cls, minor: int, currency: str) -> Money:
        # The type implements no interface, so graphql-core completes any object that has its
        # attributes: a page's hundreds of amounts skip building a dataclass each.
        return MoneyOfMinor(minor, currency)  # type: ignore[return-value]


class MoneyOfMinor:
    """A Money read from minor units: the Decimal amount is worked out when asked for."""

    __slots__ = ("_minor", "currency")

    def __init__(self, minor: int, currency: str) -> None:
        self._minor = minor
        self.currency = currency

    @property
    def amount(self) -> Decimal:
        return from_minor(self._minor, self.currency)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MoneyOfMinor):
            return NotImplemented
        return (self._minor, self.currency) == (other._minor, other.currency)

    def __hash__(self) -> int:
        return hash((self._minor, self.currency))

    def __repr__(self) -> str:
        return f"Money(amount={self.amount!r}, currency={self.currency!r})"
