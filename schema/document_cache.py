"""A bounded cache of what is worked out once per parsed document.

graphql-core's AST nodes are frozen dataclasses: they hash by value, walking the whole tree,
so `functools.lru_cache` keyed by a document pays a full walk of it on every request. The
parser cache hands out the same document object for the same text, so the object's identity
is key enough; each entry holds its arguments, which keeps those identities from being reused
while it lives.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from graphql.language import Node

R = TypeVar("R")


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    size: int


def per_document(maxsize: int) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Like functools.lru_cache for positional arguments, a Node counting by identity."""

    def decorator(function: Callable[..., R]) -> Callable[..., R]:
        entries: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], R]] = OrderedDict()
        counts = {"hits": 0, "misses": 0}

        @functools.wraps(function)
        def cached(*args: Any) -> R:
            key = tuple(id(arg) if isinstance(arg, Node) else arg for arg in args)
            entry = entries.get(key)
            if entry is not None:
                counts["hits"] += 1
                entries.move_to_end(key)
                return entry[1]
            counts["misses"] += 1
            result = function(*args)
            entries[key] = (args, result)
            if len(entries) > maxsize:
                entries.popitem(last=False)
            return result

        cached.cache_info = lambda: CacheInfo(counts["hits"], counts["misses"], len(entries))  # type: ignore[attr-defined]
        cached.cache_clear = entries.clear  # type: ignore[attr-defined]
        return cached

    return decorator
