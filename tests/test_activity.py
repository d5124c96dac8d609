from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from httpx_ws.transport import ASGIWebSocketTransport

from integrations import broker
from models.activity import Activity, ActivityKind, Notification
from models.customers import Customer
from models.preferences import ActivityNotifications, PortalPreferences
from resolvers import activity, transactions
from schema import activity_feeds
from server.app import create_app
from tests import graphql_ws
from tests.conftest import PASSWORD, World, email_body, error_codes, gid, gql, until

SUBSCRIBE = """subscription($after: String, $customerId: ID) {
  portalActivity(after: $after, customerId: $customerId) {
    cursor node { kind actor { kind name } customer { displayName } amount { amount } }
  }
}"""
PORTAL_LOGIN = (
    """mutation($email: String!) {
  portalLogin(input: {portalName: "alpha", email: $email, password: "%s"}) { errors { code } }
}"""
    % PASSWORD
)


@contextlib.asynccontextmanager
async def websocket_client(settings) -> AsyncIterator[httpx.AsyncClient]:
    # The transport must be entered and left in one task, so not as a fixture.
    app = create_app(settings, manage_database=False)
    transport = ASGIWebSocketTransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        yield http


async def following(subscriptions: int) -> None:
    """Until this many subscriptions follow the live stream. An event recorded before a
    subscription follows it is not sent to it (it asked for what happens from now)."""
    await until(lambda: activity_feeds.subscriber_count() == subscriptions)


async def customer_event(
    world: World, customer: Customer, kind: ActivityKind = ActivityKind.PAYMENT_MADE
) -> None:
    async with transactions.unit_of_work():
        activity.record(
            kind,
            actor=None,
            organization_id=customer.organization_id,
            customer_id=customer.id,
            data={"amount_minor": 1250, "currency": "USD"},
        )


async def test_first_portal_login_is_recorded_once_and_notifies_staff(client, world: World) -> None:
    from models.customers import ContactPerson

    await ContactPerson.filter(id=world.contact_a.id).update(last_login_at=None)
    for _ in range(2):
        body = await gql(client, PORTAL_LOGIN, {"email": "ann@acorn.example"})
        assert body["data"]["portalLogin"]["errors"] == []
    feed = await gql(
        client,
        "{ activities { totalCount nodes { kind actor { kind name contactPerson { email } } "
        "customer { displayName } } } }",
        token=world.tokens["staff"],
    )
    assert feed["data"]["activities"] == {
        "totalCount": 1,
        "nodes": [
            {
                "kind": "FIRST_LOGIN",
                "actor": {
                    "kind": "CONTACT",
                    "name": "Acorn Contact",
                    "contactPerson": {"email": "ann@acorn.example"},
                },
                "customer": {"displayName": "Acorn Ltd"},
            }
        ],
    }
    notified = {n.staff_user_id for n in await Notification.all()}
    assert notified == {world.admin.id, world.staff.id}  # not the other organization's staff


async def test_notifications_unread_count_and_mark_read(client, world: World) -> None:
    for _ in range(3):
        await customer_event(world, world.customer_a)
    token = world.tokens["staff"]
    count = "{ unreadNotificationCount }"
    assert (await gql(client, count, token=token))["data"]["unreadNotificationCount"] == 3
    listing = await gql(
        client, "{ notifications(filter: {unread: true}) { nodes { id activity { kind } } } }",
        token=token,
    )  # fmt: skip
    first_id = listing["data"]["notifications"]["nodes"][0]["id"]
    mark = """mutation($ids: [ID!]) { markNotificationsRead(input: {ids: $ids}) {
      unreadCount errors { code } } }"""
    body = await gql(client, mark, {"ids": [first_id]}, token=token)
    assert body["data"]["markNotificationsRead"] == {"unreadCount": 2, "errors": []}
    # Another staff user's notification ids do nothing to ours, and theirs stay unread.
    other = await gql(client, mark, {"ids": [first_id]}, token=world.tokens["admin"])
    assert other["data"]["markNotificationsRead"]["unreadCount"] == 3
    body = await gql(client, mark, {"ids": None}, token=token)
    assert body["data"]["markNotificationsRead"]["unreadCount"] == 0
    contact = await gql(client, count, token=world.tokens["contact_a"])
    assert error_codes(contact) == ["FORBIDDEN"]


async def test_preference_none_sends_no_notifications(client, world: World) -> None:
    mutation = """mutation($value: ActivityNotifications) {
      updatePortalPreferences(input: {activityNotifications: $value}) {
        portalPreferences { activityNotifications } errors { code } } }"""
    staff = await gql(client, mutation, {"value": "NONE"}, token=world.tokens["staff"])
    assert error_codes(staff) == ["FORBIDDEN"]
    body = await gql(client, mutation, {"value": "NONE"}, token=world.tokens["admin"])
    assert body["data"]["updatePortalPreferences"]["portalPreferences"] == {
        "activityNotifications": "NONE"
    }
    await customer_event(world, world.customer_a)
    assert await Notification.all().count() == 0
    feed = await gql(
        client,
        "{ activities(filter: {kinds: [PREFERENCES_CHANGED]}) { nodes { actor { name } "
        "changes { field before after } } } }",
        token=world.tokens["staff"],
    )
    assert feed["data"]["activities"]["nodes"] == [
        {
            "actor": {"name": "Admin"},
            "changes": [{"field": "activity_notifications", "before": "IN_APP", "after": "NONE"}],
        }
    ]
    stored = await PortalPreferences.get(organization_id=world.org_a.id)
    assert stored.activity_notifications == ActivityNotifications.NONE


async def test_contacts_see_only_what_concerns_their_customer(client, world: World) -> None:
    await customer_event(world, world.customer_a)
    await customer_event(world, world.customer_b)
    await customer_event(world, world.customer_a, ActivityKind.FIRST_LOGIN)  # staff-only kind
    query = "{ activities { totalCount nodes { kind customer { displayName } } } }"
    mine = await gql(client, query, token=world.tokens["contact_a"])
    assert mine["data"]["activities"] == {
        "totalCount": 1,
        "nodes": [{"kind": "PAYMENT_MADE", "customer": {"displayName": "Acorn Ltd"}}],
    }
    staff = await gql(client, query, token=world.tokens["staff"])
    assert staff["data"]["activities"]["totalCount"] == 3
    other_org = await gql(client, query, token=world.tokens["staff_other_org"])
    assert other_org["data"]["activities"]["totalCount"] == 0
    partner = await gql(client, query, token=world.tokens["partner"])
    assert error_codes(partner) == ["FORBIDDEN"]  # customers:read does not cover activity


async def test_activity_is_not_kept_or_published_when_the_change_fails(world: World) -> None:
    async with broker.current().subscribe(activity.channel_for(world.org_a.id)) as subscription:
        with pytest.raises(RuntimeError):
            async with transactions.unit_of_work():
                activity.record(
                    ActivityKind.PAYMENT_MADE, actor=None, organization_id=world.org_a.id
                )
                raise RuntimeError("the change failed")
        assert await Activity.all().count() == 0
        assert await subscription.next(within=0.1) is None


async def test_subscription_streams_replays_and_cleans_up(db, world: World) -> None:
    async with websocket_client(db) as ws_http:
        hub = broker.current().hub  # type: ignore[attr-defined]
        channel = activity.channel_for(world.org_a.id)
        async with graphql_ws.connect(ws_http, token=world.tokens["staff"]) as ws:
            operation = await ws.subscribe(SUBSCRIBE)
            await until(lambda: hub.subscriber_count(channel) == 1)
            await customer_event(world, world.customer_a)
            message = await ws.receive()
            assert message["type"] == "next"
            edge = message["payload"]["data"]["portalActivity"]
            assert edge["node"] == {
                "kind": "PAYMENT_MADE",
                "actor": {"kind": "SYSTEM", "name": "Portico"},
                "customer": {"displayName": "Acorn Ltd"},
                "amount": {"amount": "12.50"},
            }
            await ws.complete(operation)
            await until(lambda: hub.subscriber_count(channel) == 0)

            # Missed while away: replayed from the cursor exactly once, then live again.
            await customer_event(world, world.customer_b)
            await customer_event(world, world.customer_a)
            await ws.subscribe(SUBSCRIBE, {"after": edge["cursor"]})
            replayed = [await ws.receive() for _ in range(2)]
            names = [m["payload"]["data"]["portalActivity"]["node"]["customer"]["displayName"]
                     for m in replayed]  # fmt: skip
            assert names == ["Birch Inc", "Acorn Ltd"]
            await ws.expect_silence()
            await customer_event(world, world.customer_b)
            live = await ws.receive()
            assert live["payload"]["data"]["portalActivity"]["node"]["customer"] == {
                "displayName": "Birch Inc"
            }
        await until(lambda: hub.subscriber_count(channel) == 0)


async def test_contact_never_receives_another_customers_events(db, world: World) -> None:
    async with (
        websocket_client(db) as ws_http,
        graphql_ws.connect(ws_http, token=world.tokens["contact_b"]) as ws,
    ):
        await ws.subscribe(SUBSCRIBE)
        await following(1)
        await customer_event(world, world.customer_a)
        await customer_event(world, world.customer_b, ActivityKind.FIRST_LOGIN)
        await customer_event(world, world.customer_b)
        message = await ws.receive()
        assert message["payload"]["data"]["portalActivity"]["node"]["customer"] == {
            "displayName": "Birch Inc"
        }
        await ws.expect_silence()


async def test_field_permissions_apply_to_pushed_events(db, world: World) -> None:
    async with websocket_client(db) as ws_http:
        query = "subscription { portalActivity { node { kind actor { staffUser { name } } } } }"
        async with graphql_ws.connect(ws_http, token=world.tokens["contact_a"]) as ws:
            await ws.subscribe(query)
            await following(1)
            await customer_event(world, world.customer_a)
            message = await ws.receive()
            assert message["type"] == "next"
            codes = [e["extensions"]["code"] for e in message["payload"]["errors"]]
            assert codes == ["FORBIDDEN"]


async def test_who_may_subscribe(db, world: World) -> None:
    async with websocket_client(db) as ws_http:
        async with graphql_ws.connect(ws_http) as ws:
            await ws.subscribe(SUBSCRIBE)
            message = await ws.receive()
            assert message["type"] in {"next", "error"}
            assert "UNAUTHENTICATED" in str(message)
        async with graphql_ws.connect(ws_http, token=world.tokens["partner"]) as ws:
            await ws.subscribe(SUBSCRIBE)
            assert "FORBIDDEN" in str(await ws.receive())
        with pytest.raises(Exception):  # noqa: B017 - a bad token is refused at connection_init
            async with graphql_ws.connect(ws_http, token="pts_not-a-real-token") as ws:
                await ws.subscribe(SUBSCRIBE)
                await ws.receive()


@pytest.mark.parametrize(
    "scopes",
    [["activity:subscribe"], ["activity:read", "activity:subscribe"]],
    ids=["subscribe", "read and subscribe"],
)
async def test_partner_with_the_subscribe_scope_receives_events(
    db, world: World, scopes: list[str]
) -> None:
    """activity:subscribe is the scope for the stream: it reads the events it streams."""
    from auth.api_keys import issue_api_key

    secret, _ = await issue_api_key(
        organization_id=world.org_a.id, name="Dashboard", scopes=scopes,
        created_by_id=world.admin.id,
    )  # fmt: skip
    async with websocket_client(db) as ws_http, graphql_ws.connect(ws_http, token=secret) as ws:
        await ws.subscribe("subscription { portalActivity { node { kind } } }")
        await following(1)
        await customer_event(world, world.customer_a)
        message = await ws.receive()
        assert message["payload"]["data"]["portalActivity"]["node"] == {"kind": "PAYMENT_MADE"}


async def test_a_key_that_only_reads_activity_may_not_subscribe(db, world: World) -> None:
    from auth.api_keys import ApiScope, issue_api_key

    secret, _ = await issue_api_key(
        organization_id=world.org_a.id, name="Reader", scopes=[ApiScope.ACTIVITY_READ],
        created_by_id=world.admin.id,
    )  # fmt: skip
    async with websocket_client(db) as ws_http, graphql_ws.connect(ws_http, token=secret) as ws:
        await ws.subscribe("subscription { portalActivity { node { kind } } }")
        message = str(await ws.receive())
        assert "FORBIDDEN" in message and "activity:subscribe" in message


async def test_a_customer_key_streams_its_customer_and_stops_with_its_portal(
    client, db, world: World
) -> None:
    """A key limited to Acorn gets Acorn's events and never Birch's, even when it asks for
    Birch's; turning Acorn's portal off ends its stream."""
    document = """subscription($customerId: ID) { portalActivity(customerId: $customerId) {
      node { kind customer { displayName } } } }"""
    birch = {"customerId": gid("Customer", world.customer_b)}
    token = world.tokens["customer_key"]
    async with websocket_client(db) as ws_http:
        async with graphql_ws.connect(ws_http, token=token) as ws:
            await ws.subscribe(document, birch)
            await following(1)
            await customer_event(world, world.customer_b)
            await customer_event(world, world.customer_a)
            await ws.expect_silence()
        async with graphql_ws.connect(ws_http, token=token) as ws:
            await ws.subscribe(document)
            await following(1)
            await customer_event(world, world.customer_b)
            await customer_event(world, world.customer_a)
            message = await ws.receive()
            node = message["payload"]["data"]["portalActivity"]["node"]
            assert node == {"kind": "PAYMENT_MADE", "customer": {"displayName": "Acorn Ltd"}}
            disable = """mutation($id: ID!) { disablePortalAccess(input: {contactId: $id}) {
              errors { code } } }"""
            await gql(client, disable, {"id": gid("ContactPerson", world.contact_a)},
                      token=world.tokens["staff"])  # fmt: skip
            assert "UNAUTHENTICATED" in str(await ws.receive())


async def test_logging_out_ends_open_subscriptions(client, db, world: World) -> None:
    async with websocket_client(db) as ws_http:
        token = world.tokens["staff"]
        async with graphql_ws.connect(ws_http, token=token) as ws:
            await ws.subscribe(SUBSCRIBE)
            await following(1)
            await gql(client, "mutation { logout { errors { code } } }", token=token)
            message = await ws.receive()
            assert "UNAUTHENTICATED" in str(message)


async def test_follower_fills_gaps_and_ignores_repeats(world: World) -> None:
    """Events published out of order, lost, or twice still reach a follower once, in order."""
    from auth.principals import StaffPrincipal

    principal = StaffPrincipal(world.staff)
    memory = broker.MemoryBroker()
    previous = broker.current()
    broker.install(memory)
    try:
        received: list[int] = []

        async def consume() -> None:
            async with activity.following(principal, customer_id=None) as follower:
                async for row in follower.events():
                    assert isinstance(row, Activity)
                    received.append(row.seq)

        consumer = asyncio.create_task(consume())
        await until(lambda: memory.hub.subscriber_count() == 1)
        broker.install(broker.MemoryBroker())  # commits below publish nowhere
        for _ in range(3):
            await customer_event(world, world.customer_a)
        rows = await Activity.filter(organization_id=world.org_a.id).order_by("seq")
        channel = activity.channel_for(world.org_a.id)
        third = {"type": "activity", **activity.to_payload(rows[2])}
        await memory.publish(channel, third)  # 1 and 2 never arrived
        await memory.publish(channel, third)  # and 3 arrives twice
        await memory.publish(channel, {"type": "activity", **activity.to_payload(rows[0])})
        await until(lambda: len(received) >= 3)
        await asyncio.sleep(0.1)
        assert received == [1, 2, 3]
        await customer_event(world, world.customer_a)  # published nowhere
        memory.hub.resync_all()
        await until(lambda: len(received) == 4)
        consumer.cancel()
    finally:
        broker.install(previous)


async def test_subscriptions_per_connection_are_capped(db, world: World) -> None:
    hub = broker.current().hub  # type: ignore[attr-defined]
    async with (
        websocket_client(db) as ws_http,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as ws,
    ):
        for _ in range(20):
            await ws.subscribe(SUBSCRIBE)
        await following(20)
        refused = await ws.subscribe(SUBSCRIBE)
        message = await ws.receive()
        assert message["type"] == "error" and message["id"] == refused
        assert "limit" in message["payload"][0]["message"]
        assert activity_feeds.subscriber_count() == 20
        assert hub.subscriber_count() == 1  # twenty identical subscribers, one feed
    await until(lambda: hub.subscriber_count() == 0 and activity_feeds.feed_count() == 0)


async def test_activity_email_goes_to_the_staff_who_want_it(client, world: World) -> None:
    from models.outbox import OutboxMessage
    from models.staff import StaffUser

    await PortalPreferences.create(
        organization=world.org_a, activity_notifications=ActivityNotifications.EMAIL
    )
    await world.org_a.__class__.filter(id=world.org_a.id).update(locale="de_DE")
    await StaffUser.filter(id=world.admin.id).update(activity_emails=False)
    await customer_event(world, world.customer_a)

    [message] = await OutboxMessage.all()
    assert message.to_address == "staff@alpha.example"
    text = email_body(message).text
    assert "Acorn Ltd" in text
    assert "12,50" in text  # German money format
    # The staff app's link names the activity by the global id the API gives it.
    [event] = await Activity.all()
    assert f"/activity/{gid('Activity', event)}" in text
    assert await Notification.all().count() == 0  # EMAIL only: nothing in-app


async def test_no_email_is_queued_when_the_change_rolls_back(world: World) -> None:
    from models.outbox import OutboxMessage

    await PortalPreferences.create(
        organization=world.org_a, activity_notifications=ActivityNotifications.BOTH
    )
    with pytest.raises(RuntimeError):
        async with transactions.unit_of_work():
            activity.record(ActivityKind.PAYMENT_MADE, actor=None, organization_id=world.org_a.id)
            raise RuntimeError("the change failed")
    assert await OutboxMessage.all().count() == 0
    assert await Notification.all().count() == 0
