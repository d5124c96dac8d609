from __future__ import annotations

from datetime import timedelta

from tests.conftest import TODAY, World, error_codes, gql
from tests.test_documents import SEND, create

RECORD = """mutation($id: ID!) { recordShipment(input: {salesOrderId: $id, carrier: "DHL",
  trackingNumber: "JD0142", shippedOn: "2026-11-20"}) {
  shipment { id carrier status shippedOn } errors { code } } }"""
DELIVERED = """mutation($id: ID!, $on: Date) { markShipmentDelivered(input: {id: $id,
  deliveredOn: $on}) { shipment { status deliveredOn } errors { code field } } }"""
ORDER = """query($id: ID!) { salesDocument(id: $id) { status ... on SalesOrder {
  shipments { carrier trackingNumber status } } } }"""


async def test_recording_and_delivering_a_shipment(client, world: World) -> None:
    order = await create(client, world, kind="SALES_ORDER")
    staff = world.tokens["staff"]
    draft = await gql(client, RECORD, {"id": order["id"]}, token=staff)
    assert draft["data"]["recordShipment"]["errors"] == [{"code": "INVALID_TRANSITION"}]
    await gql(client, SEND, {"id": order["id"]}, token=staff)
    body = await gql(client, RECORD, {"id": order["id"]}, token=staff)
    shipment = body["data"]["recordShipment"]["shipment"]
    assert shipment["status"] == "SHIPPED" and shipment["shippedOn"] == "2026-11-20"

    for refused in ("2026-11-01", str(TODAY + timedelta(days=1))):  # before shipping; tomorrow
        early = await gql(client, DELIVERED, {"id": shipment["id"], "on": refused}, token=staff)
        assert early["data"]["markShipmentDelivered"]["errors"] == [
            {"code": "INVALID", "field": ["deliveredOn"]}
        ]
    later = RECORD.replace("2026-11-20", str(TODAY + timedelta(days=1)))
    tomorrow = await gql(client, later, {"id": order["id"]}, token=staff)
    assert tomorrow["data"]["recordShipment"]["errors"] == [{"code": "INVALID"}]
    done = await gql(client, DELIVERED, {"id": shipment["id"], "on": "2026-11-22"}, token=staff)
    assert done["data"]["markShipmentDelivered"]["shipment"] == {
        "status": "DELIVERED",
        "deliveredOn": "2026-11-22",
    }
    seen = await gql(client, ORDER, {"id": order["id"]}, token=world.tokens["contact_a"])
    assert seen["data"]["salesDocument"] == {
        "status": "SHIPPED",
        "shipments": [{"carrier": "DHL", "trackingNumber": "JD0142", "status": "DELIVERED"}],
    }
    other = await gql(client, ORDER, {"id": order["id"]}, token=world.tokens["contact_b"])
    assert other["data"]["salesDocument"] is None

    await gql(client, "mutation { updatePortalPreferences(input: {showSalesOrders: false}) "
              "{ errors { code } } }", token=world.tokens["admin"])  # fmt: skip
    node = "query($id: ID!) { node(id: $id) { ... on Shipment { carrier } } }"
    hidden = await gql(client, node, {"id": shipment["id"]}, token=world.tokens["contact_a"])
    assert error_codes(hidden) == ["FORBIDDEN"]
