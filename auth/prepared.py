"""Queries every request makes, rendered to SQL once and then run with each request's values.

Tortoise renders a queryset's SQL anew on every await, and for a small query that costs several
times what the database takes to answer it (a session lookup with two joins: ~0.35 ms rendering,
~0.03 ms in SQLite). A prepared query renders its queryset once per shape and database, with
stand-in values it can find again among the SQL parameters, and from then on only swaps in the
real values. A prepared statement does the same for a write Tortoise has no query for.

Relies on tortoise-orm internals (`_make_query`, `_execute`, `_select_related_idx`); the test
suite runs every prepared query and statement on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from itertools import count
from typing import Any, Generic, TypeVar

from pypika_tortoise import Query, Table
from pypika_tortoise.queries import QueryBuilder
from tortoise import timezone
from tortoise.exceptions import DoesNotExist, MultipleObjectsReturned
from tortoise.expressions import Q
from tortoise.fields import DatetimeField, DecimalField, Field
from tortoise.fields.data import CharEnumFieldInstance, IntEnumFieldInstance
from tortoise.models import Model
from tortoise.queryset import AwaitableQuery, QuerySet, ValuesListQuery

R = TypeVar("R")
T = TypeVar("T")

# Stand-ins no real value equals: ids are positive, no stored text has a NUL in it, and no
# stored date is in the first century.
_FIRST_STAND_IN = -(2**62)
_FIRST_STAND_IN_DATE = date(1, 1, 1)
# Values that would make a shape per value: a query with them runs unprepared.
_UNPREPARABLE = (datetime, Decimal, float, bytes)
# Beyond this many shapes a query runs unprepared rather than keep more renderings.
MAX_SHAPES = 64


class Unpreparable(Exception):
    """The values' query cannot be prepared: it runs as Tortoise renders it."""


@dataclass(frozen=True)
class _Rendered:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, tuple[Hashable, ...]], ...]  # parameter index, path of its value
    select_related_idx: list[Any] | None
    # For a values_list query: the columns the driver does not give as their Python values.
    conversions: tuple[tuple[int, Callable[[Any], Any]], ...]
    # For a queryset: how its rows become instances, by the columns the driver names.
    row_plans: dict[tuple[str, ...], list[_RowPlan]] = field(default_factory=dict)

    def get_parameterized_sql(self, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        params = list(self.params)
        for index, path in self.slots:
            params[index] = _at(values, path)
        return self.sql, params


class _Fixed:
    """What `_execute` asks a pypika query for, answered from the rendering."""

    def __init__(self, sql: str, params: list[Any]) -> None:
        self._sql_and_params = sql, params

    def get_parameterized_sql(self) -> tuple[str, list[Any]]:
        return self._sql_and_params


class PreparedQuery(Generic[R]):
    """`build(**values)` returns the queryset; awaiting `run(**values)` gives its result.

    Every int, str or date among the values (also inside a dict, such as
    `scoping.conditions`, a list, such as the ids of an IN: see `padded`, or a Q) is an SQL
    parameter; anything else (None, bools, enums, tuples) is part of the shape, and each shape
    is built and rendered on its own. The SQL must not otherwise depend on the values.

    A `lenient` query runs unprepared, as Tortoise renders it, where it cannot be prepared: a
    datetime among its values, a value Tortoise rewrites (a `contains` pattern), too many
    shapes. Without it, such a query is a mistake, and raises.
    """

    def __init__(self, build: Callable[..., AwaitableQuery], *, lenient: bool = False) -> None:
        self._build = build
        self._lenient = lenient
        # Building is not free either (an annotation alone costs ~0.1 ms): one query per shape
        # carries what `_execute` needs besides the SQL.
        self._templates: dict[Hashable, AwaitableQuery] = {}
        self._rendered: dict[Hashable, _Rendered] = {}
        self._unpreparable: set[Hashable] = set()

    async def run(self, **values: Any) -> R:
        try:
            query, rendered = self._prepared(values)
        except Unpreparable:
            if not self._lenient:
                raise
            return await self._build(**values)
        if _plain(query, rendered):
            _, rows = await query._db.execute_query(*rendered.get_parameterized_sql(values))
            return _result(query, rendered, rows)  # type: ignore[arg-type]
        # Concurrent runs share the template: _execute reads what is set here before it first
        # awaits, so each run executes its own SQL parameters on its own connection.
        query.query = _Fixed(*rendered.get_parameterized_sql(values))
        if rendered.select_related_idx is not None:
            query._select_related_idx = rendered.select_related_idx
        return await query._execute()

    async def rows(self, **values: Any) -> list[list[Any]]:
        """The rows of a `values_list` query as plain lists of Python values, for hot read
        paths: no model objects, and a call per value only where the driver's value is not
        already the field's (decimals, and dates on SQLite)."""
        query, rendered = self._prepared(values)
        _, result = await query._db.execute_query(*rendered.get_parameterized_sql(values))
        rows = [list(row) for row in result]
        for index, convert in rendered.conversions:
            for row in rows:
                row[index] = convert(row[index])
        return rows

    def _prepared(self, values: Mapping[str, Any]) -> tuple[AwaitableQuery, _Rendered]:
        shape = _shape(values)
        if shape in self._unpreparable:
            raise Unpreparable("its values are not all SQL parameters")
        query = self._templates.get(shape)
        if query is None:
            if len(self._templates) >= MAX_SHAPES:
                raise Unpreparable(f"more than {MAX_SHAPES} shapes")
            query = self._templates[shape] = self._or_unpreparable(
                shape, lambda: self._build(**_stand_in(values, (), {}, count()))
            )
        query._db = None
        query._choose_db_if_not_chosen()  # the connection of this moment, e.g. a transaction
        key = (shape, query._db.executor_class)
        rendered = self._rendered.get(key)
        if rendered is None:
            rendered = self._rendered[key] = self._or_unpreparable(
                shape, lambda: _render(self._build, values, query._db)
            )
        return query, rendered

    def _or_unpreparable(self, shape: Hashable, make: Callable[[], T]) -> T:
        """What `make` builds of the shape's stand-ins; a shape it fails for (e.g. a stand-in
        where a field takes only its own values) is remembered as unpreparable."""
        try:
            return make()
        except Exception as exc:
            if len(self._unpreparable) < MAX_SHAPES:
                self._unpreparable.add(shape)
            raise Unpreparable(str(exc)) from exc


def _plain(query: AwaitableQuery, rendered: _Rendered) -> bool:
    """A queryset of whole rows of its model and of what it selects along, nothing fetched
    after it (prefetches) and no `.only()`."""
    return (
        isinstance(query, QuerySet)
        and rendered.select_related_idx is not None
        and not query._fields_for_select
        and not query._prefetch_map
        and not query._prefetch_queries
    )


def _result(query: QuerySet, rendered: _Rendered, rows: Sequence[Any]) -> Any:
    """What awaiting the queryset gives: its instances, or for `.get_or_none()` and the like
    one of them or None."""
    instances = _instances(rendered, rows, list(query._annotations)) if rows else []
    if not query._single:
        return instances
    if len(instances) == 1:
        return instances[0]
    if not instances:
        if query._raise_does_not_exist:
            raise DoesNotExist(query.model)
        return None
    raise MultipleObjectsReturned(query.model)


def _instances(rendered: _Rendered, rows: Sequence[Any], annotations: list[str]) -> list[Model]:
    """What Tortoise's executor makes of the rows, for the hot read paths: the values set
    straight into each instance's attributes, without building keyword arguments per row, and
    each model selected along set on the instance that refers to it (None where the join
    found nothing)."""
    base, *related = _row_plans(rendered, tuple(rows[0].keys()))
    instances = []
    for row in rows:
        instance = base.build(row)
        for name in annotations:
            instance.__dict__[name] = row[name]
        if related:
            by_path = {(None,): instance}
            for plan in related:
                target = by_path.get(plan.parent)
                related_instance = plan.build(row) if any(row[i] for i in plan.positions) else None
                if target is not None:
                    target.__dict__[f"_{plan.attribute}"] = related_instance
                if related_instance is not None:
                    by_path[plan.path] = related_instance
        instances.append(instance)
    return instances


@dataclass(frozen=True)
class _RowPlan:
    """Where one selected model's fields are in a row, and how to make its instance."""

    path: tuple[str | None, ...]
    positions: tuple[int, ...]
    build: Callable[[Sequence[Any]], Model]

    @property
    def parent(self) -> tuple[str | None, ...]:
        return self.path[:-1]

    @property
    def attribute(self) -> str | None:
        return self.path[-1]


def _row_plans(rendered: _Rendered, keys: tuple[str, ...]) -> list[_RowPlan]:
    found = rendered.row_plans.get(keys)
    if found is None:
        found = rendered.row_plans[keys] = _plans_of(rendered, keys)
    return found


def _plans_of(rendered: _Rendered, keys: tuple[str, ...]) -> list[_RowPlan]:
    """The models in Tortoise's select_related order: the queryset's own first, then each model
    joined, its columns named "table.column"."""
    plans, start = [], 0
    for model, width, _table, _referring, path in rendered.select_related_idx or ():
        columns = {
            key.split(".", 1)[1] if start else key: start + offset
            for offset, key in enumerate(keys[start : start + width])
        }
        plans.append(_RowPlan(path, tuple(columns.values()), _builder(model, columns)))
        start += width
    return plans


def _builder(model: type[Model], columns: Mapping[str, int]) -> Callable[[Sequence[Any]], Model]:
    meta = model._meta
    # Per database: a value the driver gives as the field's own needs no conversion.
    native = [(columns[key], name) for key, name, _ in meta.db_native_fields]
    typed = [(columns[key], name, field.field_type) for key, name, field in meta.db_default_fields]
    converted = [
        (columns[key], name, _to_python(field)) for key, name, field in meta.db_complex_fields
    ]
    custom_generated_pk = meta.db_pk_column not in meta.generated_db_fields

    def build(row: Sequence[Any]) -> Model:
        instance = model.__new__(model)
        attributes = instance.__dict__
        attributes["_partial"] = False
        attributes["_saved_in_db"] = True
        attributes["_custom_generated_pk"] = custom_generated_pk
        attributes["_await_when_save"] = {}
        for index, name in native:
            attributes[name] = row[index]
        for index, name, field_type in typed:
            value = row[index]
            attributes[name] = None if value is None else field_type(value)
        for index, name, to_python in converted:
            attributes[name] = to_python(row[index])
        return instance

    return build


def _to_python(field: Field) -> Callable[[Any], Any]:
    """The field's conversion from what the driver gives. For a timestamp PostgreSQL gives in
    UTC, what Tortoise's would do (with use_tz, the default time zone), without looking the
    settings up again for every value."""
    to_python = field.to_python_value
    if isinstance(field, (CharEnumFieldInstance, IntEnumFieldInstance)):
        return _enum_member(field.enum_type, to_python)
    if type(field) is not DatetimeField or not timezone.get_use_tz():
        return to_python
    zone = timezone.get_default_timezone()

    def aware(value: Any) -> Any:
        if value.__class__ is datetime and value.tzinfo is UTC:
            return value.astimezone(zone)
        return to_python(value)

    return aware


def _enum_member(enum_type: type[Enum], to_python: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A stored value's member by one dictionary lookup: calling the enum per value cost a
    page of documents more than all its other columns together. A value the enum does not
    know goes through Tortoise's conversion, which refuses it as before."""
    members: dict[Any, Any] = {member.value: member for member in enum_type}
    members[None] = None

    def member(value: Any) -> Any:
        found = members.get(value, _UNKNOWN)
        return to_python(value) if found is _UNKNOWN else found

    return member


_UNKNOWN = object()


def _render(build: Callable[..., AwaitableQuery], values: Mapping[str, Any], db: Any) -> _Rendered:
    """The SQL of the values' shape on this database, and where each value goes in its
    parameters."""
    stand_ins: dict[Any, tuple[Hashable, ...]] = {}
    query = build(**_stand_in(values, (), stand_ins, count()))
    query._db = db
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    slots = tuple(
        (index, stand_ins[param])
        for index, param in enumerate(params)
        if isinstance(param, Hashable) and param in stand_ins
    )
    missing = set(stand_ins.values()) - {path for _, path in slots}
    if missing:
        raise Unpreparable(f"Not SQL parameters of the prepared query: {sorted(missing)}")
    related = query._select_related_idx if isinstance(query, QuerySet) else None
    return _Rendered(sql, tuple(params), slots, related, _conversions(query))


def _conversions(query: AwaitableQuery) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    if not isinstance(query, ValuesListQuery):
        return ()
    native = {name for _, name, _ in query.model._meta.db_native_fields}
    return tuple(
        (index, _conversion(query, name))
        for index, name in enumerate(query.fields.values())
        if name not in native
    )


def _conversion(query: ValuesListQuery, name: str) -> Callable[[Any], Any]:
    convert = query.resolve_to_python_value(query.model, name)
    if isinstance(query.model._meta.fields_map.get(name), DecimalField):
        # A page's quantities, rates and percentages repeat, and each conversion quantizes: a
        # Decimal is immutable, so equal values may share one.
        return functools.lru_cache(maxsize=4096)(convert)
    return convert


def _is_parameter(value: Any) -> bool:
    return (isinstance(value, int | str) and not isinstance(value, bool | Enum)) or (
        value.__class__ is date
    )


def padded(items: Sequence[T]) -> list[T]:
    """An IN list with its last item repeated up to a power-of-two length: it matches the same
    rows, and a prepared query renders a handful of shapes instead of one per length."""
    if not items:
        return []
    size = 1 << (len(items) - 1).bit_length()
    return [*items, *[items[-1]] * (size - len(items))]


def _shape(value: Any) -> Hashable:
    if isinstance(value, dict):
        return tuple((name, _shape(item)) for name, item in value.items())
    if isinstance(value, list):
        return (list, *map(_shape, value))
    if isinstance(value, Q):
        return (Q, value.join_type, value._is_negated, *map(_shape, _parts(value)))
    if _is_parameter(value):
        return type(value)
    if isinstance(value, _UNPREPARABLE):
        raise Unpreparable(f"a {type(value).__name__} would make a shape of its own")
    return value


def _parts(q: Q) -> list[Any]:
    """A Q's children, then its filters, in the order `_stand_in` and `_at` count them."""
    return [*q.children, dict(q.filters)]


def _stand_in(
    value: Any,
    path: tuple[Hashable, ...],
    found: dict[Any, tuple[Hashable, ...]],
    counter: count,
) -> Any:
    if isinstance(value, dict):
        return {
            name: _stand_in(item, (*path, name), found, counter) for name, item in value.items()
        }
    if isinstance(value, list):
        return [_stand_in(item, (*path, index), found, counter) for index, item in enumerate(value)]
    if isinstance(value, Q):
        *children, filters = (
            _stand_in(part, (*path, index), found, counter)
            for index, part in enumerate(_parts(value))
        )
        q = Q(*children, join_type=value.join_type, **filters)
        return ~q if value._is_negated else q
    if not _is_parameter(value):
        return value
    number = next(counter)
    if isinstance(value, int):
        stand_in: Any = _FIRST_STAND_IN - number
    elif isinstance(value, str):
        stand_in = f"\0prepared {number}\0"
    else:
        stand_in = _FIRST_STAND_IN_DATE + timedelta(days=number)
    found[stand_in] = path
    return stand_in


def _at(values: Mapping[str, Any], path: tuple[Hashable, ...]) -> Any:
    value: Any = values
    for name in path:
        value = _parts(value)[name] if isinstance(value, Q) else value[name]  # type: ignore[index]
    return value


class PreparedStatement:
    """A write Tortoise has no query for (UPDATE ... RETURNING; one UPDATE run for many rows),
    built with pypika once per database dialect. `build(query, table)` writes it on the
    model's table with `0` wherever a value goes; `fetch`, `execute` and `execute_many` take the
    values in the order the statement names them, as the database stores them
    (`Field.to_db_value`)."""

    def __init__(self, model: type[Model], build: Callable[[type[Query], Table], QueryBuilder]):
        self._model = model
        self._build = build
        self._sql: dict[type[Query], str] = {}

    async def fetch(self, *values: Any) -> list[dict[str, Any]]:
        db = self._model._meta.db  # the connection of this moment, e.g. a transaction
        return await db.execute_query_dict(self._sql_for(db.query_class), list(values))

    async def execute(self, *values: Any) -> None:
        db = self._model._meta.db
        await db.execute_query(self._sql_for(db.query_class), list(values))

    async def execute_many(self, rows: Sequence[Sequence[Any]]) -> None:
        """One statement, run for each row (an executemany); call it inside a transaction."""
        db = self._model._meta.db
        await db.execute_many(self._sql_for(db.query_class), [list(row) for row in rows])

    def _sql_for(self, query: type[Query]) -> str:
        sql = self._sql.get(query)
        if sql is None:
            table = Table(self._model._meta.db_table)
            sql = self._sql[query] = self._build(query, table).get_parameterized_sql()[0]
        return sql
