from tortoise import migrations
from tortoise.migrations import operations as ops
from models.subscriptions import BillingInterval, SubscriptionStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_projects')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CustomerSubscription',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='subscriptions', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='subscriptions', on_delete=OnDelete.RESTRICT)),
                ('plan_name', fields.CharField(max_length=200)),
                ('interval', fields.CharEnumField(description='WEEKLY: WEEKLY\nMONTHLY: MONTHLY\nQUARTERLY: QUARTERLY\nYEARLY: YEARLY', enum_type=BillingInterval, max_length=16)),
                ('amount_minor', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('status', fields.CharEnumField(default=SubscriptionStatus.LIVE, description='LIVE: LIVE\nPAUSED: PAUSED\nCANCELLED: CANCELLED', enum_type=SubscriptionStatus, max_length=16)),
                ('started_on', fields.DateField()),
                ('next_billing_on', fields.DateField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'customer_subscription', 'app': 'models', 'indexes': [Index(fields=['customer_id', 'status'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='SalesDocument',
            name='subscription',
            field=fields.ForeignKeyField('models.CustomerSubscription', source_field='subscription_id', null=True, db_constraint=True, to_field='id', related_name='invoices', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddIndex(
            model_name='SalesDocument',
            index=Index(fields=['organization_id', 'kind', 'issue_date', 'id']),
        ),
    ]
