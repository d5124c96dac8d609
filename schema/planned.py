"""Planned execution of registered queries: graphql-core's result, without graphql-core's cost
for the fields that are plain attributes.

graphql-core completes every field the same way: a resolve info, a path, a call through the
field's resolver, a chain of type checks. Most fields of a page are plain attributes of
lightweight objects (a document's number, an amount's currency), read well over a thousand
times a page. This path works out once per selection what each field is (a plain attribute
and how its value serializes, or something for graphql-core), then reads attributes in a tight
loop; every other field (a resolver, an argument, a permission) takes graphql-core's own path.

It is exact by construction: whatever this path would have to do differently from graphql-core
(a null where none may be, a value that does not serialize, an error below a field it
completed) makes it give up the operation, which graphql-core then runs again from the start.
Only queries are planned: their resolvers read, so running one twice changes nothing. A test
runs every registered document both ways, for each kind of principal, and compares.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import keyword
from asyncio import ensure_future, gather
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from graphql import (
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    Undefined,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path
from strawberry import relay
from strawberry.types.cast import get_strawberry_type_cast

# Strawberry's own resolver for interfaces: the object's class names its type.
_STRAWBERRY_INTERFACE_RESOLVER = "_get_resolve_type.<locals>.resolve_type"
# Scalars that serialize a value of one class to itself: no call needed for it.
_SERIALIZED_AS_IS: dict[str, type] = {
    GraphQLString.name: str,
    GraphQLID.name: str,
    GraphQLBoolean.name: bool,
}

# What a field is to this path.
GENERIC, TYPENAME, LEAF, NESTED = range(4)


class Replan(BaseException):
    """Gives up the planned path for graphql-core's. A BaseException, so that graphql-core's
    handlers, which turn every Exception into a field error, let it through."""


class NotCompiled(BaseException):
    """A compiled builder met a field whose resolver must run after all (what a page did not
    load along): the object is completed field by field instead. Builders only read, so
    giving one up halfway leaves nothing behind."""


@dataclass(frozen=True, slots=True)
class Completion:
    """How a value of one output type completes on the planned path."""

    named: GraphQLNamedType
    non_null: bool
    is_list: bool
    item_non_null: bool
    # For a leaf that is not a list: the class whose values serialize to themselves.
    as_is: type | None


@dataclass(frozen=True, slots=True)
class Step:
    """One response key of a selection: what it is, and what the planned path needs for it."""

    key: str
    kind: int
    attribute: str = ""
    completion: Completion | None = None
    # For a field with a resolver the planned path may call itself: its value from the object.
    read: Callable[[Any], Any] | None = None
    # Whether `read` may answer ASK_GRAPHQL_CORE, for the field's own resolver to run.
    may_ask: bool = False

    def value_of(self, source: Any) -> Any:
        try:
            return getattr(source, self.attribute) if self.read is None else self.read(source)
        except Exception:  # graphql-core would place the error
            raise Replan from None


# A reader's answer when the field's resolver must run after all, e.g. to load what a page
# did not.
ASK_GRAPHQL_CORE = object()
# The metadata key of a field whose resolver answers with an attribute of the object when it
# is set (not None), e.g. line items a page loaded with its documents: the planned path reads
# the attribute, and leaves the resolver to graphql-core otherwise.
PRELOADED_IN = "planned.preloaded_in"


@functools.lru_cache(maxsize=4096)
def _planned_field(parent_type: GraphQLObjectType, field_name: str) -> Step | None:
    """How the planned path completes a field without arguments, or None where graphql-core
    must: the attribute a bare field reads, or the reader of a resolver it may call itself."""
    field = parent_type.fields.get(field_name)
    if field is None or field.args:
        return None
    definition = (field.extensions or {}).get("strawberry-definition")
    # Strawberry marks a field without a resolver as default even when permission classes or
    # field extensions wrap the read: those must run, so only a bare attribute is plain.
    if definition is None or definition.extensions or definition.directives:
        return None
    completion = completion_of(field.type)
    if completion is None:
        return None
    kind = NESTED
    if not completion.is_list and isinstance(completion.named, GraphQLScalarType | GraphQLEnumType):
        kind = LEAF
    if definition.base_resolver is None:
        if not getattr(field.resolve, "_is_default", False):
            return None
        return Step(field_name, kind, definition.python_name, completion)
    read, may_ask = _reader(parent_type, definition)
    if read is None:
        return None
    return Step(field_name, kind, definition.python_name, completion, read, may_ask)


def _reader(
    parent_type: GraphQLObjectType, definition: Any
) -> tuple[Callable[[Any], Any] | None, bool]:
    resolver = definition.base_resolver
    preloaded_in = definition.metadata.get(PRELOADED_IN)
    if preloaded_in is not None:
        return _preloaded(preloaded_in), True
    if getattr(resolver.wrapped_func, "__func__", None) is _RELAY_ID:
        return _relay_id(parent_type.name), False
    only_the_object = (
        resolver.self_parameter is not None
        and resolver.info_parameter is None
        and resolver.root_parameter is None
        and resolver.parent_parameter is None
        and not resolver.arguments
        and not resolver.is_async
    )
    return (resolver.wrapped_func if only_the_object else None), False


def _preloaded(attribute: str) -> Callable[[Any], Any]:
    def read(source: Any) -> Any:
        value = getattr(source, attribute)
        return ASK_GRAPHQL_CORE if value is None else value

    return read


# Strawberry's resolver of Node.id, a class method each node type gets bound to itself.
_RELAY_ID = relay.Node.__strawberry_definition__.get_field(
    "_id"
).base_resolver.wrapped_func.__func__  # type: ignore[union-attr]


def _relay_id(type_name: str) -> Callable[[Any], Any]:
    """What strawberry's Node.id answers for a node whose class keeps relay's own ways of
    finding its id and type name."""

    def read(source: Any) -> Any:
        id_attribute = _node_id_attribute(source.__class__)
        if id_attribute is None:
            raise Replan
        node_id = getattr(source, id_attribute)
        if node_id is None:
            raise Replan
        return relay.GlobalID(type_name=type_name, node_id=str(node_id))

    return read


@functools.lru_cache(maxsize=1024)
def _node_id_attribute(node_class: type) -> str | None:
    if not issubclass(node_class, relay.Node):
        return None
    own_ways = (
        node_class.resolve_id.__func__ is relay.Node.resolve_id.__func__  # type: ignore[attr-defined]
        and node_class.resolve_typename.__func__ is relay.Node.resolve_typename.__func__  # type: ignore[attr-defined]
    )
    return node_class.resolve_id_attr() if own_ways else None


@functools.lru_cache(maxsize=4096)
def completion_of(output_type: Any) -> Completion | None:
    """None for what graphql-core completes better: lists of lists, unions, custom resolvers."""
    return_type, non_null = _unwrapped(output_type)
    is_list = isinstance(return_type, GraphQLList)
    item_non_null = False
    if is_list:
        return_type, item_non_null = _unwrapped(return_type.of_type)
        if isinstance(return_type, GraphQLList):
            return None
    if not isinstance(return_type, GraphQLNamedType) or not _plannable(return_type):
        return None
    as_is = None if is_list else _SERIALIZED_AS_IS.get(return_type.name)
    if isinstance(return_type, GraphQLScalarType) and return_type.name in _SERIALIZED_AS_IS:
        # Only graphql-core's own scalars of these names serialize a value of that class as is.
        as_is = as_is if return_type.serialize is _builtin(return_type.name) else None
    return Completion(return_type, non_null, is_list, item_non_null, as_is)


def _builtin(name: str) -> Any:
    return {s.name: s for s in (GraphQLString, GraphQLID, GraphQLBoolean)}[name].serialize


def _unwrapped(output_type: Any) -> tuple[Any, bool]:
    if isinstance(output_type, GraphQLNonNull):
        return output_type.of_type, True
    return output_type, False


def _plannable(named: GraphQLNamedType) -> bool:
    if isinstance(named, GraphQLInterfaceType):
        resolver = named.resolve_type
        return resolver is not None and resolver.__qualname__.endswith(
            _STRAWBERRY_INTERFACE_RESOLVER
        )
    return isinstance(named, GraphQLScalarType | GraphQLEnumType | GraphQLObjectType)


def steps_of(parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> list[Step]:
    steps = []
    for key, field_details_list in grouped_field_set.items():
        node = field_details_list[0].node
        steps.append(_step(parent_type, key, node.name.value, bool(node.arguments)))
    return steps


@functools.lru_cache(maxsize=4096)
def _step(parent_type: GraphQLObjectType, key: str, name: str, has_arguments: bool) -> Step:
    if name == "__typename":
        return Step(key, TYPENAME)
    planned = None if has_arguments else _planned_field(parent_type, name)
    return Step(key, GENERIC) if planned is None else replace(planned, key=key)


@dataclass(frozen=True, slots=True)
class Plan:
    # Held so that no other selection takes its id while the execution runs.
    grouped_field_set: GroupedFieldSet
    steps: list[Step]
    # For a selection of attributes, __typename and such selections below (an amount, a line):
    # one compiled function that completes an object with nothing that can be pending.
    build: Callable[[Any], dict[str, Any]] | None
    # What `build` was compiled from; None when the selection has more than that.
    signature: tuple[Any, ...] | None


class PlannedFields:
    """The part of an executor that completes plain fields; mixed into Portico's executor."""

    schema: GraphQLSchema
    is_awaitable: Callable[[Any], bool]
    collect_subfields: Callable[..., Any]
    execute_field: Callable[..., Any]
    settle_in_background: Callable[[list[Awaitable[Any]]], None]
    # Per execution: the plan of each selection, by the selection's identity (kept alive).
    _planned_steps: dict[int, Plan]
    # Per execution: the runtime type and plan of a list's items, by their class.
    _item_plans: dict[tuple[int, int, type], tuple[GraphQLObjectType, Plan]]

    def plan_of(self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> Plan:
        plan = self._planned_steps.get(id(grouped_field_set))
        if plan is None:
            steps = steps_of(parent_type, grouped_field_set)
            signature = self._signature(parent_type, grouped_field_set, steps)
            build = None if signature is None else compiled_builder(signature)
            plan = Plan(grouped_field_set, steps, build, signature)
            self._planned_steps[id(grouped_field_set)] = plan
        return plan

    def _signature(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet, steps: list[Step]
    ) -> tuple[Any, ...] | None:
        """What a compiled builder needs to know of a selection, if one can complete it: every
        field an attribute or __typename, or an attribute holding an object or a list of
        objects of a type that checks nothing of its values (no interfaces) whose selection
        compiles too."""
        parts: list[tuple[Any, ...]] = []
        for step in steps:
            head = (step.key, step.kind, step.attribute, step.completion, step.read, step.may_ask)
            if step.kind in (LEAF, TYPENAME):
                parts.append(head)
                continue
            completion = step.completion
            if (
                step.kind != NESTED
                or completion is None
                or not isinstance(completion.named, GraphQLObjectType)
                or completion.named.is_type_of is not None
            ):
                return None
            grouped, new_defer_usages, _ = self.collect_subfields(
                completion.named, grouped_field_set[step.key]
            )
            below = None if new_defer_usages else self.plan_of(completion.named, grouped)
            if below is None or below.signature is None:
                return None
            parts.append((*head, below.signature))
        return (parent_type.name, tuple(parts))

    def execute_planned_fields(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        plan = self.plan_of(parent_type, grouped_field_set)
        results: dict[str, Any] = {}
        pending: list[str] = []
        try:
            for step in plan.steps:
                kind = step.kind
                key = step.key
                if kind == LEAF:
                    value = step.value_of(source)
                    completion = step.completion
                    if value is not None and value.__class__ is completion.as_is:  # type: ignore[union-attr]
                        results[key] = value
                    else:
                        results[key] = _leaf(completion, value)  # type: ignore[arg-type]
                    continue
                if kind == TYPENAME:
                    results[key] = parent_type.name
                    continue
                field_details_list = grouped_field_set[key]
                field_path = Path(path, key, parent_type.name)
                value = ASK_GRAPHQL_CORE if kind == GENERIC else step.value_of(source)
                if value is ASK_GRAPHQL_CORE:
                    result = self.execute_field(
                        parent_type, source, field_details_list, field_path, position_context
                    )
                    if result is Undefined:
                        continue
                else:
                    result = self.complete_planned(
                        step.completion,  # type: ignore[arg-type]
                        value,
                        field_details_list,
                        field_path,
                    )
                results[key] = result
                if self.is_awaitable(result):
                    pending.append(key)
        except Replan:  # what was started would race graphql-core's run: it never starts
            discard([results[key] for key in pending])
            raise
        except BaseException:
            if pending:
                self.settle_in_background([results[key] for key in pending])
            raise
        if not pending:
            return results
        return _gathered(results, pending)

    def complete_planned(
        self,
        completion: Completion,
        value: Any,
        field_details_list: FieldDetailsList,
        field_path: Path,
    ) -> Any:
        if value is None:
            if completion.non_null:
                raise Replan
            return None
        if not completion.is_list:
            return self._complete_item(completion.named, value, field_details_list, field_path)
        if not isinstance(value, list | tuple):
            raise Replan
        built = self._built_alike(completion.named, value, field_details_list, field_path)
        if built is not None:
            return built
        items: list[Any] = []
        try:
            for index, item in enumerate(value):
                if item is None and not completion.item_non_null:
                    items.append(None)
                else:
                    items.append(
                        self._complete_item(
                            completion.named, item, field_details_list, field_path, index
                        )
                    )
        except Replan:
            discard([item for item in items if self.is_awaitable(item)])
            raise
        awaitable = [index for index, item in enumerate(items) if self.is_awaitable(item)]
        if not awaitable:
            return items
        return _gathered_list(items, awaitable)

    def _built_alike(
        self,
        named: GraphQLNamedType,
        value: list[Any] | tuple[Any, ...],
        field_details_list: FieldDetailsList,
        field_path: Path,
    ) -> list[Any] | None:
        """A list of objects of one class whose selection compiles (a document's lines): the
        first item is completed as any other, and the rest by the same builder at once. None
        where the items need checking one by one."""
        if not value or value[0] is None or not isinstance(named, GraphQLObjectType):
            return None
        if named.is_type_of is not None:
            return None
        first = self._complete_item(named, value[0], field_details_list, field_path, 0)
        item_class = value[0].__class__
        found = self._item_plans[(id(named), id(field_details_list), item_class)]
        build = found[1].build
        if build is not None and all(item.__class__ is item_class for item in value):
            try:
                return [first, *(build(item) for item in value[1:])]
            except NotCompiled:
                pass
        discard([first] if self.is_awaitable(first) else [])
        return None

    def _complete_item(
        self,
        named: GraphQLNamedType,
        value: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        index: int | None = None,
    ) -> Any:
        if value is None or isinstance(value, Exception):
            raise Replan
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            return _serialized(named, value)
        # The items of a list share their selection and mostly their class: the type and plan
        # are worked out once for each.
        key = (id(named), id(field_details_list), value.__class__)
        found = self._item_plans.get(key)
        if found is None:
            found = self._item_plans[key] = self._item_plan(named, value, field_details_list)
        object_type, plan = found
        if object_type is not named and get_strawberry_type_cast(value) is not None:
            raise Replan
        if object_type.is_type_of is not None and not object_type.is_type_of(value, None):
            raise Replan
        if plan.build is not None:  # an amount, a line: no path, no pending results, no calls
            try:
                return plan.build(value)
            except NotCompiled:
                pass
        if index is not None:
            path = Path(path, index, None)
        try:
            completed = self.execute_planned_fields(
                object_type, value, path, plan.grouped_field_set, None
            )
        except Exception:  # an error below, which graphql-core would place: let it
            raise Replan from None
        if self.is_awaitable(completed):
            return _replanned_on_error(completed)
        return completed

    def _item_plan(
        self, named: GraphQLNamedType, value: Any, field_details_list: FieldDetailsList
    ) -> tuple[GraphQLObjectType, Plan]:
        object_type = (
            self._runtime_type(named, value) if isinstance(named, GraphQLInterfaceType) else named
        )
        grouped, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            raise Replan
        return object_type, self.plan_of(object_type, grouped)

    def _runtime_type(self, abstract: GraphQLAbstractType, value: Any) -> GraphQLObjectType:
        if get_strawberry_type_cast(value) is not None:
            raise Replan
        runtime = _runtime_type_of(self.schema, abstract, type(value))
        if runtime is None:
            raise Replan
        return runtime


def discard(awaitables: Iterable[Any]) -> None:
    """Closes what was started and will not be awaited. A coroutine that never ran holds its
    arguments, e.g. a resolver's coroutine graphql-core was to await: they are closed too,
    or each would be reported as never awaited when collected."""
    for awaitable in awaitables:
        if inspect.iscoroutine(awaitable):
            if inspect.getcoroutinestate(awaitable) == inspect.CORO_CREATED:
                discard(_held(awaitable.cr_frame.f_locals.values()))
            awaitable.close()
        elif isinstance(awaitable, asyncio.Future):
            awaitable.cancel()


def _held(values: Iterable[Any]) -> Iterator[Any]:
    for value in values:
        if inspect.iscoroutine(value) or isinstance(value, asyncio.Future):
            yield value
        elif isinstance(value, list | tuple):
            yield from _held(value)
        elif isinstance(value, dict):
            yield from _held(value.values())


def _leaf(completion: Completion, value: Any) -> Any:
    if value is None:
        if completion.non_null:
            raise Replan
        return None
    if isinstance(value, Exception):
        raise Replan
    return _serialized(completion.named, value)


def _serialized(named: GraphQLScalarType | GraphQLEnumType, value: Any) -> Any:
    try:
        serialized = named.serialize(value)
    except Exception:
        raise Replan from None
    if serialized is None or serialized is Undefined:
        raise Replan
    return serialized


@functools.lru_cache(maxsize=1024)
def _runtime_type_of(
    schema: GraphQLSchema, abstract: GraphQLAbstractType, value_class: type
) -> GraphQLObjectType | None:
    """What Strawberry's interface resolver answers for objects of this class."""
    definition = getattr(value_class, "__strawberry_definition__", None)
    if definition is None or definition.is_graphql_generic:
        return None
    runtime = schema.get_type(definition.name)
    if not isinstance(runtime, GraphQLObjectType) or not schema.is_sub_type(abstract, runtime):
        return None
    return runtime


async def gather_cancelling(*awaitables: Awaitable[Any]) -> list[Any]:
    """graphql-core's gather_with_cancel, which cancels the other awaitables when one raises an
    Exception, and does the same for a Replan: siblings left running would outlive the
    operation given back, racing the rerun for the database and answering nobody. (The lists
    graphql-core completes itself, of unions or of lists, still gather its way; Portico's schema
    has none.)"""
    futures = [ensure_future(awaitable) for awaitable in awaitables]
    try:
        return await gather(*futures)
    except BaseException:
        for future in futures:
            if not future.done():
                future.cancel()
        await gather(*futures, return_exceptions=True)
        raise


async def _gathered(results: dict[str, Any], pending: list[str]) -> dict[str, Any]:
    if len(pending) == 1:
        results[pending[0]] = await results[pending[0]]
    else:
        values = await gather_cancelling(*(results[key] for key in pending))
        results.update(zip(pending, values, strict=True))
    return results


async def _gathered_list(items: list[Any], awaitable: list[int]) -> list[Any]:
    values = await gather_cancelling(*(items[index] for index in awaitable))
    for index, value in zip(awaitable, values, strict=True):
        items[index] = value
    return items


async def _replanned_on_error(completed: Awaitable[Any]) -> Any:
    try:
        return await completed
    except Exception:
        raise Replan from None


# Builders compiled from selections' signatures, shared by every execution: a front end sends
# the same few documents, so there are few, and each is compiled once per process.
_BUILDERS: dict[tuple[Any, ...], Callable[[Any], dict[str, Any]]] = {}


def compiled_builder(signature: tuple[Any, ...]) -> Callable[[Any], dict[str, Any]]:
    build = _BUILDERS.get(signature)
    if build is None:
        build = _BUILDERS[signature] = _compile(signature)
    return build


def _compile(signature: tuple[Any, ...]) -> Callable[[Any], dict[str, Any]]:
    """A function that completes an object of the signature's selection as graphql-core would,
    reading each attribute once, in straight-line code; it raises Replan wherever
    graphql-core would do something else (see the module's docstring)."""
    type_name, parts = signature
    namespace: dict[str, Any] = {
        "Replan": Replan,
        "NotCompiled": NotCompiled,
        "ASK_GRAPHQL_CORE": ASK_GRAPHQL_CORE,
        "Undefined": Undefined,
        "type_name": type_name,
    }
    lines = ["def build(source):", "    try:", "        pass"]  # a selection may be empty
    for index, (_key, kind, attribute, completion, read, may_ask, *below) in enumerate(parts):
        value = f"v{index}"
        if kind == TYPENAME:
            lines.append(f"        {value} = type_name")
            continue
        if read is None:
            lines.append(f"        {value} = {_read(attribute)}")
        else:
            namespace[f"read{index}"] = read
            lines.append(f"        {value} = read{index}(source)")
        if may_ask:
            lines += [f"        if {value} is ASK_GRAPHQL_CORE:", "            raise NotCompiled"]
        lines += _completing(value, index, kind, completion, below, namespace)
    lines += [
        "    except (Replan, NotCompiled):",
        "        raise",
        "    except Exception:",  # an attribute that is not there, a value that does not serialize
        "        raise Replan from None",
        "    return {" + ", ".join(f"{key!r}: v{i}" for i, (key, *_) in enumerate(parts)) + "}",
    ]
    exec(compile("\n".join(lines), f"<planned {type_name}>", "exec"), namespace)  # noqa: S102 - from the schema's own names
    return namespace["build"]


def _null_item(item: Any) -> None:
    if item is not None:  # an error in place of an item, which graphql-core would place
        raise Replan


def _missing_item(item: Any) -> None:
    raise Replan


def _read(attribute: str) -> str:
    if attribute.isidentifier() and not keyword.iskeyword(attribute):
        return f"source.{attribute}"
    return f"getattr(source, {attribute!r})"


def _completing(
    value: str,
    index: int,
    kind: int,
    completion: Completion,
    below: list[tuple[Any, ...]],
    namespace: dict[str, Any],
) -> list[str]:
    """The lines that turn the attribute read into `value` into its completed value."""
    if_none = "raise Replan" if completion.non_null else "pass"
    if kind == NESTED and completion.is_list:
        namespace[f"build{index}"] = compiled_builder(below[0])
        namespace[f"missing{index}"] = _missing_item if completion.item_non_null else _null_item
        complete = [
            f"            if not isinstance({value}, list | tuple):",  # as complete_planned
            "                raise Replan",
            f"            {value} = [missing{index}(item) if item is None or isinstance(item, "
            f"Exception) else build{index}(item) for item in {value}]",
        ]
    elif kind == NESTED:
        namespace[f"build{index}"] = compiled_builder(below[0])
        complete = [f"            {value} = build{index}({value})"]
    else:
        namespace[f"serialize{index}"] = completion.named.serialize
        complete = [
            f"            {value} = serialize{index}({value})",
            f"            if {value} is None or {value} is Undefined:",
            "                raise Replan",
        ]
    lines = [
        f"        if {value} is None:",
        f"            {if_none}",
        f"        elif isinstance({value}, Exception):",
        "            raise Replan",
        "        else:",
        *complete,
    ]
    if completion.as_is is None:
        return lines
    namespace[f"as_is{index}"] = completion.as_is
    indented = ["    " + line for line in lines]
    return [f"        if {value}.__class__ is not as_is{index}:", *indented]
