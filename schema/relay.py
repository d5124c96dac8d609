"""Relay plumbing: global ids, `node(id:)`, and connections over keyset pages."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import strawberry
from strawberry import relay
from tortoise.expressions import Q
from tortoise.models import Model

from auth.errors import BadUserInput
from auth.scoping import conditions
from resolvers import portal_features
from resolvers.pagination import Ordering, Page, paginate
from schema.context import Info

T = TypeVar("T")
# Row ids are 64-bit: 18 digits always fit.
MAX_ROW_ID_DIGITS = 18


class ModelNode(relay.Node):
    """A Relay node backed by one Tortoise model, loaded through the scoped DataLoader."""

    model: ClassVar[type[Model]]
    registry: ClassVar[dict[str, type[ModelNode]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" in cls.__dict__:
            ModelNode.registry[cls.__name__] = cls

    @classmethod
    def from_row(cls, row: Any) -> ModelNode:
        raise NotImplementedError

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ModelNode | None]:
        ids = [row_id(node_id) for node_id in node_ids]
        rows = await info.context.loaders.by_id(cls.model).load_many(ids)
        return [cls.from_row(row) if row is not None else None for row in rows]

    @classmethod
    async def load(cls, info: Info, row_id: int | None) -> Any:
        if row_id is None:
            return None
        row = await info.context.loaders.by_id(cls.model).load(row_id)
        return cls.from_row(row) if row is not None else None


class PreferenceGated:
    """A node type portal contacts see only while a portal switch is on (mix in before
    ModelNode). Asking for it otherwise is FORBIDDEN, by list and by id alike."""

    feature: ClassVar[portal_features.Feature]

    @classmethod
    async def require_shown(cls, info: Info) -> None:
        await portal_features.require_shown(info.context.principal, cls.feature)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ModelNode | None]:
        await cls.require_shown(info)
        return await super().resolve_nodes(  # type: ignore[misc]
            info=info, node_ids=node_ids, required=required
        )


def decode_id(value: strawberry.ID | str, node_type: type[ModelNode] | str) -> int:
    """The database id inside a global id of the expected type (a node class, or its name where
    importing the class would be circular); 0 (never a row) otherwise."""
    type_name = node_type if isinstance(node_type, str) else node_type.__name__
    try:
        global_id = relay.GlobalID.from_id(value)
    except (relay.GlobalIDValueError, ValueError) as exc:
        raise BadUserInput(f"{value!r} is not a valid ID.") from exc
    return row_id(global_id.node_id) if global_id.type_name == type_name else 0


def row_id(node_id: str) -> int:
    """The row a global id's node id names; 0 (never a row) for anything but the plain number
    of a 64-bit id, e.g. "²" or a number of 30 digits."""
    if node_id.isascii() and node_id.isdigit() and len(node_id) <= MAX_ROW_ID_DIGITS:
        return int(node_id)
    return 0


async def resolve_node(info: Info, value: strawberry.ID) -> ModelNode | None:
    try:
        global_id = relay.GlobalID.from_id(value)
    except (relay.GlobalIDValueError, ValueError) as exc:
        raise BadUserInput(f"{value!r} is not a valid ID.") from exc
    node_type = ModelNode.registry.get(global_id.type_name)
    if node_type is None:
        return None
    [node] = await node_type.resolve_nodes(info=info, node_ids=[global_id.node_id])
    return node


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    _page: strawberry.Private[Page]

    @strawberry.field(description="The nodes of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many items match the filter, over all pages.")
    async def total_count(self) -> int:
        return await self._page.total_count()

    @classmethod
    def of(cls, page: Page, to_node: Any) -> Connection:
        edges = [Edge(cursor=cursor, node=to_node(row)) for cursor, row in page.edges]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            _page=page,
        )


@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


class SortInput(Protocol):
    field: Enum
    direction: OrderDirection


async def connection(
    info: Info,
    node_type: type[ModelNode],
    *,
    where: Q,
    order_by: SortInput | Ordering,
    first: int | None,
    after: str | None,
) -> Connection:
    """A page of the viewer's visible rows of `node_type`, filtered and sorted."""
    if not isinstance(order_by, Ordering):
        order_by = Ordering(order_by.field.value, order_by.direction == OrderDirection.DESC)
    model = node_type.model
    scope = conditions(model, info.context.principal)
    page = await paginate(model, scope, where, order_by, first=first, after=after)
    return Connection.of(page, node_type.from_row)
