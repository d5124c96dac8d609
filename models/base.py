"""The base of every Portico model."""

from __future__ import annotations

from typing import Any

from tortoise import models


class _ModelMeta(models.ModelMeta):
    """Tortoise reads each model class's source, as it defines it, for `#:` comments to use as
    field descriptions: a sixth of a second of CPU in every process for Portico's models. Portico
    writes none (fields are described where the API shows them), so each class it defines says
    so in its own namespace, which is where Tortoise looks (as its migrations' models do)."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> _ModelMeta:
        attrs.setdefault("_no_comments", True)
        return super().__new__(mcs, name, bases, attrs)


class Model(models.Model, metaclass=_ModelMeta):
    class Meta:
        abstract = True
