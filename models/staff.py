from enum import StrEnum

from tortoise import fields

from models.base import Model


class StaffRole(StrEnum):
    ADMIN = "ADMIN"
    STAFF = "STAFF"


class StaffUser(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="staff_users", on_delete=fields.CASCADE
    )
    # Staff log in by email alone, so an address belongs to one staff account everywhere.
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    role = fields.CharEnumField(StaffRole, max_length=16, default=StaffRole.STAFF)
    password_hash = fields.CharField(max_length=255, default="")
    is_active = fields.BooleanField(default=True)
    # Whether this user wants portal activity by email when the organization sends it.
    activity_emails = fields.BooleanField(default=True)
    last_login_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "staff_user"
