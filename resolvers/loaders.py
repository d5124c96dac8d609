"""Per-request DataLoaders, each built on the scoped queryset of the request's principal."""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from auth.prepared import PreparedQuery, padded
from auth.principals import Principal
from auth.scoping import conditions
from integrations import tracing


class SharedLoader(DataLoader):
    """A DataLoader whose callers each await their own view of a result shared by key.

    When one field of a list or object fails, graphql-core cancels its siblings still pending,
    and cancelling a task cancels the future it awaits. Were that the loader's cached future,
    every other field waiting on the same key (another branch of the document asking for the
    same row) would get CancelledError, which ends the whole operation instead of one field.
    """

    def load(self, key: Any) -> Awaitable[Any]:
        return asyncio.shield(super().load(key))


def _shared(load: Callable[[Sequence[Any]], Awaitable[list[Any]]], *name: Any) -> SharedLoader:
    """A loader whose batches are spans of their own while tracing is on, named by what they
    load; with tracing off, the batch function as it is (the name is not even joined)."""
    if tracing.tracer is not None:
        load = tracing.batch_load(" ".join(map(str, name)), load)
    return SharedLoader(load)


class Loaders:
    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self._loaders: dict[tuple[Any, ...], DataLoader] = {}

    def by_id(self, model: type[Model]) -> DataLoader[int, Any]:
        key = ("id", model)
        if key not in self._loaders:
            self._loaders[key] = _shared(
                lambda ids: self._load_by_id(model, ids), model.__name__, "by id"
            )
        return self._loaders[key]

    def children(self, model: type[Model], parent_field: str, order: str) -> DataLoader:
        key = ("children", model, parent_field, order)
        if key not in self._loaders:
            self._loaders[key] = _shared(
                lambda ids: self._load_children(model, parent_field, order, ids),
                model.__name__,
                "by",
                parent_field,
            )
        return self._loaders[key]

    def clear(self) -> None:
        """Forgets every loader and what it loaded, once the request's result is complete."""
        self._loaders.clear()

    def keyed(
        self, key: tuple[Any, ...], load: Callable[[Sequence[Any]], Awaitable[list[Any]]]
    ) -> DataLoader:
        """A loader for a batch function of a use case's own; one per key and request. The
        function must itself stay within what the principal may see."""
        key = ("keyed", *key)
        if key not in self._loaders:
            self._loaders[key] = _shared(load, *key[1:])
        return self._loaders[key]

    async def _load_by_id(self, model: type[Model], ids: Sequence[int]) -> list[Any]:
        rows = await _by_id(model).run(where=conditions(model, self.principal), ids=padded(ids))
        found = {row.pk: row for row in rows}
        return [found.get(row_id) for row_id in ids]

    async def _load_children(
        self, model: type[Model], parent_field: str, order: str, ids: Sequence[int]
    ) -> list[list[Any]]:
        query = _children(model, parent_field, order)
        rows = await query.run(where=conditions(model, self.principal), ids=padded(ids))
        grouped: dict[int, list[Any]] = defaultdict(list)
        for row in rows:
            grouped[getattr(row, parent_field)].append(row)
        return [grouped[parent_id] for parent_id in ids]


# The loaders' queries, prepared once per process; each is scoped() with the principal's
# conditions passed as values.
@functools.cache
def _by_id(model: type[Model]) -> PreparedQuery[list[Any]]:
    return PreparedQuery(lambda where, ids: model.filter(**where).filter(id__in=ids))


@functools.cache
def _children(model: type[Model], parent_field: str, order: str) -> PreparedQuery[list[Any]]:
    return PreparedQuery(
        lambda where, ids: (
            model.filter(**where).filter(**{f"{parent_field}__in": ids}).order_by(order, "id")
        )
    )
