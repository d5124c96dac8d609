from tortoise import fields

from models.base import Model


# Kept for automatic persisted queries (a bounded number, newest first), or registered by the
# operator as a trusted document.
class PersistedQuery(Model):
    """A GraphQL document that clients may send by its SHA-256 instead of its text."""

    sha256 = fields.CharField(max_length=64, primary_key=True)
    text = fields.TextField()
    # Set while the document is in the trusted registry (`portico documents register`).
    registered_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "persisted_query"
