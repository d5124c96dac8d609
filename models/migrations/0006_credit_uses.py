from tortoise import migrations
from tortoise.migrations import operations as ops
from models.documents import CreditUseKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_sales_documents')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CreditUse',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='credit_uses', on_delete=OnDelete.CASCADE)),
                ('credit_note', fields.ForeignKeyField('models.SalesDocument', source_field='credit_note_id', db_constraint=True, to_field='id', related_name='credit_uses', on_delete=OnDelete.RESTRICT)),
                ('invoice', fields.ForeignKeyField('models.SalesDocument', source_field='invoice_id', null=True, db_constraint=True, to_field='id', related_name='credits_applied', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='APPLIED: APPLIED\nREFUNDED: REFUNDED', enum_type=CreditUseKind, max_length=16)),
                ('amount_minor', fields.BigIntField()),
                ('used_on', fields.DateField()),
                ('reference', fields.CharField(default='', max_length=100)),
                ('created_by', fields.ForeignKeyField('models.StaffUser', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='credit_uses', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'credit_use', 'app': 'models', 'indexes': [Index(fields=['credit_note_id']), Index(fields=['invoice_id'])], 'pk_attr': 'id', 'table_description': "Part of a credit note's balance: applied to an invoice, or refunded to the customer."},
            bases=['Model'],
        ),
    ]
