"""The line items of many documents in one statement, as plain rows: a page of 20 invoices
has 200 of them, and building a model object for each cost more than the rest of the page."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from auth.prepared import PreparedQuery, padded
from auth.principals import Principal
from auth.scoping import conditions
from models.documents import LineItem


class LineRow(NamedTuple):
    document_id: int
    name: str
    description: str
    quantity: Decimal
    unit: str
    rate: Decimal
    discount_percent: Decimal
    tax_percent: Decimal
    amount_minor: int
    discount_minor: int
    cost_rate: Decimal | None


_LINES = PreparedQuery(
    lambda where, ids: (
        LineItem.filter(**where)
        .filter(document_id__in=ids)
        .order_by("document_id", "position", "id")
        .values_list(*LineRow._fields)
    )
)


async def lines_of(principal: Principal, document_ids: Sequence[int]) -> list[list[LineRow]]:
    """Each document's lines in their order on the document, as the principal may see them."""
    rows = await _LINES.rows(where=conditions(LineItem, principal), ids=padded(document_ids))
    grouped: dict[int, list[LineRow]] = defaultdict(list)
    as_line_row = tuple.__new__  # the statement selects LineRow's fields, in its order
    for row in rows:
        grouped[row[0]].append(as_line_row(LineRow, row))
    return [grouped[document_id] for document_id in document_ids]
