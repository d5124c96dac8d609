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
        return cls(amount=from_minor(minor, currency), currency=currency, _minor=minor)
