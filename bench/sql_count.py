"""Counting the SQL statements Tortoise sends, for benchmarks that compare them with raw SQL."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class SqlCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(str(record.args[0]) if record.args else record.getMessage())

    @property
    def writes(self) -> int:
        return sum(
            s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for s in self.statements
        )


@contextlib.contextmanager
def counting_sql() -> Iterator[SqlCounter]:
    counter = SqlCounter()
    log = logging.getLogger("tortoise.db_client")
    previous = log.level, log.propagate
    log.setLevel(logging.DEBUG)
    log.propagate = False  # counted, not printed
    log.addHandler(counter)
    try:
        yield counter
    finally:
        log.removeHandler(counter)
        log.setLevel(previous[0])
        log.propagate = previous[1]
