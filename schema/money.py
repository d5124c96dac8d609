from __future__ import annotations

from decimal import Decimal

import strawberry

from models.money import format_money, from_minor


@strawberry.type(description="An exact amount in one currency.")
class Money:
    amount: Decimal = strawberry.field(description="In major units, e.g. 12.50.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    formatted: str = strawberry.field(description="For display, in the viewer's language.")

    @classmethod
    def of(cls, minor: int, currency: str, locale: str = "en") -> Money:
        return cls(
            amount=from_minor(minor, currency),
            currency=currency,
            formatted=format_money(minor, currency, locale),
        )
