"""The order the tests run in, for pytest-xdist's `--dist worksteal` (`make test`).

Worksteal cuts the list into one contiguous slice per worker, and a worker that runs out takes
the end of another's queue. With the slow tests (`slow`, `e2e`) simply first, the first slice
held all of them: one worker ran them one after the other (more than half of the suite's CPU
time) while the others could only take fast tests off its queue. So every slice gets an equal
share of them.

Within a slice they are spread over its first two thirds, between runs of fast tests, in an order
that has nothing to do with their names. Many slow tests mostly wait (for a websocket to fall
silent, a PDF process, a server to start), and a module's tend to wait alike: run one after the
other, at the same point of every slice, they had every worker waiting at once while the CPUs
idled. Near the end of a slice, where another worker may take them, there are only fast tests.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Hashable, Sequence
from itertools import groupby
from typing import TypeVar

T = TypeVar("T")


def spread_slow_over_each_slice(
    items: Sequence[T],
    is_slow: Callable[[T], bool],
    group_of: Callable[[T], Hashable],
    database_of: Callable[[T], Hashable | None],
    workers: int,
) -> list[T]:
    """`items` reordered. Consecutive slow tests of the same `group_of` stay together (those
    that share what their module starts), and a slow test that opens a database (`database_of`)
    goes where the fast tests around it open the same one: a worker that changes databases
    closes one and copies the other from its template."""
    slow = [item for item in items if is_slow(item)]
    fast = [item for item in items if not is_slow(item)]
    ordered: list[T] = []
    for index, size in enumerate(_slices(len(items), workers)):
        share = min(size, len(slow) // (workers - index))
        groups = [list(group) for _, group in groupby(slow[:share], key=group_of)]
        groups.sort(key=lambda group: zlib.crc32(str(group_of(group[0])).encode()))
        ordered += _between(groups, fast[: size - share], database_of)
        slow, fast = slow[share:], fast[size - share :]
    return ordered + slow + fast


def _between(
    groups: list[list[T]], fast: list[T], database_of: Callable[[T], Hashable | None]
) -> list[T]:
    """The groups spread evenly over the places in the first two thirds of `fast` where each
    may go (anywhere in `fast` if none is there; first if none at all)."""
    head = len(fast) * 2 // 3
    before: dict[int, list[T]] = {}  # place in `fast` -> the slow tests that go before it
    for index, group in enumerate(groups):
        places = _places(fast, database_of(group[0]), database_of)
        places = [place for place in places if place <= head] or places or [0]
        before.setdefault(places[len(places) * index // len(groups)], []).extend(group)
    ordered: list[T] = []
    for place in range(len(fast) + 1):
        ordered += before.get(place, [])
        ordered += fast[place : place + 1]
    return ordered


def _places(
    fast: list[T], database: Hashable | None, database_of: Callable[[T], Hashable | None]
) -> list[int]:
    """Where in `fast` a test that opens `database` can go: next to a test that opens it, or
    anywhere if it opens none."""
    if database is None:
        return list(range(len(fast) + 1))
    opens = [database_of(item) == database for item in fast]
    return [
        place
        for place in range(len(fast) + 1)
        if (place > 0 and opens[place - 1]) or (place < len(fast) and opens[place])
    ]


def _slices(count: int, workers: int) -> list[int]:
    """The sizes of the slices worksteal hands out first: each worker in turn gets an equal
    part of what is left."""
    sizes = []
    for left in range(workers, 0, -1):
        sizes.append((count - sum(sizes)) // left)
    return sizes
