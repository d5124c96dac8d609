from tortoise import fields

from models.base import Model


class ReviewRequest(Model):
    """Staff ask a customer to rate the business. One review answers one request."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="review_requests", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="review_requests", on_delete=fields.CASCADE
    )
    requested_by = fields.ForeignKeyField(
        "models.StaffUser", related_name="review_requests", null=True, on_delete=fields.SET_NULL
    )
    # Set when the request went out with a recorded payment.
    payment = fields.ForeignKeyField(
        "models.Payment", related_name="review_requests", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "review_request"
        indexes = (("customer_id", "created_at"),)


class Review(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="reviews", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="reviews", on_delete=fields.CASCADE
    )
    request = fields.OneToOneField(
        "models.ReviewRequest", related_name="review", on_delete=fields.CASCADE
    )
    contact = fields.ForeignKeyField(
        "models.ContactPerson", related_name="reviews", null=True, on_delete=fields.SET_NULL
    )
    contact_name = fields.CharField(max_length=200, default="")
    rating = fields.SmallIntField()
    comment = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "review"
        indexes = (("organization_id", "created_at"),)


class EmailTemplate(Model):
    """The wording an organization chose for one of the emails Portico sends."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="email_templates", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=40)
    subject = fields.CharField(max_length=300)
    body = fields.TextField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "email_template"
        unique_together = (("organization", "name"),)
