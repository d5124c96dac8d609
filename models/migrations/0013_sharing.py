from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.sharing import CodeChannel, LinkAction
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0012_online_payments')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PublicLink',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='public_links', on_delete=OnDelete.CASCADE)),
                ('document', fields.ForeignKeyField('models.SalesDocument', source_field='document_id', db_constraint=True, to_field='id', related_name='public_links', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_by', fields.ForeignKeyField('models.StaffUser', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='public_links', on_delete=OnDelete.SET_NULL)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'public_link', 'app': 'models', 'indexes': [Index(fields=['document_id'])], 'pk_attr': 'id', 'table_description': "A document shared by an unguessable link. Only the token's hash is stored."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PublicLinkAccess',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('link', fields.ForeignKeyField('models.PublicLink', source_field='link_id', db_constraint=True, to_field='id', related_name='accesses', on_delete=OnDelete.CASCADE)),
                ('action', fields.CharEnumField(description='VIEW: VIEW\nPDF: PDF\nCODE_SENT: CODE_SENT\nVERIFIED: VERIFIED\nCODE_REFUSED: CODE_REFUSED\nPAY: PAY', enum_type=LinkAction, max_length=16)),
                ('ip_address', fields.CharField(default='', max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=300)),
                ('accessed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'public_link_access', 'app': 'models', 'indexes': [Index(fields=['link_id', 'accessed_at'])], 'pk_attr': 'id', 'table_description': "Who used a public link, when and from where: the link's access log."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VerificationCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('link', fields.ForeignKeyField('models.PublicLink', source_field='link_id', db_constraint=True, to_field='id', related_name='verification_codes', on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharEnumField(description='EMAIL: EMAIL\nSMS: SMS', enum_type=CodeChannel, max_length=8)),
                ('destination', fields.CharField(max_length=254)),
                ('code_hash', fields.CharField(max_length=128)),
                ('attempts', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'verification_code', 'app': 'models', 'indexes': [Index(fields=['link_id', 'created_at'])], 'pk_attr': 'id', 'table_description': "A one-time code proving a visitor controls the customer's email address or mobile"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VerifiedVisit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('link', fields.ForeignKeyField('models.PublicLink', source_field='link_id', db_constraint=True, to_field='id', related_name='verified_visits', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'verified_visit', 'app': 'models', 'pk_attr': 'id', 'table_description': "After a correct code: the visitor's pass to the link's document for a while."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='attachments',
            field=fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
