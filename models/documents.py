from enum import StrEnum

from tortoise import fields

from models.base import Model


class DocumentKind(StrEnum):
    INVOICE = "INVOICE"
    RETAINER_INVOICE = "RETAINER_INVOICE"
    QUOTE = "QUOTE"
    SALES_ORDER = "SALES_ORDER"
    CREDIT_NOTE = "CREDIT_NOTE"


class DocumentStatus(StrEnum):
    DRAFT = "DRAFT"
    SENT = "SENT"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    INVOICED = "INVOICED"
    CONFIRMED = "CONFIRMED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    FULFILLED = "FULFILLED"
    CLOSED = "CLOSED"
    VOID = "VOID"


class InvoicingStatus(StrEnum):
    """How much of a sales order its invoices bill."""

    NOT_INVOICED = "NOT_INVOICED"
    PARTIALLY_INVOICED = "PARTIALLY_INVOICED"
    INVOICED = "INVOICED"


class ShippingStatus(StrEnum):
    """How far a sales order's goods have gone."""

    NOT_SHIPPED = "NOT_SHIPPED"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"


class SalesDocument(Model):
    """Invoices, retainer invoices, quotes, sales orders and credit notes share one table, so
    numbering, line items, totals, PDFs, comments and links work the same for all of them."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="sales_documents", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="sales_documents", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(DocumentKind, max_length=24)
    number = fields.CharField(max_length=40)
    status = fields.CharEnumField(DocumentStatus, max_length=24, default=DocumentStatus.DRAFT)
    # A sales order's two progressions; its status above is derived from them once it is
    # confirmed (resolvers.sales_orders). Other kinds keep the defaults.
    invoicing_status = fields.CharEnumField(
        InvoicingStatus,
        max_length=24,
        default=InvoicingStatus.NOT_INVOICED,
        db_default=InvoicingStatus.NOT_INVOICED.value,
    )
    shipping_status = fields.CharEnumField(
        ShippingStatus,
        max_length=24,
        default=ShippingStatus.NOT_SHIPPED,
        db_default=ShippingStatus.NOT_SHIPPED.value,
    )
    currency = fields.CharField(max_length=3)
    issue_date = fields.DateField()
    # Due date of an invoice, expiry of a quote, expected shipment of a sales order.
    due_date = fields.DateField(null=True)
    payment_terms_days = fields.IntField(null=True)
    reference = fields.CharField(max_length=100, default="")
    customer_notes = fields.TextField(default="")
    terms = fields.TextField(default="")
    internal_notes = fields.TextField(default="")
    subtotal_minor = fields.BigIntField(default=0)
    discount_minor = fields.BigIntField(default=0)
    tax_minor = fields.BigIntField(default=0)
    total_minor = fields.BigIntField(default=0)
    # Invoices: still to pay. Credit notes and retainer payments: still to apply or refund.
    balance_minor = fields.BigIntField(default=0)
    allow_partial_payments = fields.BooleanField(default=False)
    payment_methods = fields.JSONField(default=list)
    source = fields.ForeignKeyField(
        "models.SalesDocument", related_name="derived", null=True, on_delete=fields.SET_NULL
    )
    # The subscription an invoice bills, if any.
    subscription = fields.ForeignKeyField(
        "models.CustomerSubscription",
        related_name="invoices",
        null=True,
        on_delete=fields.SET_NULL,
    )
    sent_at = fields.DatetimeField(null=True)
    voided_at = fields.DatetimeField(null=True)
    first_viewed_at = fields.DatetimeField(null=True)
    first_viewed_by = fields.ForeignKeyField(
        "models.ContactPerson", related_name="first_views", null=True, on_delete=fields.SET_NULL
    )
    # Bumped on every change, so a rendered PDF can be cached per version.
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sales_document"
        unique_together = (("organization", "kind", "number"),)
        # Staff lists page through the whole organization by date: without the second index
        # every page sorts all of the organization's documents.
        indexes = (
            ("customer_id", "kind", "issue_date"),
            ("organization_id", "kind", "issue_date", "id"),
            ("organization_id", "kind", "status"),
        )


class LineItem(Model):
    id = fields.BigIntField(primary_key=True)
    document = fields.ForeignKeyField(
        "models.SalesDocument", related_name="line_items", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    quantity = fields.DecimalField(max_digits=18, decimal_places=4)
    unit = fields.CharField(max_length=20, default="")
    rate = fields.DecimalField(max_digits=18, decimal_places=6)
    discount_percent = fields.DecimalField(max_digits=7, decimal_places=4, default=0)
    tax_percent = fields.DecimalField(max_digits=7, decimal_places=4, default=0)
    amount_minor = fields.BigIntField()
    discount_minor = fields.BigIntField(default=0)
    # What one unit costs the business; staff see the margin it leaves.
    cost_rate = fields.DecimalField(max_digits=18, decimal_places=6, null=True)

    class Meta:
        table = "line_item"
        indexes = (("document_id", "position"),)


class DocumentSeries(Model):
    """The next number of each numbered series (a kind of document, or payments), per
    organization."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="document_series", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=24)
    prefix = fields.CharField(max_length=10)
    next_number = fields.BigIntField(default=1)

    class Meta:
        table = "document_series"
        unique_together = (("organization", "kind"),)


class CreditUseKind(StrEnum):
    APPLIED = "APPLIED"
    REFUNDED = "REFUNDED"


class CreditUse(Model):
    """Part of a credit note's balance: applied to an invoice, or refunded to the customer."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="credit_uses", on_delete=fields.CASCADE
    )
    credit_note = fields.ForeignKeyField(
        "models.SalesDocument", related_name="credit_uses", on_delete=fields.RESTRICT
    )
    invoice = fields.ForeignKeyField(
        "models.SalesDocument", related_name="credits_applied", null=True, on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(CreditUseKind, max_length=16)
    amount_minor = fields.BigIntField()
    used_on = fields.DateField()
    reference = fields.CharField(max_length=100, default="")
    created_by = fields.ForeignKeyField(
        "models.StaffUser", related_name="credit_uses", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "credit_use"
        indexes = (("credit_note_id",), ("invoice_id",))


class ShipmentStatus(StrEnum):
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"


class Shipment(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="shipments", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="shipments", on_delete=fields.RESTRICT
    )
    sales_order = fields.ForeignKeyField(
        "models.SalesDocument", related_name="shipments", on_delete=fields.RESTRICT
    )
    carrier = fields.CharField(max_length=100)
    tracking_number = fields.CharField(max_length=100, default="")
    status = fields.CharEnumField(ShipmentStatus, max_length=16, default=ShipmentStatus.SHIPPED)
    shipped_on = fields.DateField()
    delivered_on = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "shipment"
        indexes = (("sales_order_id",),)
