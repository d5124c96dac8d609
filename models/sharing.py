from enum import StrEnum

from tortoise import fields

from models.base import Model


class PublicLink(Model):
    """A document shared by an unguessable link. Only the token's hash is stored."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="public_links", on_delete=fields.CASCADE
    )
    document = fields.ForeignKeyField(
        "models.SalesDocument", related_name="public_links", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_by = fields.ForeignKeyField(
        "models.StaffUser", related_name="public_links", null=True, on_delete=fields.SET_NULL
    )
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "public_link"
        indexes = (("document_id",),)


class LinkAction(StrEnum):
    VIEW = "VIEW"
    PDF = "PDF"
    CODE_SENT = "CODE_SENT"
    VERIFIED = "VERIFIED"
    CODE_REFUSED = "CODE_REFUSED"
    PAY = "PAY"


class PublicLinkAccess(Model):
    """Who used a public link, when and from where: the link's access log."""

    id = fields.BigIntField(primary_key=True)
    link = fields.ForeignKeyField(
        "models.PublicLink", related_name="accesses", on_delete=fields.CASCADE
    )
    action = fields.CharEnumField(LinkAction, max_length=16)
    ip_address = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=300, default="")
    accessed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "public_link_access"
        indexes = (("link_id", "accessed_at"),)


class CodeChannel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"


class VerificationCode(Model):
    """A one-time code proving a visitor controls the customer's email address or mobile
    number. Stored hashed, short-lived, with a limited number of tries."""

    id = fields.BigIntField(primary_key=True)
    link = fields.ForeignKeyField(
        "models.PublicLink", related_name="verification_codes", on_delete=fields.CASCADE
    )
    channel = fields.CharEnumField(CodeChannel, max_length=8)
    destination = fields.CharField(max_length=254)
    code_hash = fields.CharField(max_length=128)
    attempts = fields.IntField(default=0)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "verification_code"
        indexes = (("link_id", "created_at"),)


class VerifiedVisit(Model):
    """After a correct code: the visitor's pass to the link's document for a while."""

    id = fields.BigIntField(primary_key=True)
    link = fields.ForeignKeyField(
        "models.PublicLink", related_name="verified_visits", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "verified_visit"
