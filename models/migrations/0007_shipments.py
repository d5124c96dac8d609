from tortoise import migrations
from tortoise.migrations import operations as ops
from models.documents import ShipmentStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_credit_uses')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Shipment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='shipments', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='shipments', on_delete=OnDelete.RESTRICT)),
                ('sales_order', fields.ForeignKeyField('models.SalesDocument', source_field='sales_order_id', db_constraint=True, to_field='id', related_name='shipments', on_delete=OnDelete.RESTRICT)),
                ('carrier', fields.CharField(max_length=100)),
                ('tracking_number', fields.CharField(default='', max_length=100)),
                ('status', fields.CharEnumField(default=ShipmentStatus.SHIPPED, description='SHIPPED: SHIPPED\nDELIVERED: DELIVERED', enum_type=ShipmentStatus, max_length=16)),
                ('shipped_on', fields.DateField()),
                ('delivered_on', fields.DateField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'shipment', 'app': 'models', 'indexes': [Index(fields=['sales_order_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
