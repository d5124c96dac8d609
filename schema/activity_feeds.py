"""Live activity shared by identical subscribers.

Subscribers of `portalActivity` with the same document, operation name, variables (but a cursor
that only `after` takes) and audience (schema.audience) would each get the same answer to every
event. In each process they share one ActivityFeed: one follower of the organization's stream,
one execution of the document per event and one encoded `next` payload, which each subscriber's
connection sends as is under its own operation id. The feed runs the document as a strawberry
subscription of its own, with itself as the root value, so its results and errors are exactly
what each subscriber's own execution would have produced; an error that ends it ends them too.

What stays each subscriber's own:

- its replay, executed for it alone: what it missed after its cursor when it subscribes, and
  after it fell behind;
- its place in the stream: it skips what it already has by the activity's position, so replay
  and live delivery meet without gaps or doubles;
- its login: the feed checks its subscribers' logins, all in one query, when the organization
  announces an access change (before it renders anything after the announcement) and every
  REVALIDATE_SECONDS or so whatever the traffic; a subscriber whose login ended gets
  UNAUTHENTICATED and nothing more;
- its pace: the feed never waits on a subscriber. Each holds at most QUEUE_LIMIT events not yet
  sent; one that falls further behind (its client stopped reading) drops them, and once its
  connection takes data again it catches up from the database as a replay, then rejoins.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import FieldNode, GraphQLResolveInfo, Node, VariableNode, Visitor, visit
from graphql.language.visitor import BREAK
from strawberry.utils.aio import aclosing

from auth.errors import Unauthenticated
from auth.principals import Principal
from auth.sessions import ended_logins, login_of
from models.activity import Activity
from resolvers import activity
from resolvers.database_outage import is_database_unreachable
from schema import delivery
from schema.audience import ANSWERS_PER_CONTACT, audience_of
from schema.context import Info
from schema.money import viewer_locale

logger = logging.getLogger("portico.activity")

QUEUE_LIMIT = 1000
REVALIDATE_SECONDS = 30.0

_feeds: dict[Hashable, ActivityFeed] = {}


@contextlib.asynccontextmanager
async def subscribe(
    info: Info, principal: Principal, *, customer_id: int | None, after_seq: int | None
) -> AsyncIterator[FeedSubscriber]:
    """Joins the feed shared by subscribers identical to this one, starting it if there is
    none. `after_seq`: the position after which to replay; None for what happens from now."""
    operation = delivery.current()
    key = _key(operation, info, principal)
    feed = _feeds.get(key)
    if feed is None:
        context = dataclasses.replace(info.context, principal=principal)
        feed = _feeds[key] = ActivityFeed(key, principal, customer_id)
        feed.start(info.schema, operation, context)
    subscriber = FeedSubscriber(feed, principal, customer_id, operation.send_payload)
    feed.subscribers.add(subscriber)
    try:
        if after_seq is not None:
            organization_id = principal.organization_id
            assert organization_id is not None
            subscriber.last = min(after_seq, await activity.stream_top(organization_id))
        await feed.started.wait()
        yield subscriber
    finally:
        feed.subscribers.discard(subscriber)
        if not feed.subscribers:
            feed.close()


def subscriber_count() -> int:
    """Subscribers in this process that have joined their feed's live stream."""
    return sum(
        1 for feed in _feeds.values() for subscriber in feed.subscribers if subscriber.joined
    )


def feed_count() -> int:
    return len(_feeds)


class ActivityFeed:
    """One execution per event for every identical subscriber in this process."""

    def __init__(self, key: Hashable, principal: Principal, customer_id: int | None) -> None:
        self.key = key
        self.principal = principal
        self.customer_id = customer_id
        self.subscribers: set[FeedSubscriber] = set()
        # Set once the feed follows the stream, or has ended without getting that far.
        self.started = asyncio.Event()
        self.ended = False
        self._follower: activity.Follower | None = None
        self._rendering: Activity | None = None
        self._task: asyncio.Task[None] | None = None
        self._checker: asyncio.Task[None] | None = None

    @property
    def position(self) -> int:
        """Every event up to here has been offered to the subscribers, if they may see it."""
        return self._follower.position.last if self._follower is not None else 0

    def start(self, schema: Any, operation: delivery.ClientOperation, context: Any) -> None:
        self._task = asyncio.create_task(self._run(schema, operation, context))
        self._checker = asyncio.create_task(self._check_logins_now_and_then())

    def close(self) -> None:
        if _feeds.get(self.key) is self:
            del _feeds[self.key]
        for task in (self._task, self._checker):
            if task is not None:
                task.cancel()

    async def check_logins(self) -> None:
        """Ends the subscriptions whose login no longer stands: one query for all of them."""
        subscribers = list(self.subscribers)
        ended = await ended_logins(subscriber.principal for subscriber in subscribers)
        for subscriber in subscribers:
            if login_of(subscriber.principal) in ended:
                subscriber.end_login()

    async def _check_logins_now_and_then(self) -> None:
        """Catches what is never announced (expiry, a revocation that told no one)."""
        while True:
            # Spread out, or the feeds started in one burst check at the same moment.
            await asyncio.sleep(REVALIDATE_SECONDS * random.uniform(0.75, 1.25))  # noqa: S311
            try:
                await self.check_logins()
            except Exception as exc:  # tried again next time; until then nothing changes
                if is_database_unreachable(exc):
                    logger.warning("Live subscribers' logins unchecked: database unreachable")
                else:
                    logger.exception("Live subscribers' logins unchecked")

    async def rows(self) -> AsyncIterator[Activity]:
        """The source of the shared execution (`portalActivity` with the feed as root value)."""
        async with activity.following(self.principal, self.customer_id) as follower:
            self._follower = follower
            self.started.set()
            async for event in follower.events():
                if event == activity.ACCESS_CHANGED:
                    # Before the next event, so none reaches a login that has just ended.
                    await self.check_logins()
                    continue
                assert isinstance(event, Activity)
                self._rendering = event
                yield event
                self._rendering = None

    async def _run(self, schema: Any, operation: delivery.ClientOperation, context: Any) -> None:
        try:
            results = await schema.subscribe(
                operation.query,
                variable_values=dict(operation.variables or {}),
                context_value=context,
                root_value=self,
                operation_name=operation.operation_name,
            )
            async with aclosing(results):
                async for result in results:
                    self._offer(result)
        except Exception:  # strawberry reports errors as results; this is a fault of ours
            logger.exception("The live activity feed failed")
        finally:
            self.ended = True
            self.started.set()
            if self._checker is not None:
                self._checker.cancel()
            if _feeds.get(self.key) is self:
                del _feeds[self.key]
            for subscriber in self.subscribers:
                subscriber.wake()

    def _offer(self, result: GraphQLExecutionResult) -> None:
        payload = delivery.encoded_payload(result)
        # The source waits at its yield while its event is executed; anything else (an error
        # that ends the feed) belongs to no event.
        seq = self._rendering.seq if self._rendering is not None else None
        for subscriber in self.subscribers:
            subscriber.offer(seq, payload)


class FeedSubscriber:
    def __init__(
        self,
        feed: ActivityFeed,
        principal: Principal,
        customer_id: int | None,
        send_payload: Callable[[delivery.EncodedPayload], Awaitable[None]],
    ) -> None:
        self.feed = feed
        self.principal = principal
        self.customer_id = customer_id
        # The newest position it has (or had no right to see); None: it starts where the feed is.
        self.last: int | None = None
        self.joined = False
        self._send_payload = send_payload
        self._behind = True  # it replays before it takes the live stream
        self._pending: deque[tuple[int | None, delivery.EncodedPayload]] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._login_ended = False

    def offer(self, seq: int | None, payload: delivery.EncodedPayload) -> None:
        """From the feed; never waits."""
        if seq is not None:
            if self._behind:
                return
            if len(self._pending) >= QUEUE_LIMIT:
                self._pending.clear()
                self._behind = True
                self.wake()
                return
        self._pending.append((seq, payload))
        self.wake()

    def end_login(self) -> None:
        """From the feed: nothing more reaches this subscriber, but the error that says why."""
        self._login_ended = True
        self.wake()

    def wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def catch_up(self) -> AsyncIterator[Activity]:
        """Its own replay, up to where the feed is: whatever the feed offers from now on comes
        after it."""
        upto = self.feed.position
        self._behind = False
        self.joined = True
        if self.last is None:
            self.last = upto
            return
        position = activity.Position(self.principal, self.customer_id, self.last)
        async for row in position.catch_up(upto):
            self._check_login()
            yield row
        self.last = max(self.last, upto)

    async def relay(self) -> bool:
        """Sends what the feed offers until the subscriber falls behind (True: catch up, then
        relay again) or the feed ends (False)."""
        while True:
            self._check_login()
            if self._behind:
                return True
            elif self._pending:
                seq, payload = self._pending.popleft()
                assert self.last is not None  # caught up first
                if seq is None or seq > self.last:
                    await self._send_payload(payload)
                    self.last = seq if seq is not None else self.last
            elif self.feed.ended:
                return False
            else:
                await self._wait()

    async def _wait(self) -> None:
        self._wakeup = asyncio.get_running_loop().create_future()
        try:
            await self._wakeup
        finally:
            self._wakeup = None

    def _check_login(self) -> None:
        if self._login_ended:
            raise Unauthenticated("Your session has ended.")


def _key(operation: delivery.ClientOperation, info: Info, principal: Principal) -> Hashable:
    raw_info = info._raw_info
    per_contact = _selects_any(raw_info, ANSWERS_PER_CONTACT)
    return (
        operation.query,
        operation.operation_name,
        _shared_variables(operation, raw_info),
        audience_of(principal, per_contact=per_contact),
        # Amounts are formatted in it (Money.formatted): the same audience, but a customer
        # whose portal language changed meanwhile reads the new one.
        viewer_locale(),
    )


def _selects_any(info: GraphQLResolveInfo, names: frozenset[str]) -> bool:
    """Whether the document selects a field of one of these names anywhere (every fragment of
    a valid document is used)."""
    finder = _FieldFinder(names)
    for place in (info.operation, *info.fragments.values()):
        visit(place, finder)
    return finder.found


def _shared_variables(operation: delivery.ClientOperation, info: GraphQLResolveInfo) -> str:
    """The variables that can change an event's result: those the operation declares, but one
    that only carries the subscriber's cursor to `after`."""
    declared = {
        definition.variable.name.value for definition in info.operation.variable_definitions or ()
    }
    declared.discard(_cursor_variable(info))
    values = operation.variables or {}
    return json.dumps({name: values[name] for name in declared if name in values}, sort_keys=True)


def _cursor_variable(info: GraphQLResolveInfo) -> str | None:
    """The variable given to the subscription's `after` and used nowhere else, if any."""
    cursors = [
        argument.value
        for node in info.field_nodes
        for argument in node.arguments or ()
        if argument.name.value == "after"
    ]
    if not cursors or not all(isinstance(value, VariableNode) for value in cursors):
        return None
    names = {value.name.value for value in cursors}  # type: ignore[attr-defined]
    if len(names) != 1:
        return None
    [name] = names
    places: list[Node] = [info.operation.selection_set, *(info.operation.directives or ())]
    for fragment in info.fragments.values():
        places.extend([fragment.selection_set, *(fragment.directives or ())])
    return name if _uses(places, name) == len(cursors) else None


def _uses(places: Iterable[Node], name: str) -> int:
    counter = _VariableUses(name)
    for place in places:
        visit(place, counter)
    return counter.count


class _FieldFinder(Visitor):
    def __init__(self, names: frozenset[str]) -> None:
        super().__init__()
        self.names = names
        self.found = False

    def enter_field(self, node: FieldNode, *_: object) -> object:
        if node.name.value in self.names:
            self.found = True
            return BREAK
        return None


class _VariableUses(Visitor):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.count = 0

    def enter_variable(self, node: VariableNode, *_: object) -> None:
        if node.name.value == self.name:
            self.count += 1
