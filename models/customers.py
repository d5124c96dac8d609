from enum import StrEnum

from tortoise import fields

from models.base import Model


class PortalAccess(StrEnum):
    NOT_INVITED = "NOT_INVITED"
    INVITED = "INVITED"
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


class Customer(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="customers", on_delete=fields.CASCADE
    )
    display_name = fields.CharField(max_length=200, db_index=True)
    company_name = fields.CharField(max_length=200, default="")
    email = fields.CharField(max_length=254, default="", db_index=True)
    phone = fields.CharField(max_length=40, default="")
    currency = fields.CharField(max_length=3)
    portal_language = fields.CharField(max_length=16, default="en")
    billing_address = fields.JSONField(default=dict)
    shipping_address = fields.JSONField(default=dict)
    custom_fields = fields.JSONField(default=list)
    credit_limit_minor = fields.BigIntField(null=True)
    allow_ach = fields.BooleanField(default=False)
    internal_notes = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "customer"


class ContactPerson(Model):
    id = fields.BigIntField(primary_key=True)
    # Denormalized so every scoping filter is one indexed column.
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="contact_persons", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="contact_persons", on_delete=fields.CASCADE
    )
    first_name = fields.CharField(max_length=100, default="")
    last_name = fields.CharField(max_length=100, default="")
    email = fields.CharField(max_length=254, default="", db_index=True)
    phone = fields.CharField(max_length=40, default="")
    mobile = fields.CharField(max_length=40, default="")
    is_primary = fields.BooleanField(default=False)
    portal_access = fields.CharEnumField(
        PortalAccess, max_length=16, default=PortalAccess.NOT_INVITED
    )
    password_hash = fields.CharField(max_length=255, default="")
    invited_at = fields.DatetimeField(null=True)
    accepted_at = fields.DatetimeField(null=True)
    last_login_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    class Meta:
        table = "contact_person"


class CustomFieldDefinition(Model):
    """A customer custom field the organization uses, and whether contacts may edit it."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="custom_field_definitions", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    editable_in_portal = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "custom_field_definition"
        unique_together = (("organization", "name"),)
