from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


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
    activity_notifications = fields.CharEnumField(
        ActivityNotifications, max_length=16, default=ActivityNotifications.IN_APP
    )
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "portal_preferences"
