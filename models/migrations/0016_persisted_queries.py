from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0015_sealed_email_bodies')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PersistedQuery',
            fields=[
                ('sha256', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('text', fields.TextField(unique=False)),
                ('registered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'persisted_query', 'app': 'models', 'pk_attr': 'sha256', 'table_description': 'A GraphQL document that clients may send by its SHA-256 instead of its text.'},
            bases=['Model'],
        ),
    ]
