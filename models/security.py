from tortoise import fields
from tortoise.models import Model


# One failed login or code entry, counted per key over a window to rate-limit guessing.
# Kept in the database so that every worker sees the same count.
class FailedAttempt(Model):
    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=300)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "failed_attempt"
        indexes = (("key", "created_at"),)
