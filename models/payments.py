from enum import StrEnum

from tortoise import fields

from models.base import Model


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
    # Recorded before the gateway is called; the gateway's answer, or the reconciler, ends it.
    PROCESSING = "PROCESSING"
    # The gateway accepted it and the money is on its way (bank debits).
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
    # Online payments: which gateway, its id for the charge, and why it failed.
    gateway = fields.CharField(max_length=20, default="")
    # Unique everywhere: the gateway charges at most once per key, whichever Portico asks.
    charge_key = fields.CharField(max_length=64, null=True, unique=True)
    gateway_reference = fields.CharField(max_length=100, default="")
    failure_reason = fields.CharField(max_length=300, default="")
    # Failed because the bank said no; otherwise it was never completed and may be tried again.
    declined = fields.BooleanField(default=False)
    payment_method = fields.ForeignKeyField(
        "models.SavedPaymentMethod", related_name="payments", null=True, on_delete=fields.SET_NULL
    )
    settled_at = fields.DatetimeField(null=True)
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


class RefundStatus(StrEnum):
    # Recorded before the gateway is asked; its answer, or the reconciler, ends it. Meanwhile
    # it holds what it gives back, so no other refund can take that.
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    # The gateway gave nothing back, so the refund changed nothing.
    FAILED = "FAILED"


class PaymentRefund(Model):
    """Money given back from a payment. `document` is the invoice whose balance the refund
    reopens, or null when unused retainer money goes back. One refund that takes from several
    invoices is one row for each, sharing its `refund_key`."""

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
    status = fields.CharEnumField(RefundStatus, max_length=16, default=RefundStatus.SUCCEEDED)
    # Refunds through the payment's gateway: the key it refunds the rows' sum under, at most
    # once, and its id for that refund.
    refund_key = fields.CharField(max_length=64, null=True)
    gateway_reference = fields.CharField(max_length=100, default="")
    failure_reason = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payment_refund"
        indexes = (("payment_id",), ("document_id",), ("refund_key",), ("status", "created_at"))


class MethodKind(StrEnum):
    CARD = "CARD"
    BANK_ACCOUNT = "BANK_ACCOUNT"


class SavedPaymentMethod(Model):
    """A customer's card or bank account: the gateway's token and what may be shown of it, never
    a card number or CVV."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="saved_payment_methods", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="saved_payment_methods", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(MethodKind, max_length=16)
    gateway = fields.CharField(max_length=20)
    token = fields.CharField(max_length=200)
    brand = fields.CharField(max_length=30, default="")
    last4 = fields.CharField(max_length=4)
    exp_month = fields.IntField(null=True)
    exp_year = fields.IntField(null=True)
    bank_name = fields.CharField(max_length=100, default="")
    is_default = fields.BooleanField(default=False)
    added_by = fields.ForeignKeyField(
        "models.ContactPerson", related_name="saved_payment_methods", null=True,
        on_delete=fields.SET_NULL,
    )  # fmt: skip
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "saved_payment_method"
        unique_together = (("customer", "gateway", "token"),)


class IdempotencyKey(Model):
    """A payment request's key: the same key and request give the first result again."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="idempotency_keys", on_delete=fields.CASCADE
    )
    contact = fields.ForeignKeyField(
        "models.ContactPerson", related_name="idempotency_keys", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=100)
    fingerprint = fields.CharField(max_length=64)
    payment = fields.ForeignKeyField(
        "models.Payment", related_name="idempotency_keys", null=True, on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_key"
        unique_together = (("contact", "key"),)
        indexes = (("created_at",),)


class GatewayEvent(Model):
    """A webhook event already handled, so a redelivery changes nothing."""

    id = fields.BigIntField(primary_key=True)
    gateway = fields.CharField(max_length=20)
    event_id = fields.CharField(max_length=100)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "gateway_event"
        unique_together = (("gateway", "event_id"),)
