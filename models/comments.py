from tortoise import fields

from models.activity import ActorKind
from models.base import Model


class Comment(Model):
    """A message in the thread of a sales document. Internal comments are for staff only."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="comments", on_delete=fields.CASCADE
    )
    # Denormalized from the document so scoping is one indexed column.
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="comments", on_delete=fields.CASCADE
    )
    document = fields.ForeignKeyField(
        "models.SalesDocument", related_name="comments", on_delete=fields.CASCADE
    )
    author_kind = fields.CharEnumField(ActorKind, max_length=16)
    author_staff = fields.ForeignKeyField(
        "models.StaffUser", related_name="comments", null=True, on_delete=fields.SET_NULL
    )
    author_contact = fields.ForeignKeyField(
        "models.ContactPerson", related_name="comments", null=True, on_delete=fields.SET_NULL
    )
    # A snapshot, so the thread still reads right after the author is renamed or removed.
    author_name = fields.CharField(max_length=200, default="")
    body = fields.TextField()
    internal = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "comment"
        indexes = (("document_id", "created_at"),)
