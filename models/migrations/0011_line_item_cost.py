from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_payments')]

    initial = False

    operations = [
        ops.AddField(
            model_name='LineItem',
            name='cost_rate',
            field=fields.DecimalField(null=True, max_digits=18, decimal_places=6),
        ),
    ]
