"""Keyset pagination over a scoped queryset: stable under inserts, cost independent of depth."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from tortoise.expressions import Q
from tortoise.fields import DateField, DatetimeField
from tortoise.functions import Coalesce
from tortoise.models import Model
from tortoise.queryset import QuerySet

from auth.errors import BadUserInput
from auth.prepared import PreparedQuery

M = TypeVar("M", bound=Model)

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class Ordering:
    field: str
    descending: bool = False
    # For a nullable field: the value that stands in for null, so that null rows sort the same
    # way on every database (after all others ascending) and keyset cursors stay comparable.
    null_as: object | None = None

    @property
    def key(self) -> str:
        return self.field if self.null_as is None else "sort_key"


@dataclass
class Page(Generic[M]):
    edges: list[tuple[str, M]]
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]]

    async def total_count(self) -> int:
        return await self.count()


async def paginate(
    model: type[M],
    scope: dict[str, Any],
    where: Q,
    ordering: Ordering,
    *,
    first: int | None,
    after: str | None,
) -> Page[M]:
    """A page of `model`'s rows within `scope` (equality conditions, as `scoping.conditions`
    gives them) that match `where`."""
    limit = _page_size(first)
    rows = await _PAGE.run(
        model=model,
        scope=scope,
        where=where,
        ordering=ordering,
        after=_after(model, ordering, after) if after else None,
        limit=(limit + 1,),
    )
    return Page(
        edges=[(cursor_for(row, ordering), row) for row in rows[:limit]],
        has_next_page=len(rows) > limit,
        has_previous_page=after is not None,
        count=lambda: model.filter(**scope).filter(where).count(),
    )


def _page_query(
    model: type[M],
    scope: dict[str, Any],
    where: Q,
    ordering: Ordering,
    after: Q | None,
    limit: tuple[int],
) -> QuerySet[M]:
    query = model.filter(**scope).filter(where)
    if ordering.null_as is not None:
        query = query.annotate(sort_key=Coalesce(ordering.field, ordering.null_as))
    if after is not None:
        query = query.filter(after)
    sign = "-" if ordering.descending else ""
    return query.order_by(f"{sign}{ordering.key}", f"{sign}id").limit(limit[0])


# Every list's pages: rendered once per shape of filter (the limit is part of the shape).
_PAGE: PreparedQuery[list[Any]] = PreparedQuery(_page_query, lenient=True)


def page_of_rows(
    model: type[M], rows: Sequence[M], ordering: Ordering, *, first: int | None, after: str | None
) -> Page[M]:
    """A page of rows already loaded in `ordering`'s order, e.g. by a DataLoader for many
    parents at once, so a page of parents costs one query whatever its size."""
    if ordering.null_as is not None:
        raise ValueError("Loaded rows are paged by a non-null field only")
    limit = _page_size(first)
    remaining = list(rows)
    if after:
        value, row_id = _cursor_position(model, ordering, after)
        remaining = [row for row in rows if _beyond(row, ordering, value, row_id)]

    async def total() -> int:
        return len(rows)

    return Page(
        edges=[(cursor_for(row, ordering), row) for row in remaining[:limit]],
        has_next_page=len(remaining) > limit,
        has_previous_page=after is not None,
        count=total,
    )


def _beyond(row: Model, ordering: Ordering, value: Any, row_id: int) -> bool:
    key = (getattr(row, ordering.field), row.pk)
    try:
        return key < (value, row_id) if ordering.descending else key > (value, row_id)
    except TypeError as exc:  # a cursor of another list, e.g. a date for a datetime
        raise BadUserInput("Invalid cursor.") from exc


def _page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"`first` must be between 0 and {MAX_PAGE_SIZE}.")
    return first


def cursor_for(row: Model, ordering: Ordering) -> str:
    value = getattr(row, ordering.key, None)
    if value is None:
        value = getattr(row, ordering.field) if ordering.null_as is None else ordering.null_as
    if isinstance(value, date | datetime):
        value = value.isoformat()
    raw = json.dumps([value, row.pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after(model: type[Model], ordering: Ordering, cursor: str) -> Q:
    value, row_id = _cursor_position(model, ordering, cursor)
    op = "lt" if ordering.descending else "gt"
    return Q(**{f"{ordering.key}__{op}": value}) | Q(**{ordering.key: value, f"id__{op}": row_id})


def _cursor_position(model: type[Model], ordering: Ordering, cursor: str) -> tuple[Any, int]:
    """The sort value and id a cursor points at, the value typed as the field is."""
    value, row_id = decode_cursor(cursor)
    field = model._meta.fields_map[ordering.field]
    parse = {DatetimeField: datetime.fromisoformat, DateField: date.fromisoformat}.get(type(field))
    if parse is not None:
        try:
            value = parse(value)
        except (TypeError, ValueError) as exc:
            raise BadUserInput("Invalid cursor.") from exc
    return value, row_id


def decode_cursor(cursor: str) -> tuple[object, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadUserInput("Invalid cursor.") from exc
    if not isinstance(row_id, int) or not isinstance(value, (str, int, bool)):
        raise BadUserInput("Invalid cursor.")
    return value, row_id
