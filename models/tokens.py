from enum import StrEnum

from tortoise import fields

from models.base import Model


class TokenPurpose(StrEnum):
    INVITATION = "INVITATION"
    EMAIL_VERIFICATION = "EMAIL_VERIFICATION"
    PASSWORD_RESET = "PASSWORD_RESET"  # noqa: S105 - a purpose, not a secret
    # The second step of a login with MFA: proves the password was right, grants nothing else.
    MFA_CHALLENGE = "MFA_CHALLENGE"


class OneTimeToken(Model):
    id = fields.BigIntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    purpose = fields.CharEnumField(TokenPurpose, max_length=24)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="one_time_tokens", on_delete=fields.CASCADE
    )
    contact = fields.ForeignKeyField(
        "models.ContactPerson", related_name="one_time_tokens", null=True, on_delete=fields.CASCADE
    )
    staff_user = fields.ForeignKeyField(
        "models.StaffUser", related_name="one_time_tokens", null=True, on_delete=fields.CASCADE
    )
    # What a pending sign-up asked for; the customer is created only once the email is verified.
    data = fields.JSONField(default=dict)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    # Set (with used_at) when a newer token of the same purpose and owner took its place, so
    # the old link can say so instead of claiming it was used.
    replaced_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "one_time_token"
        indexes = (("contact_id", "purpose"), ("staff_user_id", "purpose"))
