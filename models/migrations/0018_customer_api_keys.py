from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.fields.base import OnDelete

class Migration(migrations.Migration):
    dependencies = [('models', '0017_refund_status')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ApiKey',
            name='customer',
            field=fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='api_keys', null=True, on_delete=OnDelete.CASCADE),
        ),
    ]
