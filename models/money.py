"""Exact money: integer minor units per currency, Decimal at the edges, never floats."""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision, list_currencies

_KNOWN_CURRENCIES = frozenset(list_currencies())
# Any one amount: far above real invoices in every currency, far below where the database's
# 64-bit sums of many of them could overflow.
MAX_MINOR = 10**15


class MoneyError(ValueError):
    pass


def is_currency(code: str) -> bool:
    return code in _KNOWN_CURRENCIES


@functools.cache  # a few hundred currencies at most; read for every amount of every page
def exponent(currency: str) -> int:
    if not is_currency(currency):
        raise MoneyError(f"Unknown currency {currency!r}")
    return get_currency_precision(currency)


def to_minor(amount: Decimal, currency: str) -> int:
    """Convert an API amount to stored minor units; refuses amounts finer than the currency."""
    try:
        quantum = Decimal(1).scaleb(-exponent(currency))
        if amount != amount.quantize(quantum):
            raise MoneyError(f"{currency} amounts have at most {exponent(currency)} decimals")
    except InvalidOperation as exc:
        raise MoneyError("Invalid amount") from exc
    minor = int(amount.scaleb(exponent(currency)))
    if abs(minor) > MAX_MINOR:
        raise MoneyError("The amount is too large")
    return minor


def round_to_minor(amount: Decimal, currency: str) -> int:
    """Round a computed amount (tax, discount) half-up to the currency's minor unit."""
    quantum = Decimal(1).scaleb(-exponent(currency))
    return int(amount.quantize(quantum, rounding=ROUND_HALF_UP).scaleb(exponent(currency)))


def from_minor(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def format_money(minor: int, currency: str, locale: str = "en") -> str:
    return format_currency(from_minor(minor, currency), currency, locale=locale)
