from tortoise import fields

from models.base import Model


# One attempt counted against a limit (auth.rate_limit), per key over a window: a failed login
# or code entry, a request that sends email, or an attempt still under way, whose row goes
# again if it turns out not to count. Kept in the database so every worker sees the same count.
class FailedAttempt(Model):
    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=300)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "failed_attempt"
        indexes = (("key", "created_at"),)
