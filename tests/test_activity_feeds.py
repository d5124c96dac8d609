"""Identical subscribers of `portalActivity` share one execution and one encoded message per
event (schema.activity_feeds); what each receives is still exactly its own."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLError, GraphQLObjectType, get_named_type
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation
from strawberry.types import ExecutionResult

from auth.api_keys import ApiScope, issue_api_key, principal_for_api_key
from auth.principals import ContactPrincipal, PartnerPrincipal, Principal, StaffPrincipal
from auth.sessions import SessionPolicy, ended_logins, login_of, start_session
from integrations import broker
from models.activity import ActivityKind
from models.api_keys import ApiKey
from models.customers import ContactPerson, PortalAccess
from models.sessions import Session
from resolvers import activity, transactions
from schema import activity_feeds, delivery
from schema.audience import ANSWERS_PER_CONTACT, audience_of
from schema.money import Money
from schema.root import build_schema
from server import transport_ws
from server.graphql import PorticoGraphQL
from server.settings import Settings
from tests import graphql_ws
from tests.conftest import QueryCounter, World, until
from tests.test_activity import following, websocket_client

EVERYTHING = """subscription($customerId: ID, $after: String) {
  portalActivity(customerId: $customerId, after: $after) {
    cursor
    node {
      id kind visibleToCustomer documentNumber excerpt
      actor { kind name staffUser { name } contactPerson { name mfaEnabled lastLoginAt } }
      customer { displayName creditLimit { amount } contactPersons { email mfaEnabled } }
      contactPerson { email mfaEnabled }
      amount { amount formatted }
    }
  }
}"""
KINDS = "subscription($after: String) { portalActivity(after: $after) { cursor node { kind } } }"
AMOUNTS = """subscription($after: String) {
  portalActivity(after: $after) { cursor node { amount { amount } } } }"""
BROKEN_AMOUNT = 666


def cursor_at(seq: int) -> str:
    """A cursor for the position `seq` (activity cursors are base64url JSON [seq, id])."""
    raw = json.dumps([seq, 0], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def seq_of(message: dict[str, Any]) -> int:
    cursor = message["payload"]["data"]["portalActivity"]["cursor"]
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return json.loads(raw)[0]


async def event(
    organization_id: int,
    kind: ActivityKind = ActivityKind.PAYMENT_MADE,
    *,
    actor: Principal | None = None,
    customer_id: int | None = None,
    data: dict[str, Any] | None = None,
    visible_to_customer: bool | None = None,
) -> None:
    async with transactions.unit_of_work():
        activity.record(
            kind,
            actor=actor,
            organization_id=organization_id,
            customer_id=customer_id,
            data=data,
            visible_to_customer=visible_to_customer,
        )


async def payment(world: World, amount_minor: int = 1250) -> None:
    data = {"amount_minor": amount_minor, "currency": "USD"}
    await event(world.org_a.id, customer_id=world.customer_a.id, data=data)


async def drain(ws: graphql_ws.GraphQLWebSocket, quiet: float = 0.5) -> list[dict[str, Any]]:
    """Every message until `quiet` seconds pass without one."""
    return [json.loads(text) for text in await drain_text(ws, quiet)]


async def drain_text(ws: graphql_ws.GraphQLWebSocket, quiet: float = 0.5) -> list[str]:
    """The same, each message as the server encoded it."""
    messages = []
    while True:
        try:
            messages.append(await ws.receive_text(within=quiet))
        except TimeoutError:
            return messages


def same_but_for_error_order(one: str, other: str) -> bool:
    """Two `next` frames alike byte for byte, but for the order of their errors: graphql-core
    lists errors as resolvers finish, which two executions of one document need not do in the
    same order (nor two per-subscriber executions). The data comes first and must be the same
    bytes; the errors, parsed, the same set; the frames, the same length."""
    if one == other:
        return True
    head, found, _ = one.partition(',"errors":')
    if not found or not other.startswith(head + found) or len(one) != len(other):
        return False
    first, second = (json.loads(text)["payload"]["errors"] for text in (one, other))
    return sorted(map(json.dumps, first)) == sorted(map(json.dumps, second))


def by_operation(messages: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        grouped.setdefault(message["id"], []).append(message)
    return grouped


async def partner_key(world: World, *scopes: str) -> str:
    secret, _ = await issue_api_key(
        organization_id=world.org_a.id,
        name=f"Live {len(scopes)}",
        scopes=[ApiScope.ACTIVITY_READ, ApiScope.ACTIVITY_SUBSCRIBE, *scopes],
        created_by_id=world.admin.id,
    )
    return secret


async def second_contact_of_customer_a(world: World, db: Settings) -> tuple[ContactPerson, str]:
    contact = await ContactPerson.create(
        organization=world.org_a,
        customer=world.customer_a,
        first_name="Abe",
        last_name="Acorn",
        email="abe@acorn.example",
        portal_access=PortalAccess.ACTIVE,
    )
    token, _ = await start_session(SessionPolicy.from_settings(db), contact=contact)
    return contact, token


@pytest.mark.slow
async def test_identical_subscribers_share_one_execution_per_event(
    db, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    executions: Counter[str] = Counter()
    money_of = Money.of.__func__  # type: ignore[attr-defined]
    encode = delivery.encoded_payload

    def counted_money(cls: type[Money], minor: int, currency: str) -> Money:
        executions["amount"] += 1
        return money_of(cls, minor, currency)

    def counted_encoding(result: Any) -> delivery.EncodedPayload:
        executions["encoding"] += 1
        return encode(result)

    monkeypatch.setattr(Money, "of", classmethod(counted_money))
    monkeypatch.setattr(delivery, "encoded_payload", counted_encoding)
    async with (
        websocket_client(db) as ws_http,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as first,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as second,
    ):
        # Different cursors (one from the start) do not make subscribers different.
        for ws, variables in ((first, {}), (first, {"after": cursor_at(0)}), (first, {}),
                              (second, {"after": cursor_at(0)}), (second, {})):  # fmt: skip
            await ws.subscribe(AMOUNTS, variables)
        await following(5)
        assert activity_feeds.feed_count() == 1
        for _ in range(3):
            await payment(world)
        received = by_operation([*await drain(first), *await drain(second)])
        # Operations 1 and 2 on both connections, 3 on the first: three events each.
        assert {op: len(messages) for op, messages in received.items()} == {"1": 6, "2": 6, "3": 3}
        assert executions == {"amount": 3, "encoding": 3}

        # A portal contact is another audience: two executions per event from now on.
        async with graphql_ws.connect(ws_http, token=world.tokens["contact_a"]) as contact:
            await contact.subscribe(AMOUNTS)
            await following(6)
            await payment(world)
            assert len(await drain(contact)) == 1
            assert executions == {"amount": 5, "encoding": 5}
    await until(lambda: activity_feeds.feed_count() == 0)


@pytest.mark.slow
async def test_every_audience_receives_exactly_what_its_own_execution_gives(
    db, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff of two roles, two contacts of one customer, one of another, partner keys with and
    without customers:read, a key limited to the first customer, two subscribers each: what
    each receives live from its shared feed is, byte for byte, what replaying the same events
    executes for it alone (strawberry's own path); no audience receives what only another may
    see."""
    money_of = Money.of.__func__  # type: ignore[attr-defined]

    def breaks_on_one_amount(cls: type[Money], minor: int, currency: str) -> Money:
        if minor == BROKEN_AMOUNT:
            raise RuntimeError("a fault inside a resolver")
        return money_of(cls, minor, currency)

    monkeypatch.setattr(Money, "of", classmethod(breaks_on_one_amount))
    second_contact, second_contact_token = await second_contact_of_customer_a(world, db)
    tokens = {
        "staff": world.tokens["staff"],
        "admin": world.tokens["admin"],
        "contact_a": world.tokens["contact_a"],
        "second_contact_a": second_contact_token,
        "contact_b": world.tokens["contact_b"],
        "partner": await partner_key(world, ApiScope.CUSTOMERS_READ),
        "partner_without_customers": await partner_key(world),
        "customer_key_a": world.tokens["customer_key"],  # every scope, Acorn's rows only
    }
    org = world.org_a.id
    ann = ContactPrincipal(world.contact_a)
    staff = StaffPrincipal(world.staff)
    async with websocket_client(db) as ws_http:
        async with contextlib.AsyncExitStack() as stack:
            connections = []
            for name, token in tokens.items():
                for _ in range(2):
                    ws = await stack.enter_async_context(graphql_ws.connect(ws_http, token=token))
                    await ws.subscribe(EVERYTHING)
                    connections.append((name, ws))
            await following(2 * len(tokens))
            assert activity_feeds.feed_count() == len(tokens)  # one feed per audience
            await event(org, actor=ann, customer_id=world.customer_a.id,
                        data={"amount_minor": 1250, "currency": "USD",
                              "contact_id": world.contact_a.id})  # fmt: skip
            await event(org, customer_id=world.customer_b.id,
                        data={"amount_minor": 990, "currency": "USD"})  # fmt: skip
            await event(org, ActivityKind.FIRST_LOGIN, actor=ContactPrincipal(second_contact),
                        customer_id=world.customer_a.id)  # fmt: skip
            await event(org, ActivityKind.DOCUMENT_SHARED, actor=staff,
                        customer_id=world.customer_a.id)  # fmt: skip
            await event(org, ActivityKind.PREFERENCES_CHANGED, actor=StaffPrincipal(world.admin))
            await event(org, customer_id=world.customer_a.id,
                        data={"amount_minor": BROKEN_AMOUNT, "currency": "USD"})  # fmt: skip
            # Comments on Acorn's documents: one between staff only, one Acorn sees.
            await event(org, ActivityKind.COMMENT_ADDED, actor=staff,
                        customer_id=world.customer_a.id, visible_to_customer=False,
                        data={"excerpt": "Margin on this one is thin"})  # fmt: skip
            await event(org, ActivityKind.COMMENT_ADDED, actor=staff,
                        customer_id=world.customer_a.id, visible_to_customer=True,
                        data={"excerpt": "Your order has shipped"})  # fmt: skip
            drained = await asyncio.gather(*(drain_text(ws) for _, ws in connections))
        live: dict[str, list[list[str]]] = {}
        for (name, _), texts in zip(connections, drained, strict=True):
            live.setdefault(name, []).append(texts)

        for name, (one, other) in live.items():
            assert one == other, name  # one execution and one encoding for both
        received = {name: [json.loads(text) for text in texts[0]] for name, texts in live.items()}
        kinds = {name: [m["payload"]["data"]["portalActivity"]["node"]["kind"] for m in messages]
                 for name, messages in received.items()}  # fmt: skip
        assert len(kinds["staff"]) == len(kinds["admin"]) == 8
        customer_a_sees = ["PAYMENT_MADE", "DOCUMENT_SHARED", "PAYMENT_MADE", "COMMENT_ADDED"]
        assert kinds["contact_a"] == kinds["second_contact_a"] == customer_a_sees
        assert kinds["customer_key_a"] == customer_a_sees
        assert kinds["contact_b"] == ["PAYMENT_MADE"]
        assert "Acorn" not in "".join(live["contact_b"][0])
        assert "Birch" not in "".join(live["contact_a"][0] + live["second_contact_a"][0])
        assert "Birch" not in "".join(live["customer_key_a"][0])
        for name in ("contact_a", "second_contact_a", "contact_b", "customer_key_a"):
            assert "Margin on this one is thin" not in "".join(live[name][0]), name
        assert "Margin on this one is thin" in "".join(live["staff"][0])
        assert live["contact_a"] != live["second_contact_a"]  # whose MFA state shows differs

        for name, token in tokens.items():
            async with graphql_ws.connect(ws_http, token=token) as ws:
                await ws.subscribe(EVERYTHING, {"after": cursor_at(0)})
                replayed = [await ws.receive_text() for _ in live[name][0]]
                for own, shared in zip(replayed, live[name][0], strict=True):
                    assert same_but_for_error_order(own, shared), name
                await ws.expect_silence()


@pytest.mark.slow
async def test_shared_frames_are_the_bytes_each_subscribers_own_execution_sends(
    db, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff, two contacts of one customer (one audience: the document asks nothing that
    answers per contact) and a contact of another: every live frame, errors included, is byte
    for byte what strawberry sends when the subscriber's own execution replays the event. With
    one async field per event, graphql-core lists errors in one order, so no allowance needed."""
    document = """subscription($after: String) { portalActivity(after: $after) { cursor node {
      id kind excerpt visibleToCustomer documentNumber amount { amount formatted }
      actor { kind name staffUser { name } } } } }"""
    money_of = Money.of.__func__  # type: ignore[attr-defined]

    def breaks_on_one_amount(cls: type[Money], minor: int, currency: str) -> Money:
        if minor == BROKEN_AMOUNT:
            raise RuntimeError("a fault inside a resolver")
        return money_of(cls, minor, currency)

    monkeypatch.setattr(Money, "of", classmethod(breaks_on_one_amount))
    _, second_contact_token = await second_contact_of_customer_a(world, db)
    tokens = {
        "staff": world.tokens["staff"],
        "contact_a": world.tokens["contact_a"],
        "second_contact_a": second_contact_token,
        "contact_b": world.tokens["contact_b"],
    }
    org, staff = world.org_a.id, StaffPrincipal(world.staff)
    async with websocket_client(db) as ws_http:
        async with contextlib.AsyncExitStack() as stack:
            connections = {}
            for name, token in tokens.items():
                ws = await stack.enter_async_context(graphql_ws.connect(ws_http, token=token))
                await ws.subscribe(document)
                connections[name] = ws
            await following(len(tokens))
            assert activity_feeds.feed_count() == 3  # staff, Acorn's contacts, Birch's contact
            await payment(world)
            await event(org, customer_id=world.customer_b.id,
                        data={"amount_minor": 990, "currency": "USD"})  # fmt: skip
            await event(org, ActivityKind.COMMENT_ADDED, actor=staff,
                        customer_id=world.customer_a.id, visible_to_customer=False,
                        data={"excerpt": "Margin on this one is thin"})  # fmt: skip
            await event(org, ActivityKind.COMMENT_ADDED, actor=staff,
                        customer_id=world.customer_a.id, visible_to_customer=True,
                        data={"excerpt": "Your order has shipped"})  # fmt: skip
            await payment(world, BROKEN_AMOUNT)
            drained = await asyncio.gather(*(drain_text(ws) for ws in connections.values()))
        live = dict(zip(connections, drained, strict=True))

        assert [len(live[name]) for name in tokens] == [5, 3, 3, 1]
        assert live["contact_a"] == live["second_contact_a"]
        assert "Margin" in "".join(live["staff"]) and "Margin" not in "".join(live["contact_a"])
        errors = json.loads(live["contact_a"][-1])["payload"]["errors"]
        assert [error["path"][-1] for error in errors] == ["amount", "staffUser"]
        for name, token in tokens.items():
            async with graphql_ws.connect(ws_http, token=token) as ws:
                await ws.subscribe(document, {"after": cursor_at(0)})
                assert [await ws.receive_text() for _ in live[name]] == live[name], name
                await ws.expect_silence()


LONE_SURROGATE = "\ud800"  # what orjson refuses to write, the json module writes escaped


@pytest.mark.parametrize(
    ("operation_id", "excerpt"),
    [
        ("op-7", 'say "hi" \u2603'),
        ("caf\u00e9", "plain"),
        ("op-7", f"stored {LONE_SURROGATE} once"),
        ("caf\u00e9", f"stored {LONE_SURROGATE} once"),
        (f"op-{LONE_SURROGATE}", 'say "hi" \u2603'),
    ],
)
async def test_a_shared_next_frame_is_the_one_strawberry_builds(
    db: Settings, operation_id: str, excerpt: str
) -> None:
    """The frame spliced around a payload encoded once is what strawberry's own `send_next`
    gives the endpoint to encode, for data, errors and extensions, whichever encoder writes
    the whole (orjson, or the json module for what orjson refuses)."""
    sent: list[dict[str, Any]] = []

    class Handler:
        async def send_message(self, message: dict[str, Any]) -> None:
            sent.append(message)

    error = GraphQLError(
        "Not \u00e9 here", path=["portalActivity", "node", 0], extensions={"code": "FORBIDDEN"}
    )
    result = ExecutionResult(
        data={"portalActivity": {"cursor": "WzEsMV0", "node": {"excerpt": excerpt}}},
        errors=[error],
        extensions={"cost": 3},
    )
    operation = Operation(Handler(), operation_id, "", None, None)  # type: ignore[arg-type]
    await operation.send_next(result)
    shared = delivery.NextFrames(operation_id).around(delivery.encoded_payload(result))
    assert shared == PorticoGraphQL(db).encode_json(sent[0])


@pytest.mark.slow
async def test_leaving_subscribers_are_cleaned_up_and_the_others_go_on(db, world: World) -> None:
    hub = broker.current().hub  # type: ignore[attr-defined]
    async with (
        websocket_client(db) as ws_http,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as first,
    ):
        leaving, staying = await first.subscribe(KINDS), await first.subscribe(KINDS)
        async with graphql_ws.connect(ws_http, token=world.tokens["staff"]) as second:
            await second.subscribe(KINDS)
            await following(3)
            await first.complete(leaving)
            await following(2)
            await payment(world)
            assert [(m["id"], seq_of(m)) for m in await drain(first)] == [(staying, 1)]
            assert [seq_of(m) for m in await drain(second)] == [1]
        # The second connection went away without a word.
        await following(1)
        assert activity_feeds.feed_count() == 1 and hub.subscriber_count() == 1
        await payment(world)
        assert [(m["id"], seq_of(m)) for m in await drain(first)] == [(staying, 2)]
        await first.complete(staying)
        await until(lambda: activity_feeds.feed_count() == 0 and hub.subscriber_count() == 0)
        await payment(world)
        await first.expect_silence()


@pytest.mark.slow
async def test_a_fault_that_ends_the_shared_execution_ends_each_subscription_as_before(
    db, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault in the stream itself (not in one field) ends the operation: each subscriber
    gets the error and `complete`, as with an execution of its own; the next one starts
    afresh."""
    take = activity.Position.take
    faults = [RuntimeError("the stream broke")]

    async def breaks_once(self: activity.Position, row: Any) -> Any:
        if faults:
            raise faults.pop()
        async for earlier in take(self, row):
            yield earlier

    monkeypatch.setattr(activity.Position, "take", breaks_once)
    async with (
        websocket_client(db) as ws_http,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as first,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as second,
    ):
        await first.subscribe(KINDS)
        await second.subscribe(KINDS)
        await following(2)
        await payment(world)
        ended = [await drain_text(first), await drain_text(second)]
        assert ended[0] == ended[1]
        error, complete = map(json.loads, ended[0])
        assert error["type"] == "next" and error["payload"]["data"] is None
        assert [e["message"] for e in error["payload"]["errors"]] == ["the stream broke"]
        assert complete == {"id": "1", "type": "complete"}
        await until(lambda: activity_feeds.feed_count() == 0)

        await first.subscribe(KINDS)
        await following(1)
        await payment(world)
        assert [seq_of(m) for m in await drain(first)] == [2]


async def test_subscribers_that_differ_share_nothing(db, world: World) -> None:
    on_files = """subscription($after: String) { portalActivity(after: $after) {
      cursor node { customer { sharedFiles(after: $after) { totalCount } } } } }"""
    async with (
        websocket_client(db) as ws_http,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as ws,
    ):
        await ws.subscribe(KINDS, {"after": cursor_at(0)})
        await ws.subscribe(KINDS, {"after": None})
        await following(2)
        assert activity_feeds.feed_count() == 1
        await ws.subscribe(EVERYTHING, {"customerId": None})
        await ws.subscribe(EVERYTHING, {"customerId": "Q3VzdG9tZXI6MQ=="})
        await following(4)
        assert activity_feeds.feed_count() == 3
        # Here the cursor also pages the files, so it is part of what a subscriber sees.
        await ws.subscribe(on_files, {"after": None})
        await ws.subscribe(on_files, {"after": cursor_at(0)})
        await following(6)
        assert activity_feeds.feed_count() == 5


@pytest.mark.slow
async def test_replay_meets_the_live_stream_without_gaps_or_doubles(db, world: World) -> None:
    """Subscribers join, from cursors and from now, while events keep coming."""
    total = 30
    async with (
        websocket_client(db) as ws_http,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as first,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as second,
    ):
        starts: dict[tuple[int, str], int | None] = {}

        async def produce() -> None:
            for _ in range(total):
                await payment(world)
                await asyncio.sleep(0.01)

        producer = asyncio.create_task(produce())
        for index in range(10):
            ws = (first, second)[index % 2]
            seen = await activity.stream_top(world.org_a.id)
            start = seen - index % 3 if index % 4 else None
            variables = {"after": cursor_at(max(start, 0))} if start is not None else {}
            operation = await ws.subscribe(KINDS, variables)
            starts[(index % 2, operation)] = max(start, 0) if start is not None else None
            await asyncio.sleep(0.02)
        await producer
        received = [by_operation(await drain(first)), by_operation(await drain(second))]
    assert await activity.stream_top(world.org_a.id) == total
    for (connection, operation), start in starts.items():
        seqs = [seq_of(message) for message in received[connection][operation]]
        assert seqs, (start, "joined while events came, yet received none")
        first_seq = seqs[0] if start is None else start + 1
        assert seqs == list(range(first_seq, total + 1)), (start, seqs)


@pytest.mark.slow
async def test_a_slow_subscriber_delays_no_one_and_catches_up_from_the_database(
    db, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = asyncio.Event()
    slow_sends: list[delivery.EncodedPayload] = []
    send = transport_ws._PayloadSender.__call__

    async def slow_for_operation_2(
        self: transport_ws._PayloadSender, payload: delivery.EncodedPayload
    ) -> None:
        if self.operation.id == "2":
            slow_sends.append(payload)
            await released.wait()  # its client reads nothing
        await send(self, payload)

    monkeypatch.setattr(transport_ws._PayloadSender, "__call__", slow_for_operation_2)
    monkeypatch.setattr(activity_feeds, "QUEUE_LIMIT", 2)
    async with (
        websocket_client(db) as ws_http,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as fast,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as mixed,
    ):
        await fast.subscribe(KINDS)
        await mixed.subscribe(KINDS)
        await mixed.subscribe(KINDS)  # operation 2: stuck sending its first event
        await following(3)
        for _ in range(6):
            await payment(world)
        assert [seq_of(m) for m in await drain(fast)] == [1, 2, 3, 4, 5, 6]
        assert [seq_of(m) for m in await drain(mixed)] == [1, 2, 3, 4, 5, 6]
        assert len(slow_sends) == 1

        released.set()
        caught_up = await drain(mixed)
        assert [(m["id"], seq_of(m)) for m in caught_up] == [("2", seq) for seq in range(1, 7)]
        assert len(slow_sends) == 1  # 2 to 6 were dropped, then replayed from the database
        await payment(world)
        assert sorted((m["id"], seq_of(m)) for m in await drain(mixed)) == [("1", 7), ("2", 7)]


@pytest.mark.slow
async def test_a_subscriber_whose_login_ends_stops_and_the_others_go_on(
    client, db, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(activity_feeds, "REVALIDATE_SECONDS", 0.3)
    policy = SessionPolicy.from_settings(db)
    second_token, second_session = await start_session(policy, staff_user=world.staff)
    third_token, third_session = await start_session(policy, staff_user=world.staff)
    async with (
        websocket_client(db) as ws_http,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as staying,
        graphql_ws.connect(ws_http, token=second_token) as logging_out,
        graphql_ws.connect(ws_http, token=third_token) as revoked,
    ):
        for ws in (staying, logging_out, revoked):
            await ws.subscribe(KINDS)
        await following(3)
        assert activity_feeds.feed_count() == 1

        # Logging out announces the change: that subscriber hears nothing after it.
        logout = await client.post(
            "/graphql",
            json={"query": "mutation { logout { errors { code } } }"},
            headers={"Authorization": f"Bearer {second_token}"},
        )
        assert logout.status_code == 200
        await payment(world)
        ended = await drain(logging_out)
        assert ended[0]["type"] == "next" and "UNAUTHENTICATED" in json.dumps(ended[0])
        assert [m["type"] for m in ended[1:]] == ["complete"]
        assert [seq_of(m) for m in await drain(revoked)] == [1]

        # A session ended without announcement (expiry, a revocation elsewhere) is noticed
        # by the subscriber's own check within REVALIDATE_SECONDS or so.
        await Session.filter(id=third_session.id).update(revoked_at=datetime.now(UTC))
        await asyncio.sleep(0.6)
        await payment(world)
        ended = await drain(revoked)
        assert ended[0]["type"] == "next" and "UNAUTHENTICATED" in json.dumps(ended[0])
        assert [m["type"] for m in ended[1:]] == ["complete"]

        assert [seq_of(m) for m in await drain(staying)] == [1, 2]
    assert second_session.id != third_session.id


async def test_logins_that_ended_are_found_in_one_query_for_every_session(
    db, world: World, count_queries: QueryCounter
) -> None:
    policy = SessionPolicy.from_settings(db)
    now = datetime.now(UTC)
    sessions = {}
    for name, account in (("live", {"staff_user": world.staff}),
                          ("revoked", {"staff_user": world.staff}),
                          ("expired", {"staff_user": world.admin}),
                          ("contact", {"contact": world.contact_a}),
                          ("disabled contact", {"contact": world.contact_b})):  # fmt: skip
        sessions[name] = (await start_session(policy, **account))[1]
    await Session.filter(id=sessions["revoked"].id).update(revoked_at=now)
    await Session.filter(id=sessions["expired"].id).update(expires_at=now - timedelta(seconds=1))
    await ContactPerson.filter(id=world.contact_b.id).update(portal_access=PortalAccess.DISABLED)
    live_key, _ = await principal_for_api_key(await partner_key(world))
    revoked_key, _ = await principal_for_api_key(await partner_key(world, ApiScope.CUSTOMERS_READ))
    assert isinstance(revoked_key, PartnerPrincipal)
    await ApiKey.filter(id=revoked_key.api_key.id).update(revoked_at=now)
    principals = {
        "live": StaffPrincipal(world.staff, sessions["live"].id),
        "live again": StaffPrincipal(world.staff, sessions["live"].id),  # a second tab
        "revoked": StaffPrincipal(world.staff, sessions["revoked"].id),
        "expired": StaffPrincipal(world.admin, sessions["expired"].id),
        "contact": ContactPrincipal(world.contact_a, sessions["contact"].id),
        "disabled contact": ContactPrincipal(world.contact_b, sessions["disabled contact"].id),
        "no session": StaffPrincipal(world.staff),
        "live key": live_key,
        "revoked key": revoked_key,
    }
    count_queries.reset()
    ended = await ended_logins(principals.values())
    gone = ("revoked", "expired", "disabled contact", "no session", "revoked key")
    assert ended == {login_of(principals[name]) for name in gone}
    assert count_queries.touching("session") == 1


@pytest.mark.slow
async def test_identical_subscribers_catch_up_from_the_database_together(db, world: World) -> None:
    """Events published nowhere (a broker outage) reach every subscriber once on RESYNC."""
    memory = broker.current()
    async with (
        websocket_client(db) as ws_http,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as ws,
    ):
        await ws.subscribe(KINDS)
        await ws.subscribe(KINDS)
        await following(2)
        broker.install(broker.MemoryBroker())
        try:
            for _ in range(2):
                await payment(world)
            assert await drain(ws, quiet=0.3) == []
            memory.hub.resync_all()  # type: ignore[attr-defined]
            received = by_operation(await drain(ws))
        finally:
            broker.install(memory)
    assert {op: [seq_of(m) for m in messages] for op, messages in received.items()} == {
        "1": [1, 2],
        "2": [1, 2],
    }


def test_audiences_split_whatever_a_live_event_can_show_differently(world_rows) -> None:
    staff, admin, other_staff, contact, same_customer, other_customer, keys = world_rows
    assert audience_of(staff) == audience_of(other_staff)  # same organization and role
    distinct = [staff, admin, contact, same_customer, other_customer, *keys]
    assert len({audience_of(principal) for principal in distinct}) == len(distinct)
    # Without a field that answers per contact, a customer's contacts see alike.
    shared = [audience_of(principal, per_contact=False) for principal in distinct]
    assert shared[2] == shared[3]
    assert len(set(shared)) == len(distinct) - 1


# Every field a `portalActivity` event can show, with the permission classes on it; each was
# checked against schema.audience for what it reads of the viewer. A new one must be too.
REVIEWED_FIELDS = {
    "ActivityEdge": {"cursor": [], "node": []},
    "Activity": {
        "id": [], "kind": [], "occurredAt": [], "actor": [], "documentType": [],
        "documentNumber": [], "visibleToCustomer": [], "customer": [], "amount": [],
        "excerpt": [], "changes": [], "contactPerson": [],
    },
    "ActivityActor": {"kind": [], "name": [], "staffUser": ["IsStaff"], "contactPerson": []},
    "StaffUser": {
        "id": [], "name": [], "email": [], "role": [], "isActive": [], "activityEmails": [],
        "lastLoginAt": [], "createdAt": [], "mfaEnabled": [],
    },
    "ContactPerson": {
        "id": [], "firstName": [], "lastName": [], "email": [], "phone": [], "mobile": [],
        "isPrimary": [], "createdAt": [], "name": [], "customer": [],
        "portalAccess": ["IsStaffOrPartner"], "invitedAt": ["IsStaffOrPartner"],
        "acceptedAt": ["IsStaffOrPartner"], "lastLoginAt": ["IsStaffOrPartner"],
        "mfaEnabled": ["IsStaffPartnerOrSelf"], "portal": ["IsStaffPartnerOrSelf"],
        "lastInvitationEmail": ["IsStaff"],
    },
    "OutgoingEmail": {
        "id": [], "recipient": [], "kind": [], "subject": [], "status": [], "attempts": [],
        "retrying": [], "failureReason": [], "nextAttemptAt": [], "queuedAt": [], "sentAt": [],
        "contactPerson": [],
    },
    "ContactPortal": {"features": []},
    "PortalFeatures": {
        "forwarding": [], "bulkPayments": [], "bankDebits": [], "reviews": [], "uploads": [],
        "detailEdits": [], "salesOrders": [], "creditNotes": [], "projects": [],
        "subscriptions": [],
    },
    "Customer": {
        "id": [], "displayName": [], "companyName": [], "email": [], "phone": [],
        "currency": [], "portalLanguage": [], "billingAddress": [], "shippingAddress": [],
        "customFields": [], "allowAchPayments": [], "createdAt": [], "updatedAt": [],
        "creditLimit": ["IsStaffOrPartner"], "internalNotes": ["IsStaffOrPartner"],
        "contactPersons": [], "sharedFiles": [],
    },
    "Address": {
        "attention": [], "street1": [], "street2": [], "city": [], "state": [], "zip": [],
        "country": [], "phone": [],
    },
    "CustomField": {"name": [], "value": [], "editableInPortal": []},
    "Money": {"amount": [], "currency": [], "formatted": []},
    "SharedFileConnection": {"edges": [], "pageInfo": [], "nodes": [], "totalCount": []},
    "SharedFileEdge": {"cursor": [], "node": []},
    "SharedFile": {
        "id": [], "filename": [], "contentType": [], "size": [], "sha256": [],
        "description": [], "uploadedBy": [], "createdAt": [], "customer": [],
        "downloadUrl": [],
    },
    "PageInfo": {"hasNextPage": [], "hasPreviousPage": [], "startCursor": [], "endCursor": []},
    "FieldChange": {"field": [], "before": [], "after": []},
}  # fmt: skip


def test_every_field_a_live_event_can_show_was_reviewed_for_the_audience() -> None:
    schema = build_schema()
    graphql_schema = schema._schema
    found: dict[str, dict[str, list[str]]] = {}
    pending = [graphql_schema.subscription_type.fields["portalActivity"].type]
    while pending:
        named = get_named_type(pending.pop())
        if not isinstance(named, GraphQLObjectType) or named.name in found:
            continue
        fields = found[named.name] = {}
        for name, definition in named.fields.items():
            strawberry_field = schema.get_field_for_type(name, named.name)
            permissions = strawberry_field.permission_classes if strawberry_field else []
            fields[name] = [permission.__name__ for permission in permissions]
            pending.append(definition.type)
    assert found == REVIEWED_FIELDS, "review schema/audience.py for the new or changed fields"
    per_contact = {
        name
        for fields in found.values()
        for name, permissions in fields.items()
        if "IsStaffPartnerOrSelf" in permissions
    }
    assert per_contact == ANSWERS_PER_CONTACT


@pytest.fixture
async def world_rows(db: Settings, world: World) -> tuple:
    from models.staff import StaffRole, StaffUser

    other_staff = await StaffUser.create(
        organization=world.org_a, email="sam@alpha.example", name="Sam", role=StaffRole.STAFF,
        password_hash="-",
    )  # fmt: skip
    second, _ = await second_contact_of_customer_a(world, db)
    key = await ApiKey.get(name="Sync")  # the organization's, not a customer's
    keys = [
        PartnerPrincipal(key, frozenset({ApiScope.ACTIVITY_READ})),
        PartnerPrincipal(key, frozenset({ApiScope.ACTIVITY_READ, ApiScope.CUSTOMERS_READ})),
    ]
    return (
        StaffPrincipal(world.staff),
        StaffPrincipal(world.admin),
        StaffPrincipal(other_staff),
        ContactPrincipal(world.contact_a),
        ContactPrincipal(second),
        ContactPrincipal(world.contact_b),
        keys,
    )
