from decimal import Decimal as D

import pytest

from resolvers.document_totals import Line, document_totals


def test_usd_rounds_lines_half_up_and_tax_once() -> None:
    lines = [
        Line(quantity=D("3"), rate=D("19.995"), discount_percent=D("10"), tax_percent=D("8.25")),
        Line(quantity=D("1.5"), rate=D("0.333"), tax_percent=D("8.25")),
    ]
    totals = document_totals(lines, "USD")
    # 59.985 -> 59.99; discount 5.999 -> 6.00; 0.4995 -> 0.50
    assert [line.amount_minor for line in totals.lines] == [5999, 50]
    assert totals.discount_minor == 600
    # tax: (53.99 + 0.50) * 8.25% = 4.4954... -> 4.50, rounded once
    assert (totals.subtotal_minor, totals.tax_minor, totals.total_minor) == (6049, 450, 5899)


def test_tax_is_rounded_once_not_per_line() -> None:
    lines = [Line(quantity=D(1), rate=D("0.10"), tax_percent=D("5"))] * 10
    totals = document_totals(lines, "USD")
    # per line 0.005 would round to 0.01 each (0.10 in all); once: 0.05
    assert totals.tax_minor == 5
    assert totals.total_minor == 105


def test_jpy_has_no_minor_unit() -> None:
    totals = document_totals([Line(D("3"), D("333.5"), D("0"), D("10"))], "JPY")
    assert (totals.subtotal_minor, totals.tax_minor, totals.total_minor) == (1001, 100, 1101)


def test_kwd_has_three_decimals() -> None:
    totals = document_totals([Line(D("2"), D("1.2345"), D("0"), D("5"))], "KWD")
    # 2.469 exactly; tax 0.12345 -> 0.123
    assert (totals.subtotal_minor, totals.tax_minor, totals.total_minor) == (2469, 123, 2592)


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
def test_no_lines_is_zero(currency: str) -> None:
    totals = document_totals([], currency)
    assert (totals.subtotal_minor, totals.tax_minor, totals.total_minor) == (0, 0, 0)
