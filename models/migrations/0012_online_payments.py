from tortoise import migrations
from tortoise.migrations import operations as ops
from models.payments import MethodKind, PaymentStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_line_item_cost')]

    initial = False

    operations = [
        ops.CreateModel(
            name='GatewayEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('gateway', fields.CharField(max_length=20)),
                ('event_id', fields.CharField(max_length=100)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'gateway_event', 'app': 'models', 'unique_together': (('gateway', 'event_id'),), 'pk_attr': 'id', 'table_description': 'A webhook event already handled, so a redelivery changes nothing.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='idempotency_keys', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('models.ContactPerson', source_field='contact_id', db_constraint=True, to_field='id', related_name='idempotency_keys', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=100)),
                ('fingerprint', fields.CharField(max_length=64)),
                ('payment', fields.ForeignKeyField('models.Payment', source_field='payment_id', null=True, db_constraint=True, to_field='id', related_name='idempotency_keys', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'idempotency_key', 'app': 'models', 'unique_together': (('contact', 'key'),), 'indexes': [Index(fields=['created_at'])], 'pk_attr': 'id', 'table_description': "A payment request's key: the same key and request give the first result again."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SavedPaymentMethod',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='saved_payment_methods', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='saved_payment_methods', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='CARD: CARD\nBANK_ACCOUNT: BANK_ACCOUNT', enum_type=MethodKind, max_length=16)),
                ('gateway', fields.CharField(max_length=20)),
                ('token', fields.CharField(max_length=200)),
                ('brand', fields.CharField(default='', max_length=30)),
                ('last4', fields.CharField(max_length=4)),
                ('exp_month', fields.IntField(null=True)),
                ('exp_year', fields.IntField(null=True)),
                ('bank_name', fields.CharField(default='', max_length=100)),
                ('is_default', fields.BooleanField(default=False)),
                ('added_by', fields.ForeignKeyField('models.ContactPerson', source_field='added_by_id', null=True, db_constraint=True, to_field='id', related_name='saved_payment_methods', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'saved_payment_method', 'app': 'models', 'unique_together': (('customer', 'gateway', 'token'),), 'pk_attr': 'id', 'table_description': "A customer's card or bank account: the gateway's token and what may be shown of it, never"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Organization',
            name='payment_gateway',
            field=fields.CharField(default='test', max_length=20),
        ),
        ops.AlterField(
            model_name='Payment',
            name='status',
            field=fields.CharEnumField(default=PaymentStatus.SUCCEEDED, description='PROCESSING: PROCESSING\nPENDING: PENDING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED', enum_type=PaymentStatus, max_length=16),
        ),
        ops.AddField(
            model_name='Payment',
            name='charge_key',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
        ops.AddField(
            model_name='Payment',
            name='declined',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Payment',
            name='failure_reason',
            field=fields.CharField(default='', max_length=300),
        ),
        ops.AddField(
            model_name='Payment',
            name='gateway',
            field=fields.CharField(default='', max_length=20),
        ),
        ops.AddField(
            model_name='Payment',
            name='gateway_reference',
            field=fields.CharField(default='', max_length=100),
        ),
        ops.AddField(
            model_name='Payment',
            name='payment_method',
            field=fields.ForeignKeyField('models.SavedPaymentMethod', source_field='payment_method_id', null=True, db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Payment',
            name='settled_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
