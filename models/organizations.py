import functools
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise import fields

from models.base import Model


@functools.cache
def zone_named(name: str) -> ZoneInfo:
    """The time zone of that name. Names are checked when they are set; one this machine's zone
    database lacks still gives whole days, in UTC, rather than a broken page."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class Organization(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=200)
    portal_name = fields.CharField(max_length=63, unique=True)
    email = fields.CharField(max_length=254, default="")
    phone = fields.CharField(max_length=40, default="")
    address = fields.JSONField(default=dict)
    base_currency = fields.CharField(max_length=3, default="USD")
    locale = fields.CharField(max_length=16, default="en")
    timezone = fields.CharField(max_length=64, default="UTC")
    # The gateway that takes this organization's online payments.
    payment_gateway = fields.CharField(max_length=20, default="test")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organization"

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.timezone)

    def today(self) -> date:
        """The date where the business is: all of its documents' dates are in its calendar."""
        return datetime.now(self.zone).date()
