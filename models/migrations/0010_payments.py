from tortoise import migrations
from tortoise.migrations import operations as ops
from models.payments import PaymentKind, PaymentMode, PaymentStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_subscriptions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Payment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.RESTRICT)),
                ('number', fields.CharField(max_length=40)),
                ('kind', fields.CharEnumField(description='INVOICE_PAYMENT: INVOICE_PAYMENT\nRETAINER_PAYMENT: RETAINER_PAYMENT', enum_type=PaymentKind, max_length=24)),
                ('mode', fields.CharEnumField(description='CASH: CASH\nCHEQUE: CHEQUE\nBANK_TRANSFER: BANK_TRANSFER\nCARD: CARD\nACH: ACH\nOTHER: OTHER', enum_type=PaymentMode, max_length=24)),
                ('status', fields.CharEnumField(default=PaymentStatus.SUCCEEDED, description='PENDING: PENDING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED', enum_type=PaymentStatus, max_length=16)),
                ('currency', fields.CharField(max_length=3)),
                ('amount_minor', fields.BigIntField()),
                ('unused_minor', fields.BigIntField(default=0)),
                ('refunded_minor', fields.BigIntField(default=0)),
                ('paid_on', fields.DateField()),
                ('reference', fields.CharField(default='', max_length=100)),
                ('notes', fields.TextField(default='', unique=False)),
                ('internal_notes', fields.TextField(default='', unique=False)),
                ('recorded_by', fields.ForeignKeyField('models.StaffUser', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name='payments_recorded', on_delete=OnDelete.SET_NULL)),
                ('paid_by', fields.ForeignKeyField('models.ContactPerson', source_field='paid_by_id', null=True, db_constraint=True, to_field='id', related_name='payments_made', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'payment', 'app': 'models', 'unique_together': (('organization', 'number'),), 'indexes': [Index(fields=['customer_id', 'paid_on', 'id']), Index(fields=['organization_id', 'paid_on', 'id'])], 'pk_attr': 'id', 'table_description': 'Money received from a customer: what it paid is in its allocations, what went back in'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaymentAllocation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='payment_allocations', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='payment_allocations', on_delete=OnDelete.RESTRICT)),
                ('payment', fields.ForeignKeyField('models.Payment', source_field='payment_id', db_constraint=True, to_field='id', related_name='allocations', on_delete=OnDelete.RESTRICT)),
                ('document', fields.ForeignKeyField('models.SalesDocument', source_field='document_id', db_constraint=True, to_field='id', related_name='payment_allocations', on_delete=OnDelete.RESTRICT)),
                ('amount_minor', fields.BigIntField()),
                ('applied_on', fields.DateField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'payment_allocation', 'app': 'models', 'indexes': [Index(fields=['payment_id']), Index(fields=['document_id'])], 'pk_attr': 'id', 'table_description': 'Part of a payment that went to one invoice or retainer invoice. A retainer payment has'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaymentRefund',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='payment_refunds', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='payment_refunds', on_delete=OnDelete.RESTRICT)),
                ('payment', fields.ForeignKeyField('models.Payment', source_field='payment_id', db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.RESTRICT)),
                ('document', fields.ForeignKeyField('models.SalesDocument', source_field='document_id', null=True, db_constraint=True, to_field='id', related_name='payment_refunds', on_delete=OnDelete.RESTRICT)),
                ('amount_minor', fields.BigIntField()),
                ('refunded_on', fields.DateField()),
                ('mode', fields.CharEnumField(description='CASH: CASH\nCHEQUE: CHEQUE\nBANK_TRANSFER: BANK_TRANSFER\nCARD: CARD\nACH: ACH\nOTHER: OTHER', enum_type=PaymentMode, max_length=24)),
                ('reference', fields.CharField(default='', max_length=100)),
                ('created_by', fields.ForeignKeyField('models.StaffUser', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='payment_refunds', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'payment_refund', 'app': 'models', 'indexes': [Index(fields=['payment_id']), Index(fields=['document_id'])], 'pk_attr': 'id', 'table_description': 'Money given back from a payment. `document` is the invoice whose balance the refund'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='DocumentSeries',
            options={'table': 'document_series', 'app': 'models', 'unique_together': (('organization', 'kind'),), 'pk_attr': 'id', 'table_description': 'The next number of each numbered series (a kind of document, or payments), per'},
        ),
        ops.AlterField(
            model_name='DocumentSeries',
            name='kind',
            field=fields.CharField(max_length=24),
        ),
    ]
