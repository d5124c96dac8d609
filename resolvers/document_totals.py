"""Totals of a sales document from its line items, exact to the currency's minor unit.

The rule, applied the same way everywhere:
- a line's amount is quantity x rate, rounded half-up to the currency's minor unit;
- its discount is a percentage of that amount, rounded the same way;
- its tax is the tax rate applied to (amount - discount), kept unrounded;
- the document's tax is the sum of the lines' taxes, rounded once, so many small lines do not
  pile up rounding errors;
- total = subtotal - discount + tax.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from models.money import from_minor, round_to_minor

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Line:
    quantity: Decimal
    rate: Decimal
    discount_percent: Decimal = Decimal(0)
    tax_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class LineTotals:
    amount_minor: int
    discount_minor: int
    tax: Decimal  # unrounded, in major units


@dataclass(frozen=True)
class Totals:
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int
    lines: tuple[LineTotals, ...]


def line_totals(line: Line, currency: str) -> LineTotals:
    amount = round_to_minor(line.quantity * line.rate, currency)
    discount = round_to_minor(
        from_minor(amount, currency) * line.discount_percent / HUNDRED, currency
    )
    taxable = from_minor(amount - discount, currency)
    return LineTotals(amount, discount, taxable * line.tax_percent / HUNDRED)


def document_totals(lines: Sequence[Line], currency: str) -> Totals:
    computed = tuple(line_totals(line, currency) for line in lines)
    subtotal = sum(line.amount_minor for line in computed)
    discount = sum(line.discount_minor for line in computed)
    tax = round_to_minor(sum((line.tax for line in computed), Decimal(0)), currency)
    return Totals(subtotal, discount, tax, subtotal - discount + tax, computed)


def margin_minor(
    amount_minor: int, discount_minor: int, quantity: Decimal, cost_rate: Decimal, currency: str
) -> int:
    """What a line earns the business before tax: its discounted amount less its cost."""
    return amount_minor - discount_minor - round_to_minor(quantity * cost_rate, currency)
