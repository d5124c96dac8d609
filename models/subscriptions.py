from enum import StrEnum

from tortoise import fields

from models.base import Model


class BillingInterval(StrEnum):
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    YEARLY = "YEARLY"


class SubscriptionStatus(StrEnum):
    LIVE = "LIVE"
    PAUSED = "PAUSED"
    CANCELLED = "CANCELLED"


class CustomerSubscription(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="subscriptions", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="subscriptions", on_delete=fields.RESTRICT
    )
    plan_name = fields.CharField(max_length=200)
    interval = fields.CharEnumField(BillingInterval, max_length=16)
    amount_minor = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    status = fields.CharEnumField(
        SubscriptionStatus, max_length=16, default=SubscriptionStatus.LIVE
    )
    started_on = fields.DateField()
    next_billing_on = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "customer_subscription"
        indexes = (("customer_id", "status"),)
