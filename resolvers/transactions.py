"""A unit of work: one database transaction, with work that must happen right before it
commits (inside it) and work that must wait until it has committed (outside it)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

logger = logging.getLogger("portico.transactions")

BeforeCommit = Callable[[BaseDBAsyncClient], Awaitable[None]]
AfterCommit = Callable[[], Awaitable[None] | None]


@dataclass
class UnitOfWork:
    before_commit: dict[str, BeforeCommit] = field(default_factory=dict)
    after_commit: list[AfterCommit] = field(default_factory=list)
    # Per-unit state of the modules that hook into it, by module name.
    state: dict[str, Any] = field(default_factory=dict)


_current: ContextVar[UnitOfWork | None] = ContextVar("portico_unit_of_work", default=None)


def current() -> UnitOfWork | None:
    return _current.get()


@contextlib.asynccontextmanager
async def unit_of_work() -> AsyncIterator[UnitOfWork]:
    """Nested calls join the outer unit; only the outermost commits and runs after-commit work."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    work = UnitOfWork()
    token = _current.set(work)
    try:
        async with in_transaction() as connection:
            yield work
            for hook in work.before_commit.values():
                await hook(connection)
    finally:
        _current.reset(token)
    for callback in work.after_commit:
        try:
            result = callback()
            if result is not None:
                await result
        except Exception:  # the change is committed; a failed follow-up must not undo that
            logger.exception("After-commit work failed")


async def after_commit(callback: AfterCommit) -> None:
    """Run `callback` once the current unit of work commits; at once outside of one."""
    work = _current.get()
    if work is not None:
        work.after_commit.append(callback)
        return
    result = callback()
    if result is not None:
        await result


def savepoint() -> contextlib.AbstractAsyncContextManager[BaseDBAsyncClient]:
    """A nested transaction, so a failed statement (e.g. a lost insert race) can be retried
    without aborting the unit of work around it (PostgreSQL aborts the whole transaction)."""
    return in_transaction()
