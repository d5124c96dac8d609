from tortoise import fields

from models.base import Model


class ApiKey(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="api_keys", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    # The visible start of the key, so staff can tell keys apart without the secret.
    prefix = fields.CharField(max_length=16, unique=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    scopes = fields.JSONField(default=list)
    # Set: the key reads only this customer's rows, as its portal contacts see them. Deleting
    # the customer deletes the key, which must never fall back to the whole organization.
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="api_keys", null=True, on_delete=fields.CASCADE
    )
    created_by = fields.ForeignKeyField(
        "models.StaffUser", related_name="api_keys", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    # Last day (UTC) on which the key works; None: until revoked.
    expires_on = fields.DateField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"
