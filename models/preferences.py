from enum import StrEnum

from tortoise import fields

from models.base import Model


class ActivityNotifications(StrEnum):
    IN_APP = "IN_APP"
    EMAIL = "EMAIL"
    BOTH = "BOTH"
    NONE = "NONE"


class PortalPreferences(Model):
    """One settings object per organization, for the customer portal."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.OneToOneField(
        "models.Organization", related_name="portal_preferences", on_delete=fields.CASCADE
    )
    # Off: the portal does not exist for anyone outside the business (see README). The
    # database default opens every portal that existed before the switch.
    portal_enabled = fields.BooleanField(default=True, db_default=True)
    banner_message = fields.TextField(default="")
    mfa_required = fields.BooleanField(default=False)
    prevent_duplicate_payments = fields.BooleanField(default=True)
    allow_sign_up = fields.BooleanField(default=False)
    activity_notifications = fields.CharEnumField(
        ActivityNotifications, max_length=16, default=ActivityNotifications.IN_APP
    )
    email_customers_on_staff_comments = fields.BooleanField(default=True)
    allow_uploads_and_detail_edits = fields.BooleanField(default=True)
    allow_forwarding = fields.BooleanField(default=True)
    allow_bulk_payments = fields.BooleanField(default=True)
    customer_reviews = fields.BooleanField(default=False)
    show_sales_orders = fields.BooleanField(default=True)
    show_credit_notes = fields.BooleanField(default=True)
    verify_identity_for_public_links = fields.BooleanField(default=False)
    show_projects_and_timesheets = fields.BooleanField(default=False)
    show_subscriptions = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "portal_preferences"
