from enum import StrEnum

from tortoise import fields

from models.base import Model


class BillingMethod(StrEnum):
    FIXED_COST = "FIXED_COST"
    HOURLY = "HOURLY"


class ProjectStatus(StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"


class Project(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="projects", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="projects", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    billing_method = fields.CharEnumField(BillingMethod, max_length=16)
    currency = fields.CharField(max_length=3)
    # The project's price for FIXED_COST, the price of an hour for HOURLY.
    rate_minor = fields.BigIntField(default=0)
    status = fields.CharEnumField(ProjectStatus, max_length=16, default=ProjectStatus.ACTIVE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "project"
        indexes = (("customer_id", "status"),)


class TimeEntry(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="time_entries", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="time_entries", on_delete=fields.RESTRICT
    )
    project = fields.ForeignKeyField(
        "models.Project", related_name="time_entries", on_delete=fields.CASCADE
    )
    staff_user = fields.ForeignKeyField(
        "models.StaffUser", related_name="time_entries", null=True, on_delete=fields.SET_NULL
    )
    logged_on = fields.DateField()
    minutes = fields.IntField()
    notes = fields.CharField(max_length=500, default="")
    billed = fields.BooleanField(default=False)
    # The invoice that billed it: voiding that invoice leaves the time unbilled again.
    invoice = fields.ForeignKeyField(
        "models.SalesDocument", related_name="time_entries", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "time_entry"
        indexes = (("project_id", "logged_on"),)
