"""The line items of many documents in one statement, as plain rows: a page of 20 invoices
has 200 of them, and building a model object for each cost more than the rest of the page."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple

from tortoise.expressions import Subquery

from auth.prepared import PreparedQuery, padded
from auth.principals import Principal
from auth.scoping import conditions
from models.documents import LineItem, SalesDocument


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


# What a line has besides the document it is on.
COLUMNS = LineRow._fields[1:]

# A principal sees the lines of the documents it sees: asked of the documents named, not joined
# to all of them, which PostgreSQL would answer by hashing every document of a large
# organization to find a page's twenty.
_LINES = PreparedQuery(
    lambda where, ids, columns: (
        LineItem.filter(
            document_id__in=Subquery(SalesDocument.filter(**where, id__in=ids).values("id"))
        )
        .order_by("document_id", "position", "id")
        .values_list("document_id", *columns)
    )
)


async def lines_of(
    principal: Principal, document_ids: Sequence[int], columns: tuple[str, ...] = COLUMNS
) -> list[list[LineRow]]:
    """Each document's lines in their order on the document, as the principal may see them.
    Only `columns` (of COLUMNS, in its order) are read: the others are None, for a page that
    shows a few of a line's fields."""
    rows = await _LINES.rows(
        where=conditions(SalesDocument, principal), ids=padded(document_ids), columns=columns
    )
    as_line_row = _line_row_maker(columns)
    grouped: dict[int, list[LineRow]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(as_line_row(row))
    return [grouped[document_id] for document_id in document_ids]


@functools.cache  # one per set of columns a document's fields ask for
def _line_row_maker(columns: tuple[str, ...]) -> Callable[[list[Any]], LineRow]:
    if columns == COLUMNS:
        return functools.partial(tuple.__new__, LineRow)
    selected = ("document_id", *columns)
    missing = len(selected)  # where each row gets a None appended
    pick = itemgetter(*(selected.index(f) if f in selected else missing for f in LineRow._fields))

    def as_line_row(row: list[Any]) -> LineRow:
        row.append(None)
        return tuple.__new__(LineRow, pick(row))

    return as_line_row
