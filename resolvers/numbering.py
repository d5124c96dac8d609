"""Human numbers (INV-000123, PAY-000007): gap-free per organization and series."""

from __future__ import annotations

from pypika_tortoise import Table
from tortoise.exceptions import IntegrityError

from models.documents import DocumentSeries
from resolvers import transactions

_SERIES = Table(DocumentSeries._meta.db_table)


async def next_number(organization_id: int, series_name: str, prefix: str) -> str:
    """Call inside the transaction that uses the number: the series row stays locked until
    commit, so a rolled-back document leaves no gap."""
    number = await _take(organization_id, series_name)
    if number is None:
        try:
            async with transactions.savepoint():
                await DocumentSeries.create(
                    organization_id=organization_id, kind=series_name, prefix=prefix
                )
        except IntegrityError:  # another transaction created it first
            pass
        number = await _take(organization_id, series_name)
    assert number is not None
    return number


async def _take(organization_id: int, series_name: str) -> str | None:
    """The series' next number, taken (and its row locked) in one statement; None before the
    series' first number."""
    db = DocumentSeries._meta.db
    query = (
        db.query_class.update(_SERIES)
        .set(_SERIES.next_number, _SERIES.next_number + 1)
        .where((_SERIES.organization_id == organization_id) & (_SERIES.kind == series_name))
        .returning(_SERIES.prefix, _SERIES.next_number)
    )
    rows = await db.execute_query_dict(*query.get_parameterized_sql())
    if not rows:
        return None
    return f"{rows[0]['prefix']}-{rows[0]['next_number'] - 1:06d}"
