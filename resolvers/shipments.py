"""Shipments of sales orders, as staff record them."""

from __future__ import annotations

from datetime import date

from auth.principals import StaffPrincipal
from auth.scoping import scoped
from models.documents import (
    DocumentKind,
    SalesDocument,
    Shipment,
    ShipmentStatus,
    ShippingStatus,
)
from resolvers import calendars, sales_orders, transactions
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker

# Invoicing has no say: an order invoiced before it ships still ships.
SHIPPABLE = (ShippingStatus.NOT_SHIPPED, ShippingStatus.PARTIALLY_SHIPPED)


async def record_shipment(
    principal: StaffPrincipal,
    sales_order_id: int,
    *,
    carrier: str,
    tracking_number: str,
    shipped_on: date | None,
    partial: bool = False,
) -> tuple[Shipment, SalesDocument]:
    """A shipment of the order: all that is left of it, or with `partial` a part of it."""
    checker = Checker()
    carrier = checker.text(carrier, ["carrier"], max_length=100, required=True)
    tracking_number = checker.text(tracking_number, ["trackingNumber"], max_length=100)
    checker.raise_if_any()
    shipped_on = _not_later(
        shipped_on, await calendars.today(principal.organization_id), "shippedOn"
    )
    async with transactions.unit_of_work():
        order = (
            await scoped(SalesDocument, principal)
            .select_for_update()
            .get_or_none(id=sales_order_id, kind=DocumentKind.SALES_ORDER)
        )
        if order is None:
            raise reject(ErrorCode.NOT_FOUND, "Sales order not found.", ["salesOrderId"])
        if order.status not in sales_orders.IN_PROGRESS:
            raise reject(ErrorCode.INVALID_TRANSITION, "Only a confirmed sales order ships.")
        if order.shipping_status not in SHIPPABLE:
            raise reject(ErrorCode.INVALID_TRANSITION, "The sales order has shipped in full.")
        shipment = await Shipment.create(
            organization_id=order.organization_id,
            customer_id=order.customer_id,
            sales_order=order,
            carrier=carrier,
            tracking_number=tracking_number,
            shipped_on=shipped_on,
        )
        order.shipping_status = (
            ShippingStatus.PARTIALLY_SHIPPED if partial else ShippingStatus.SHIPPED
        )
        await sales_orders.save(order)
    return shipment, order


async def mark_delivered(
    principal: StaffPrincipal, shipment_id: int, delivered_on: date | None
) -> tuple[Shipment, SalesDocument]:
    """The shipment arrived; the last one of an order shipped in full makes it DELIVERED."""
    today = await calendars.today(principal.organization_id)
    async with transactions.unit_of_work():
        shipment = await scoped(Shipment, principal).get_or_none(id=shipment_id)
        if shipment is None:
            raise reject(ErrorCode.NOT_FOUND, "Shipment not found.", ["id"])
        # The order first, as recording a shipment locks it: deliveries of two of its shipments
        # at once then see each other's.
        order = await SalesDocument.select_for_update().get(id=shipment.sales_order_id)
        await shipment.refresh_from_db(fields=["status", "delivered_on"])
        if shipment.status == ShipmentStatus.DELIVERED:
            raise reject(ErrorCode.INVALID_TRANSITION, "The shipment is delivered already.")
        day = _not_later(delivered_on, today, "deliveredOn")
        if day < shipment.shipped_on:
            raise reject(ErrorCode.INVALID, "Delivered before it shipped?", ["deliveredOn"])
        shipment.status, shipment.delivered_on = ShipmentStatus.DELIVERED, day
        await shipment.save(update_fields=["status", "delivered_on"])
        undelivered = (
            await Shipment.filter(sales_order_id=order.id)
            .exclude(status=ShipmentStatus.DELIVERED)
            .exists()
        )
        if order.shipping_status == ShippingStatus.SHIPPED and not undelivered:
            order.shipping_status = ShippingStatus.DELIVERED
            await sales_orders.save(order)
    return shipment, order


def _not_later(day: date | None, today: date, field: str) -> date:
    """The day given, or today; a shipment is recorded once it happened."""
    if day is not None and day > today:
        raise reject(ErrorCode.INVALID, "That day has not come yet.", [field])
    return day or today
