from __future__ import annotations

from datetime import timedelta

from tests.conftest import TODAY, World, error_codes, gql
from tests.test_documents import CONVERT, SEND, create

RECORD = """mutation($id: ID!) { recordShipment(input: {salesOrderId: $id, carrier: "DHL",
  trackingNumber: "JD0142", shippedOn: "2026-11-20"}) {
  shipment { id carrier status shippedOn } errors { code } } }"""
DELIVERED = """mutation($id: ID!, $on: Date) { markShipmentDelivered(input: {id: $id,
  deliveredOn: $on}) { shipment { status deliveredOn } errors { code field } } }"""
ORDER = """query($id: ID!) { salesDocument(id: $id) { status ... on SalesOrder {
  shipments { carrier trackingNumber status } } } }"""
PROGRESS = """query($id: ID!) { salesDocument(id: $id) { status ... on SalesOrder {
  invoicingStatus shippingStatus } } }"""
SHIP = """mutation($id: ID!, $partial: Boolean) { recordShipment(input: {salesOrderId: $id,
  carrier: "UPS", partial: $partial}) { shipment { id }
  salesOrder { status invoicingStatus shippingStatus } errors { code } } }"""
ARRIVED = """mutation($id: ID!) { markShipmentDelivered(input: {id: $id}) {
  salesOrder { status invoicingStatus shippingStatus } errors { code } } }"""
VOID = """mutation($id: ID!) { voidSalesDocument(input: {id: $id}) { errors { code } } }"""
UPDATE = """mutation($id: ID!, $lines: [LineItemInput!]) { updateSalesDocument(input: {id: $id,
  lineItems: $lines}) { errors { code } } }"""


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
        "status": "DELIVERED",
        "shipments": [{"carrier": "DHL", "trackingNumber": "JD0142", "status": "DELIVERED"}],
    }
    other = await gql(client, ORDER, {"id": order["id"]}, token=world.tokens["contact_b"])
    assert other["data"]["salesDocument"] is None

    await gql(client, "mutation { updatePortalPreferences(input: {showSalesOrders: false}) "
              "{ errors { code } } }", token=world.tokens["admin"])  # fmt: skip
    node = "query($id: ID!) { node(id: $id) { ... on Shipment { carrier } } }"
    hidden = await gql(client, node, {"id": shipment["id"]}, token=world.tokens["contact_a"])
    assert error_codes(hidden) == ["FORBIDDEN"]


async def progress(client, world: World, order_id: str) -> tuple[str, str, str]:
    body = await gql(client, PROGRESS, {"id": order_id}, token=world.tokens["contact_a"])
    order = body["data"]["salesDocument"]
    return order["status"], order["invoicingStatus"], order["shippingStatus"]


async def test_an_order_invoiced_before_it_ships_still_ships(client, world: World) -> None:
    staff = world.tokens["staff"]
    order = await create(client, world, kind="SALES_ORDER")
    await gql(client, SEND, {"id": order["id"]}, token=staff)
    assert await progress(client, world, order["id"]) == ("CONFIRMED", "NOT_INVOICED",
                                                           "NOT_SHIPPED")  # fmt: skip
    converted = await gql(client, CONVERT, {"id": order["id"], "to": "INVOICE"}, token=staff)
    invoice = converted["data"]["convertSalesDocument"]["salesDocument"]
    assert invoice["source"]["status"] == "CONFIRMED"
    assert await progress(client, world, order["id"]) == ("CONFIRMED", "INVOICED", "NOT_SHIPPED")
    again = await gql(client, CONVERT, {"id": order["id"], "to": "INVOICE"}, token=staff)
    assert again["data"]["convertSalesDocument"]["errors"] == [{"code": "INVALID_TRANSITION"}]

    shipped = (await gql(client, SHIP, {"id": order["id"]}, token=staff))["data"]["recordShipment"]
    assert shipped["errors"] == []
    assert shipped["salesOrder"] == {
        "status": "SHIPPED", "invoicingStatus": "INVOICED", "shippingStatus": "SHIPPED"
    }  # fmt: skip
    more = await gql(client, SHIP, {"id": order["id"]}, token=staff)  # nothing is left to ship
    assert more["data"]["recordShipment"]["errors"] == [{"code": "INVALID_TRANSITION"}]
    arrived = await gql(client, ARRIVED, {"id": shipped["shipment"]["id"]}, token=staff)
    assert arrived["data"]["markShipmentDelivered"]["salesOrder"] == {
        "status": "FULFILLED", "invoicingStatus": "INVOICED", "shippingStatus": "DELIVERED"
    }  # fmt: skip

    # Voiding its invoice leaves the order to invoice again; it stays delivered.
    await gql(client, VOID, {"id": invoice["id"]}, token=staff)
    assert await progress(client, world, order["id"]) == ("DELIVERED", "NOT_INVOICED",
                                                           "DELIVERED")  # fmt: skip
    redone = await gql(client, CONVERT, {"id": order["id"], "to": "INVOICE"}, token=staff)
    assert redone["data"]["convertSalesDocument"]["errors"] == []
    assert await progress(client, world, order["id"]) == ("FULFILLED", "INVOICED", "DELIVERED")


async def test_partial_shipments_and_invoices(client, world: World) -> None:
    staff = world.tokens["staff"]
    order = await create(client, world, kind="SALES_ORDER",
                         lineItems=[{"name": "Desk", "quantity": "2", "rate": "100"}])  # fmt: skip
    await gql(client, SEND, {"id": order["id"]}, token=staff)
    first = await gql(client, SHIP, {"id": order["id"], "partial": True}, token=staff)
    assert first["data"]["recordShipment"]["salesOrder"] == {
        "status": "SHIPPED", "invoicingStatus": "NOT_INVOICED",
        "shippingStatus": "PARTIALLY_SHIPPED",
    }  # fmt: skip
    first_id = first["data"]["recordShipment"]["shipment"]["id"]
    arrived = await gql(client, ARRIVED, {"id": first_id}, token=staff)  # the rest is to ship
    assert arrived["data"]["markShipmentDelivered"]["salesOrder"]["shippingStatus"] == (
        "PARTIALLY_SHIPPED"
    )
    rest = await gql(client, SHIP, {"id": order["id"]}, token=staff)
    assert rest["data"]["recordShipment"]["salesOrder"]["shippingStatus"] == "SHIPPED"

    converted = await gql(client, CONVERT, {"id": order["id"], "to": "INVOICE"}, token=staff)
    invoice = converted["data"]["convertSalesDocument"]["salesDocument"]
    half = [{"name": "Desk", "quantity": "1", "rate": "100"}]
    edited = await gql(client, UPDATE, {"id": invoice["id"], "lines": half}, token=staff)
    assert edited["data"]["updateSalesDocument"]["errors"] == []
    assert await progress(client, world, order["id"]) == ("SHIPPED", "PARTIALLY_INVOICED",
                                                           "SHIPPED")  # fmt: skip
    last = await gql(client, ARRIVED, {"id": rest["data"]["recordShipment"]["shipment"]["id"]},
                     token=staff)  # fmt: skip
    assert last["data"]["markShipmentDelivered"]["salesOrder"] == {
        "status": "DELIVERED", "invoicingStatus": "PARTIALLY_INVOICED",
        "shippingStatus": "DELIVERED"
    }  # fmt: skip
    second = await gql(client, CONVERT, {"id": order["id"], "to": "INVOICE"}, token=staff)
    assert second["data"]["convertSalesDocument"]["errors"] == []
    assert await progress(client, world, order["id"]) == ("FULFILLED", "INVOICED", "DELIVERED")
