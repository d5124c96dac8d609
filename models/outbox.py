from enum import StrEnum

from tortoise import fields

from models.base import Model


class OutboxStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    # The mail server refused the message for good (5xx); retrying cannot help.
    FAILED = "FAILED"


class OutboxMessage(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="outbox_messages", null=True, on_delete=fields.CASCADE
    )
    # The contact person the message is about (an invitation, a reset link), so staff can see
    # whether that contact's email went out. Null for email to staff or to other addresses.
    contact = fields.ForeignKeyField(
        "models.ContactPerson", related_name="outbox_messages", null=True, on_delete=fields.SET_NULL
    )
    # Stable across retries, so a receiver can drop a duplicate after a crash mid-send.
    message_id = fields.CharField(max_length=200, unique=True)
    to_address = fields.CharField(max_length=254)
    reply_to = fields.CharField(max_length=254, default="")
    subject = fields.CharField(max_length=300)
    # The text and HTML parts, sealed under a key derived from the server secret: emails carry
    # invitation, reset and sign-up links and identity codes. Emptied once the message is sent
    # or refused, so not even the server key recovers them from the database afterwards.
    sealed_body = fields.TextField(default="", db_default="")
    template = fields.CharField(max_length=64, default="")
    # What to attach, rendered when sent (e.g. [{"document_id": 7}] for a document's PDF), so
    # the row stays small and the attachment shows the document as it is then.
    attachments = fields.JSONField(default=list)
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(default="")
    next_attempt_at = fields.DatetimeField()
    # A worker's lease on the row while it sends; expired leases are claimed again.
    claimed_until = fields.DatetimeField(null=True)
    claimed_by = fields.CharField(max_length=64, default="")
    sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox_message"
        indexes = (
            ("status", "next_attempt_at"),
            ("contact_id", "template"),
            ("organization_id", "created_at"),
        )
