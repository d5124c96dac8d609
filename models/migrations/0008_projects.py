from tortoise import migrations
from tortoise.migrations import operations as ops
from models.projects import BillingMethod, ProjectStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_shipments')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Project',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='projects', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='projects', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('billing_method', fields.CharEnumField(description='FIXED_COST: FIXED_COST\nHOURLY: HOURLY', enum_type=BillingMethod, max_length=16)),
                ('currency', fields.CharField(max_length=3)),
                ('rate_minor', fields.BigIntField(default=0)),
                ('status', fields.CharEnumField(default=ProjectStatus.ACTIVE, description='ACTIVE: ACTIVE\nCOMPLETED: COMPLETED', enum_type=ProjectStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'project', 'app': 'models', 'indexes': [Index(fields=['customer_id', 'status'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TimeEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='time_entries', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='time_entries', on_delete=OnDelete.RESTRICT)),
                ('project', fields.ForeignKeyField('models.Project', source_field='project_id', db_constraint=True, to_field='id', related_name='time_entries', on_delete=OnDelete.CASCADE)),
                ('staff_user', fields.ForeignKeyField('models.StaffUser', source_field='staff_user_id', null=True, db_constraint=True, to_field='id', related_name='time_entries', on_delete=OnDelete.SET_NULL)),
                ('logged_on', fields.DateField()),
                ('minutes', fields.IntField()),
                ('notes', fields.CharField(default='', max_length=500)),
                ('billed', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'time_entry', 'app': 'models', 'indexes': [Index(fields=['project_id', 'logged_on'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
