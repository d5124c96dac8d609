from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.activity import ActivityKind, ActorKind
from models.outbox import OutboxStatus
from models.preferences import ActivityNotifications
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_api_key_expiry')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Activity',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.CASCADE)),
                ('seq', fields.BigIntField()),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', null=True, db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='CONTACT_INVITED: CONTACT_INVITED\nINVITE_ACCEPTED: INVITE_ACCEPTED\nSIGNED_UP: SIGNED_UP\nFIRST_LOGIN: FIRST_LOGIN\nDOCUMENT_VIEWED: DOCUMENT_VIEWED\nDOCUMENT_SHARED: DOCUMENT_SHARED\nDOCUMENT_UPLOADED: DOCUMENT_UPLOADED\nDOCUMENT_FORWARDED: DOCUMENT_FORWARDED\nPAYMENT_MADE: PAYMENT_MADE\nPAYMENT_PENDING: PAYMENT_PENDING\nPAYMENT_SETTLED: PAYMENT_SETTLED\nPAYMENT_FAILED: PAYMENT_FAILED\nPAYMENT_REFUNDED: PAYMENT_REFUNDED\nCOMMENT_ADDED: COMMENT_ADDED\nQUOTE_ACCEPTED: QUOTE_ACCEPTED\nQUOTE_DECLINED: QUOTE_DECLINED\nDETAILS_UPDATED: DETAILS_UPDATED\nREVIEW_SUBMITTED: REVIEW_SUBMITTED\nPREFERENCES_CHANGED: PREFERENCES_CHANGED', enum_type=ActivityKind, max_length=40)),
                ('actor_kind', fields.CharEnumField(description='STAFF: STAFF\nCONTACT: CONTACT\nPARTNER: PARTNER\nSYSTEM: SYSTEM', enum_type=ActorKind, max_length=16)),
                ('actor_staff', fields.ForeignKeyField('models.StaffUser', source_field='actor_staff_id', null=True, db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.SET_NULL)),
                ('actor_contact', fields.ForeignKeyField('models.ContactPerson', source_field='actor_contact_id', null=True, db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.SET_NULL)),
                ('actor_name', fields.CharField(default='', max_length=200)),
                ('document_type', fields.CharField(default='', max_length=32)),
                ('document_id', fields.BigIntField(null=True)),
                ('document_number', fields.CharField(default='', max_length=40)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('visible_to_customer', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'activity', 'app': 'models', 'unique_together': (('organization', 'seq'),), 'indexes': [Index(fields=['customer_id', 'seq'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('staff_user', fields.ForeignKeyField('models.StaffUser', source_field='staff_user_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'notification', 'app': 'models', 'unique_together': (('staff_user', 'activity'),), 'indexes': [Index(fields=['staff_user_id', 'read_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', null=True, db_constraint=True, to_field='id', related_name='outbox_messages', on_delete=OnDelete.CASCADE)),
                ('message_id', fields.CharField(unique=True, max_length=200)),
                ('to_address', fields.CharField(max_length=254)),
                ('reply_to', fields.CharField(default='', max_length=254)),
                ('subject', fields.CharField(max_length=300)),
                ('text_body', fields.TextField(unique=False)),
                ('html_body', fields.TextField(default='', unique=False)),
                ('template', fields.CharField(default='', max_length=64)),
                ('status', fields.CharEnumField(default=OutboxStatus.PENDING, description='PENDING: PENDING\nSENT: SENT\nFAILED: FAILED', enum_type=OutboxStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claimed_by', fields.CharField(default='', max_length=64)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'outbox_message', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PortalPreferences',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.OneToOneField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='portal_preferences', on_delete=OnDelete.CASCADE)),
                ('activity_notifications', fields.CharEnumField(default=ActivityNotifications.IN_APP, description='IN_APP: IN_APP\nEMAIL: EMAIL\nBOTH: BOTH\nNONE: NONE', enum_type=ActivityNotifications, max_length=16)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'portal_preferences', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One settings object per organization, for the customer portal.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='StaffUser',
            name='activity_emails',
            field=fields.BooleanField(default=True),
        ),
    ]
