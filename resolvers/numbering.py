"""Human numbers (INV-000123, PAY-000007): gap-free per organization and series."""

from __future__ import annotations

from pypika_tortoise.terms import ValueWrapper
from tortoise.exceptions import IntegrityError

from auth.prepared import PreparedStatement
from models.documents import DocumentSeries
from resolvers import transactions

# The series' next number taken, and its row locked, in one statement; values: the
# organization's id and the series' name.
_TAKE = PreparedStatement(
    DocumentSeries,
    lambda query, series: (
        query.update(series)
        .set(series.next_number, series.next_number + ValueWrapper(1, allow_parametrize=False))
        .where((series.organization_id == 0) & (series.kind == 0))
        .returning(series.prefix, series.next_number)
    ),
)


async def next_number(organization_id: int, series_name: str, prefix: str) -> str:
    """Call inside the transaction that uses the number: the series row stays locked until
    commit, so a rolled-back document leaves no gap."""
    taken = await _TAKE.fetch(organization_id, series_name)
    if not taken:  # the series' first number
        try:
            async with transactions.savepoint():
                await DocumentSeries.create(
                    organization_id=organization_id, kind=series_name, prefix=prefix
                )
        except IntegrityError:  # another transaction created it first
            pass
        taken = await _TAKE.fetch(organization_id, series_name)
    return f"{taken[0]['prefix']}-{taken[0]['next_number'] - 1:06d}"
