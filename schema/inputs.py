"""Turn strawberry inputs into the plain dicts the use cases take (snake_case, set fields only)."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from strawberry import UNSET

TODAY_BY_DEFAULT = "Defaults to today in the organization's time zone."


def changes_of(value: Any, *, skip: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    return {
        field.name: _plain(getattr(value, field.name))
        for field in dataclasses.fields(value)
        if field.name not in skip and getattr(value, field.name) is not UNSET
    }


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return changes_of(value, skip=())
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    return value
