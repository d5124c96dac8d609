"""Scalars whose parsing Portico tightens: a Decimal is exact, finite and of a sane size."""

from __future__ import annotations

import dataclasses
from decimal import Decimal, InvalidOperation

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DecimalDefinition

# No amount, quantity, rate or percentage comes near; past it Decimal arithmetic (quantizing to
# a currency, 64-bit minor units in the database) would fail rather than refuse.
DECIMAL_LIMIT = Decimal("1e15")
DECIMAL_PLACES = 12


def parse_decimal(value: object) -> Decimal:
    """The value as a Decimal; for anything else a GraphQL error, which tells the client."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _refused('Write it as a string, e.g. "12.50".')
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _refused(f"{value!r} is not a decimal number.") from None
    if number.is_nan():
        raise _refused(f"{value!r} is not a number.")
    if number.is_infinite() or abs(number) >= DECIMAL_LIMIT:
        raise _refused(f"Use a number of less than {DECIMAL_LIMIT:,.0f}.")
    if number.normalize().as_tuple().exponent < -DECIMAL_PLACES:  # type: ignore[operator]
        raise _refused(f"Use at most {DECIMAL_PLACES} decimal places.")
    return number


def _refused(reason: str) -> StrawberryInputCoercionError:
    return StrawberryInputCoercionError(f"Value cannot represent a Decimal. {reason}")


BoundedDecimal = dataclasses.replace(
    DecimalDefinition,
    description=f'An exact decimal number, as a string ("12.50") or an integer, of less than '
    f"{DECIMAL_LIMIT:,.0f} with at most {DECIMAL_PLACES} decimal places.",
    parse_value=parse_decimal,
    implementation=None,
)

SCALAR_OVERRIDES = {Decimal: BoundedDecimal}
