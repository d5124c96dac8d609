from tortoise import fields

from models.base import Model


class MfaFactor(Model):
    """A TOTP authenticator of one staff user or portal contact."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="mfa_factors", on_delete=fields.CASCADE
    )
    staff_user = fields.OneToOneField(
        "models.StaffUser", related_name="mfa_factor", null=True, on_delete=fields.CASCADE
    )
    contact = fields.OneToOneField(
        "models.ContactPerson", related_name="mfa_factor", null=True, on_delete=fields.CASCADE
    )
    # AES-GCM sealed with a key derived from the server secret: a database copy alone
    # cannot produce codes.
    sealed_secret = fields.CharField(max_length=255)
    confirmed_at = fields.DatetimeField(null=True)
    # The newest time step a code was accepted for; older or equal steps are replays.
    last_used_step = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "mfa_factor"


class RecoveryCode(Model):
    id = fields.BigIntField(primary_key=True)
    factor = fields.ForeignKeyField(
        "models.MfaFactor", related_name="recovery_codes", on_delete=fields.CASCADE
    )
    code_hash = fields.CharField(max_length=64)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mfa_recovery_code"
