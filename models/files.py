from tortoise import fields

from models.activity import ActorKind
from models.base import Model


class SharedFile(Model):
    """A file in the shared documents area of a customer, or attached to a comment.

    The bytes live in file storage under `storage_key`, never under a name a user chose.
    """

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="shared_files", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="shared_files", on_delete=fields.CASCADE
    )
    # Set for a comment's attachment, null for the shared documents area.
    comment = fields.ForeignKeyField(
        "models.Comment", related_name="attachments", null=True, on_delete=fields.CASCADE
    )
    # False for attachments of internal comments, which contacts must never see.
    visible_to_customer = fields.BooleanField(default=True)
    storage_key = fields.CharField(max_length=200, unique=True)
    filename = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=100)
    size_bytes = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    description = fields.CharField(max_length=500, default="")
    uploaded_by_kind = fields.CharEnumField(ActorKind, max_length=16)
    uploaded_by_staff = fields.ForeignKeyField(
        "models.StaffUser", related_name="uploaded_files", null=True, on_delete=fields.SET_NULL
    )
    uploaded_by_contact = fields.ForeignKeyField(
        "models.ContactPerson",
        related_name="uploaded_files",
        null=True,
        on_delete=fields.SET_NULL,
    )
    uploader_name = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "shared_file"
        indexes = (("customer_id", "created_at"),)


class StoredObjectOrphan(Model):
    """Bytes written to storage whose row never committed, or whose row was deleted.

    Written before the bytes and removed with the commit that keeps them, so a crash between
    storing and committing leaves a record for housekeeping to delete, never a stray file.
    """

    id = fields.BigIntField(primary_key=True)
    storage_key = fields.CharField(max_length=200, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stored_object_orphan"
