"""The rows a request needs again and again, read once per request: its organization, the
organization's portal preferences, the contact it acts for and that contact's customer.

Authentication reads them along with the session and hands them to `remember`; use cases ask
`get` instead of the database. They are kept for one HTTP request (`kept_for_this_request`), so
they cannot change under a request's feet. A websocket connection lives too long for that: it
has no request scope, so everything it asks is read afresh.

A row saved or deleted during the request is forgotten, so the next `get` reads what was
written (or, after a rollback, what is left). `QuerySet.update()` goes unnoticed: change these
models with `save()`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.signals import post_delete, post_save

from models.customers import ContactPerson, Customer
from models.organizations import Organization
from models.preferences import PortalPreferences

M = TypeVar("M", bound=Model)

_KEPT = (Organization, PortalPreferences, ContactPerson, Customer)
# What each kept model is looked up by: portal preferences by their organization (one each).
_KEY = {PortalPreferences: "organization_id"}

_kept: ContextVar[dict[tuple[type[Model], int], Model] | None] = ContextVar(
    "portico_request_rows", default=None
)


@contextlib.contextmanager
def kept_for_this_request() -> Iterator[None]:
    token = _kept.set({})
    try:
        yield
    finally:
        _kept.reset(token)


def remember(*rows: Model | None) -> None:
    """Rows read along with something else serve the rest of the request (None is skipped)."""
    kept = _kept.get()
    if kept is None:
        return
    for row in rows:
        if row is None:
            continue
        if not isinstance(row, _KEPT):  # only these are forgotten when saved
            raise TypeError(f"{type(row).__name__} rows are not kept per request")
        kept[type(row), _key_of(row)] = row


def known(model: type[M], key: int) -> M | None:
    """The row of this request, when it was read already; `key` is its `_KEY` (else its id)."""
    kept = _kept.get()
    row = kept.get((model, key)) if kept is not None else None
    return row  # type: ignore[return-value]


async def get(model: type[M], key: int) -> M:
    row = known(model, key)
    if row is None:
        row = await model.get(**{_KEY.get(model, "id"): key})
        remember(row)
    return row


async def get_or_none(model: type[M], key: int) -> M | None:
    row = known(model, key)
    if row is None:
        row = await model.get_or_none(**{_KEY.get(model, "id"): key})
        remember(row)
    return row


def _key_of(row: Model) -> int:
    return getattr(row, _KEY.get(type(row), "id"))


@post_save(*_KEPT)
async def _saved(model: type[Model], row: Model, *_: Any) -> None:
    _forget(row)


@post_delete(*_KEPT)
async def _deleted(model: type[Model], row: Model, *_: Any) -> None:
    _forget(row)


def _forget(row: Model) -> None:
    if (kept := _kept.get()) is not None:
        kept.pop((type(row), _key_of(row)), None)
