from enum import StrEnum

from tortoise import fields

from models.base import Model


class ActivitySubject(StrEnum):
    """What an activity is about: a kind of document (DocumentKind's values), a payment or a
    shared file. Stored in `Activity.document_type`, empty when it is about none."""

    INVOICE = "INVOICE"
    RETAINER_INVOICE = "RETAINER_INVOICE"
    QUOTE = "QUOTE"
    SALES_ORDER = "SALES_ORDER"
    CREDIT_NOTE = "CREDIT_NOTE"
    PAYMENT = "PAYMENT"
    SHARED_FILE = "SHARED_FILE"


class ActivityKind(StrEnum):
    CONTACT_INVITED = "CONTACT_INVITED"
    INVITE_ACCEPTED = "INVITE_ACCEPTED"
    SIGNED_UP = "SIGNED_UP"
    FIRST_LOGIN = "FIRST_LOGIN"
    DOCUMENT_VIEWED = "DOCUMENT_VIEWED"
    DOCUMENT_SHARED = "DOCUMENT_SHARED"
    DOCUMENT_UPLOADED = "DOCUMENT_UPLOADED"
    DOCUMENT_FORWARDED = "DOCUMENT_FORWARDED"
    PAYMENT_MADE = "PAYMENT_MADE"
    PAYMENT_PENDING = "PAYMENT_PENDING"
    PAYMENT_SETTLED = "PAYMENT_SETTLED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    PAYMENT_REFUNDED = "PAYMENT_REFUNDED"
    DOCUMENT_REMOVED = "DOCUMENT_REMOVED"
    COMMENT_ADDED = "COMMENT_ADDED"
    COMMENT_DELETED = "COMMENT_DELETED"
    QUOTE_ACCEPTED = "QUOTE_ACCEPTED"
    QUOTE_DECLINED = "QUOTE_DECLINED"
    DETAILS_UPDATED = "DETAILS_UPDATED"
    CONTACT_ADDED = "CONTACT_ADDED"
    REVIEW_REQUESTED = "REVIEW_REQUESTED"
    REVIEW_SUBMITTED = "REVIEW_SUBMITTED"
    PREFERENCES_CHANGED = "PREFERENCES_CHANGED"


class ActorKind(StrEnum):
    STAFF = "STAFF"
    CONTACT = "CONTACT"
    PARTNER = "PARTNER"
    SYSTEM = "SYSTEM"


class Activity(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="activities", on_delete=fields.CASCADE
    )
    # Position in the organization's stream: contiguous and in commit order, so a subscriber
    # can tell a missed event from one it may not see.
    seq = fields.BigIntField()
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="activities", null=True, on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(ActivityKind, max_length=40)
    actor_kind = fields.CharEnumField(ActorKind, max_length=16)
    actor_staff = fields.ForeignKeyField(
        "models.StaffUser", related_name="activities", null=True, on_delete=fields.SET_NULL
    )
    actor_contact = fields.ForeignKeyField(
        "models.ContactPerson", related_name="activities", null=True, on_delete=fields.SET_NULL
    )
    # A snapshot, so the feed still reads right after the actor is renamed or removed.
    actor_name = fields.CharField(max_length=200, default="")
    document_type = fields.CharField(max_length=32, default="")
    document_id = fields.BigIntField(null=True)
    document_number = fields.CharField(max_length=40, default="")
    data = fields.JSONField(default=dict)
    visible_to_customer = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "activity"
        unique_together = (("organization", "seq"),)
        indexes = (("customer_id", "seq"),)


class Notification(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="notifications", on_delete=fields.CASCADE
    )
    staff_user = fields.ForeignKeyField(
        "models.StaffUser", related_name="notifications", on_delete=fields.CASCADE
    )
    activity = fields.ForeignKeyField(
        "models.Activity", related_name="notifications", on_delete=fields.CASCADE
    )
    read_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notification"
        unique_together = (("staff_user", "activity"),)
        indexes = (("staff_user_id", "read_at"),)
