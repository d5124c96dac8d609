from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.documents import DocumentKind, DocumentStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_portal_access')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DocumentSeries',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='document_series', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='INVOICE: INVOICE\nRETAINER_INVOICE: RETAINER_INVOICE\nQUOTE: QUOTE\nSALES_ORDER: SALES_ORDER\nCREDIT_NOTE: CREDIT_NOTE', enum_type=DocumentKind, max_length=24)),
                ('prefix', fields.CharField(max_length=10)),
                ('next_number', fields.BigIntField(default=1)),
            ],
            options={'table': 'document_series', 'app': 'models', 'unique_together': (('organization', 'kind'),), 'pk_attr': 'id', 'table_description': 'The next number of each kind of document, per organization.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SalesDocument',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='sales_documents', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='sales_documents', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='INVOICE: INVOICE\nRETAINER_INVOICE: RETAINER_INVOICE\nQUOTE: QUOTE\nSALES_ORDER: SALES_ORDER\nCREDIT_NOTE: CREDIT_NOTE', enum_type=DocumentKind, max_length=24)),
                ('number', fields.CharField(max_length=40)),
                ('status', fields.CharEnumField(default=DocumentStatus.DRAFT, description='DRAFT: DRAFT\nSENT: SENT\nPARTIALLY_PAID: PARTIALLY_PAID\nPAID: PAID\nACCEPTED: ACCEPTED\nDECLINED: DECLINED\nEXPIRED: EXPIRED\nINVOICED: INVOICED\nCONFIRMED: CONFIRMED\nSHIPPED: SHIPPED\nFULFILLED: FULFILLED\nCLOSED: CLOSED\nVOID: VOID', enum_type=DocumentStatus, max_length=24)),
                ('currency', fields.CharField(max_length=3)),
                ('issue_date', fields.DateField()),
                ('due_date', fields.DateField(null=True)),
                ('payment_terms_days', fields.IntField(null=True)),
                ('reference', fields.CharField(default='', max_length=100)),
                ('customer_notes', fields.TextField(default='', unique=False)),
                ('terms', fields.TextField(default='', unique=False)),
                ('internal_notes', fields.TextField(default='', unique=False)),
                ('subtotal_minor', fields.BigIntField(default=0)),
                ('discount_minor', fields.BigIntField(default=0)),
                ('tax_minor', fields.BigIntField(default=0)),
                ('total_minor', fields.BigIntField(default=0)),
                ('balance_minor', fields.BigIntField(default=0)),
                ('allow_partial_payments', fields.BooleanField(default=False)),
                ('payment_methods', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('source', fields.ForeignKeyField('models.SalesDocument', source_field='source_id', null=True, db_constraint=True, to_field='id', related_name='derived', on_delete=OnDelete.SET_NULL)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('voided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('first_viewed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('first_viewed_by', fields.ForeignKeyField('models.ContactPerson', source_field='first_viewed_by_id', null=True, db_constraint=True, to_field='id', related_name='first_views', on_delete=OnDelete.SET_NULL)),
                ('version', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'sales_document', 'app': 'models', 'unique_together': (('organization', 'kind', 'number'),), 'indexes': [Index(fields=['customer_id', 'kind', 'issue_date']), Index(fields=['organization_id', 'kind', 'status'])], 'pk_attr': 'id', 'table_description': 'Invoices, retainer invoices, quotes, sales orders and credit notes share one table, so'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LineItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('document', fields.ForeignKeyField('models.SalesDocument', source_field='document_id', db_constraint=True, to_field='id', related_name='line_items', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('name', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('quantity', fields.DecimalField(max_digits=18, decimal_places=4)),
                ('unit', fields.CharField(default='', max_length=20)),
                ('rate', fields.DecimalField(max_digits=18, decimal_places=6)),
                ('discount_percent', fields.DecimalField(default=0, max_digits=7, decimal_places=4)),
                ('tax_percent', fields.DecimalField(default=0, max_digits=7, decimal_places=4)),
                ('amount_minor', fields.BigIntField()),
                ('discount_minor', fields.BigIntField(default=0)),
            ],
            options={'table': 'line_item', 'app': 'models', 'indexes': [Index(fields=['document_id', 'position'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
