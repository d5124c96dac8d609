"""Human numbers (INV-000123, PAY-000007): gap-free per organization and series."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from models.documents import DocumentSeries
from resolvers import transactions


async def next_number(organization_id: int, series_name: str, prefix: str) -> str:
    """Call inside the transaction that uses the number: the series row stays locked until
    commit, so a rolled-back document leaves no gap."""
    series = await DocumentSeries.select_for_update().get_or_none(
        organization_id=organization_id, kind=series_name
    )
    if series is None:
        try:
            async with transactions.savepoint():
                series = await DocumentSeries.create(
                    organization_id=organization_id, kind=series_name, prefix=prefix
                )
        except IntegrityError:  # another transaction created it first
            series = await DocumentSeries.select_for_update().get(
                organization_id=organization_id, kind=series_name
            )
    number = f"{series.prefix}-{series.next_number:06d}"
    series.next_number += 1
    await series.save(update_fields=["next_number"])
    return number
