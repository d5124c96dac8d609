from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class PaymentKind(StrEnum):
    INVOICE_PAYMENT = "INVOICE_PAYMENT"
    # Pays a retainer invoice; the money is then held for the customer until staff apply it to
    # invoices or refund it.
    RETAINER_PAYMENT = "RETAINER_PAYMENT"


class PaymentMode(StrEnum):
    CASH = "CASH"
    CHEQUE = "CHEQUE"
    BANK_TRANSFER = "BANK_TRANSFER"
    CARD = "CARD"
    ACH = "ACH"
    OTHER = "OTHER"


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class Payment(Model):
    """Money received from a customer: what it paid is in its allocations, what went back in
    its refunds."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="payments", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="payments", on_delete=fields.RESTRICT
    )
    number = fields.CharField(max_length=40)
    kind = fields.CharEnumField(PaymentKind, max_length=24)
    mode = fields.CharEnumField(PaymentMode, max_length=24)
    status = fields.CharEnumField(PaymentStatus, max_length=16, default=PaymentStatus.SUCCEEDED)
    currency = fields.CharField(max_length=3)
    amount_minor = fields.BigIntField()
    # Retainer money not yet applied to an invoice or refunded.
    unused_minor = fields.BigIntField(default=0)
    refunded_minor = fields.BigIntField(default=0)
    paid_on = fields.DateField()
    reference = fields.CharField(max_length=100, default="")
    notes = fields.TextField(default="")
    internal_notes = fields.TextField(default="")
    recorded_by = fields.ForeignKeyField(
        "models.StaffUser", related_name="payments_recorded", null=True, on_delete=fields.SET_NULL
    )
    paid_by = fields.ForeignKeyField(
        "models.ContactPerson", related_name="payments_made", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "payment"
        unique_together = (("organization", "number"),)
        indexes = (("customer_id", "paid_on", "id"), ("organization_id", "paid_on", "id"))


class PaymentAllocation(Model):
    """Part of a payment that went to one invoice or retainer invoice. A retainer payment has
    one for the retainer invoice it paid and one for each invoice its money was applied to."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="payment_allocations", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="payment_allocations", on_delete=fields.RESTRICT
    )
    payment = fields.ForeignKeyField(
        "models.Payment", related_name="allocations", on_delete=fields.RESTRICT
    )
    document = fields.ForeignKeyField(
        "models.SalesDocument", related_name="payment_allocations", on_delete=fields.RESTRICT
    )
    amount_minor = fields.BigIntField()
    applied_on = fields.DateField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payment_allocation"
        indexes = (("payment_id",), ("document_id",))


class PaymentRefund(Model):
    """Money given back from a payment. `document` is the invoice whose balance the refund
    reopened; null when unused retainer money went back."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="payment_refunds", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="payment_refunds", on_delete=fields.RESTRICT
    )
    payment = fields.ForeignKeyField(
        "models.Payment", related_name="refunds", on_delete=fields.RESTRICT
    )
    document = fields.ForeignKeyField(
        "models.SalesDocument", related_name="payment_refunds", null=True, on_delete=fields.RESTRICT
    )
    amount_minor = fields.BigIntField()
    refunded_on = fields.DateField()
    mode = fields.CharEnumField(PaymentMode, max_length=24)
    reference = fields.CharField(max_length=100, default="")
    created_by = fields.ForeignKeyField(
        "models.StaffUser", related_name="payment_refunds", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payment_refund"
        indexes = (("payment_id",), ("document_id",))
