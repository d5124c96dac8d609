from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.tokens import TokenPurpose
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_activity_outbox_preferences')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MfaFactor',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='mfa_factors', on_delete=OnDelete.CASCADE)),
                ('staff_user', fields.OneToOneField('models.StaffUser', source_field='staff_user_id', null=True, db_constraint=True, to_field='id', related_name='mfa_factor', on_delete=OnDelete.CASCADE)),
                ('contact', fields.OneToOneField('models.ContactPerson', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='mfa_factor', on_delete=OnDelete.CASCADE)),
                ('sealed_secret', fields.CharField(max_length=255)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_used_step', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'mfa_factor', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A TOTP authenticator of one staff user or portal contact.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OneTimeToken',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('purpose', fields.CharEnumField(description='INVITATION: INVITATION\nEMAIL_VERIFICATION: EMAIL_VERIFICATION\nPASSWORD_RESET: PASSWORD_RESET\nMFA_CHALLENGE: MFA_CHALLENGE', enum_type=TokenPurpose, max_length=24)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='one_time_tokens', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('models.ContactPerson', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='one_time_tokens', on_delete=OnDelete.CASCADE)),
                ('staff_user', fields.ForeignKeyField('models.StaffUser', source_field='staff_user_id', null=True, db_constraint=True, to_field='id', related_name='one_time_tokens', on_delete=OnDelete.CASCADE)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'one_time_token', 'app': 'models', 'indexes': [Index(fields=['contact_id', 'purpose']), Index(fields=['staff_user_id', 'purpose'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RecoveryCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('factor', fields.ForeignKeyField('models.MfaFactor', source_field='factor_id', db_constraint=True, to_field='id', related_name='recovery_codes', on_delete=OnDelete.CASCADE)),
                ('code_hash', fields.CharField(max_length=64)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mfa_recovery_code', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='allow_bulk_payments',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='allow_forwarding',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='allow_sign_up',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='allow_uploads_and_detail_edits',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='banner_message',
            field=fields.TextField(default='', unique=False),
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='customer_reviews',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='email_customers_on_staff_comments',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='mfa_required',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='prevent_duplicate_payments',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='show_credit_notes',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='show_projects_and_timesheets',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='show_sales_orders',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='show_subscriptions',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='PortalPreferences',
            name='verify_identity_for_public_links',
            field=fields.BooleanField(default=False),
        ),
    ]
