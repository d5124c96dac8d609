from tortoise import migrations
from tortoise.migrations import operations as ops
from models.documents import DocumentStatus, InvoicingStatus, ShippingStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

# The rules of resolvers.sales_orders as they stand at this migration, written out so that a
# later change of those rules does not change what this migration did.
IN_PROGRESS = ("CONFIRMED", "SHIPPED", "FULFILLED")
CHUNK = 500


class AlterFieldState(ops.AlterField):
    """Changes Tortoise's record of the field only. DocumentStatus gained DELIVERED, which the
    column (a VARCHAR(24)) holds as it is; SQLite would rebuild the whole table to change its
    comment, and that fails on documents other rows refer to."""

    async def database_forward(self, *args, **kwargs) -> None:
        return None

    async def database_backward(self, *args, **kwargs) -> None:
        return None


async def derive_progressions(apps, schema_editor) -> None:
    """Orders converted to an invoice were FULFILLED at once, whether or not they had shipped,
    and delivered ones stayed SHIPPED. Each order now gets its invoicing progression from its
    live invoices and its shipping progression from its shipments (all delivered: DELIVERED;
    some shipment: SHIPPED, as nothing told partial shipments apart), and a status derived
    from both, so a FULFILLED order that never shipped is CONFIRMED and may ship."""
    SalesDocument = apps.get_model("models", "SalesDocument")
    Shipment = apps.get_model("models", "Shipment")
    orders = await SalesDocument.filter(kind="SALES_ORDER").values("id", "status", "total_minor")
    if not orders:
        return
    invoiced: dict[int, int] = {}
    invoices = (
        SalesDocument.filter(kind="INVOICE", source_id__isnull=False)
        .exclude(status="VOID")
        .values("source_id", "total_minor")
    )
    for row in await invoices:
        invoiced[row["source_id"]] = invoiced.get(row["source_id"], 0) + row["total_minor"]
    shipped: dict[int, set[str]] = {}
    for row in await Shipment.all().values("sales_order_id", "status"):
        shipped.setdefault(row["sales_order_id"], set()).add(row["status"])

    changes: dict[tuple[str, str, str | None], list[int]] = {}
    for order in orders:
        if order["id"] not in invoiced:
            invoicing = "NOT_INVOICED"
        elif invoiced[order["id"]] >= order["total_minor"]:
            invoicing = "INVOICED"
        else:
            invoicing = "PARTIALLY_INVOICED"
        statuses = shipped.get(order["id"], set())
        if not statuses:
            shipping = "NOT_SHIPPED"
        elif statuses == {"DELIVERED"}:
            shipping = "DELIVERED"
        else:
            shipping = "SHIPPED"
        status = None
        if order["status"] in IN_PROGRESS:
            if shipping == "DELIVERED":
                status = "FULFILLED" if invoicing == "INVOICED" else "DELIVERED"
            else:
                status = "SHIPPED" if shipping == "SHIPPED" else "CONFIRMED"
        changes.setdefault((invoicing, shipping, status), []).append(order["id"])
    for (invoicing, shipping, status), ids in changes.items():
        values = {"invoicing_status": invoicing, "shipping_status": shipping}
        if status is not None:
            values["status"] = status
        for start in range(0, len(ids), CHUNK):
            await SalesDocument.filter(id__in=ids[start : start + CHUNK]).update(**values)


class Migration(migrations.Migration):
    dependencies = [('models', '0019_outbox_contact_replaced_tokens')]

    initial = False

    operations = [
        AlterFieldState(
            model_name='SalesDocument',
            name='status',
            field=fields.CharEnumField(default=DocumentStatus.DRAFT, description='DRAFT: DRAFT\nSENT: SENT\nPARTIALLY_PAID: PARTIALLY_PAID\nPAID: PAID\nACCEPTED: ACCEPTED\nDECLINED: DECLINED\nEXPIRED: EXPIRED\nINVOICED: INVOICED\nCONFIRMED: CONFIRMED\nSHIPPED: SHIPPED\nDELIVERED: DELIVERED\nFULFILLED: FULFILLED\nCLOSED: CLOSED\nVOID: VOID', enum_type=DocumentStatus, max_length=24),
        ),
        ops.AddField(
            model_name='SalesDocument',
            name='invoicing_status',
            field=fields.CharEnumField(default=InvoicingStatus.NOT_INVOICED, description='NOT_INVOICED: NOT_INVOICED\nPARTIALLY_INVOICED: PARTIALLY_INVOICED\nINVOICED: INVOICED', db_default='NOT_INVOICED', enum_type=InvoicingStatus, max_length=24),
        ),
        ops.AddField(
            model_name='SalesDocument',
            name='shipping_status',
            field=fields.CharEnumField(default=ShippingStatus.NOT_SHIPPED, description='NOT_SHIPPED: NOT_SHIPPED\nPARTIALLY_SHIPPED: PARTIALLY_SHIPPED\nSHIPPED: SHIPPED\nDELIVERED: DELIVERED', db_default='NOT_SHIPPED', enum_type=ShippingStatus, max_length=24),
        ),
        ops.AddField(
            model_name='TimeEntry',
            name='invoice',
            field=fields.ForeignKeyField('models.SalesDocument', source_field='invoice_id', null=True, db_constraint=True, to_field='id', related_name='time_entries', on_delete=OnDelete.SET_NULL),
        ),
        ops.RunPython(derive_progressions),
    ]
