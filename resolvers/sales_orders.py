"""A sales order's two progressions, invoicing and shipping, and the status they give it.

Invoicing and shipping happen independently: an order may be invoiced before it ships, or ship
before it is invoiced. Its invoicing follows from its live invoices (those converted from it
and not void); its shipping from the shipments staff record. Once confirmed, its status is
derived from both:

- CONFIRMED while nothing has shipped;
- SHIPPED once something has (partly or in full), until all of it is delivered;
- DELIVERED once shipped in full and every shipment delivered;
- FULFILLED once delivered and invoiced in full.

A draft, void or closed order keeps its status.
"""

from __future__ import annotations

from tortoise.functions import Count, Sum

from models.documents import (
    DocumentKind,
    DocumentStatus,
    InvoicingStatus,
    SalesDocument,
    ShippingStatus,
)

# The statuses an order's progressions decide.
IN_PROGRESS = frozenset(
    {
        DocumentStatus.CONFIRMED,
        DocumentStatus.SHIPPED,
        DocumentStatus.DELIVERED,
        DocumentStatus.FULFILLED,
    }
)


def status_of(order: SalesDocument) -> DocumentStatus:
    """The status the order's progressions give it."""
    if order.status not in IN_PROGRESS:
        return order.status
    if order.shipping_status == ShippingStatus.DELIVERED:
        if order.invoicing_status == InvoicingStatus.INVOICED:
            return DocumentStatus.FULFILLED
        return DocumentStatus.DELIVERED
    if order.shipping_status == ShippingStatus.NOT_SHIPPED:
        return DocumentStatus.CONFIRMED
    return DocumentStatus.SHIPPED


async def invoicing_of(order: SalesDocument) -> InvoicingStatus:
    """What its live invoices bill of the order's total (drafts count: they are on their way)."""
    [row] = await (
        SalesDocument.filter(kind=DocumentKind.INVOICE, source_id=order.id)
        .exclude(status=DocumentStatus.VOID)
        .annotate(invoices=Count("id"), billed=Sum("total_minor"))
        .values("invoices", "billed")
    )
    if not row["invoices"]:
        return InvoicingStatus.NOT_INVOICED
    if int(row["billed"] or 0) >= order.total_minor:
        return InvoicingStatus.INVOICED
    return InvoicingStatus.PARTIALLY_INVOICED


async def refresh_invoicing(order: SalesDocument) -> None:
    """Re-reads the order's invoicing and saves it with the status it gives. The caller holds
    the order's row lock, so concurrent changes of its invoices cannot interleave."""
    order.invoicing_status = await invoicing_of(order)
    await save(order)


async def refresh_invoicing_of_source(document: SalesDocument) -> None:
    """After an invoice changed (new total, voided): its sales order's invoicing, if any."""
    if document.kind != DocumentKind.INVOICE or document.source_id is None:
        return
    order = (
        await SalesDocument.select_for_update()
        .filter(id=document.source_id, kind=DocumentKind.SALES_ORDER)
        .first()
    )
    if order is not None:
        await refresh_invoicing(order)


async def save(order: SalesDocument) -> None:
    order.status = status_of(order)
    order.version += 1
    await order.save(
        update_fields=["status", "invoicing_status", "shipping_status", "version", "updated_at"]
    )
