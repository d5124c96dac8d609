"""The order the tests run in, for pytest-xdist's `--dist worksteal` (`make test`).

Worksteal cuts the list into one contiguous slice per worker, and a worker that runs out takes
the end of another's queue. With the slow tests (`slow`, `e2e`) simply first, the first slice
held all of them: one worker ran them one after the other (more than half of the suite's CPU
time) while the others could only take fast tests off its queue. Here every slice starts with
an equal share of them instead, in their order, so that what shares a module's fixtures stays
together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def slow_first_in_each_slice(
    items: Sequence[T], is_slow: Callable[[T], bool], workers: int
) -> list[T]:
    slow = [item for item in items if is_slow(item)]
    fast = [item for item in items if not is_slow(item)]
    ordered: list[T] = []
    for index, size in enumerate(_slices(len(items), workers)):
        share = min(size, len(slow) // (workers - index))
        ordered += slow[:share] + fast[: size - share]
        slow, fast = slow[share:], fast[size - share :]
    return ordered + slow + fast


def _slices(count: int, workers: int) -> list[int]:
    """The sizes of the slices worksteal hands out first: each worker in turn gets an equal
    part of what is left."""
    sizes = []
    for left in range(workers, 0, -1):
        sizes.append((count - sum(sizes)) // left)
    return sizes
