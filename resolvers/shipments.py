"""Shipments of sales orders, as staff record them."""

from __future__ import annotations

from datetime import date

from auth.principals import StaffPrincipal
from auth.scoping import scoped
from models.documents import DocumentKind, DocumentStatus, SalesDocument, Shipment, ShipmentStatus
from resolvers import calendars, transactions
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker

SHIPPABLE = (DocumentStatus.CONFIRMED, DocumentStatus.SHIPPED)


async def record_shipment(
    principal: StaffPrincipal,
    sales_order_id: int,
    *,
    carrier: str,
    tracking_number: str,
    shipped_on: date | None,
) -> Shipment:
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
        if order.status not in SHIPPABLE:
            raise reject(ErrorCode.INVALID_TRANSITION, "Only a confirmed sales order ships.")
        shipment = await Shipment.create(
            organization_id=order.organization_id,
            customer_id=order.customer_id,
            sales_order=order,
            carrier=carrier,
            tracking_number=tracking_number,
            shipped_on=shipped_on,
        )
        order.status = DocumentStatus.SHIPPED
        order.version += 1
        await order.save(update_fields=["status", "version", "updated_at"])
    return shipment


async def mark_delivered(
    principal: StaffPrincipal, shipment_id: int, delivered_on: date | None
) -> Shipment:
    shipment = await scoped(Shipment, principal).get_or_none(id=shipment_id)
    if shipment is None:
        raise reject(ErrorCode.NOT_FOUND, "Shipment not found.", ["id"])
    if shipment.status == ShipmentStatus.DELIVERED:
        raise reject(ErrorCode.INVALID_TRANSITION, "The shipment is delivered already.")
    day = _not_later(delivered_on, await calendars.today(principal.organization_id), "deliveredOn")
    if day < shipment.shipped_on:
        raise reject(ErrorCode.INVALID, "Delivered before it shipped?", ["deliveredOn"])
    shipment.status, shipment.delivered_on = ShipmentStatus.DELIVERED, day
    await shipment.save(update_fields=["status", "delivered_on"])
    return shipment


def _not_later(day: date | None, today: date, field: str) -> date:
    """The day given, or today; a shipment is recorded once it happened."""
    if day is not None and day > today:
        raise reject(ErrorCode.INVALID, "That day has not come yet.", [field])
    return day or today
