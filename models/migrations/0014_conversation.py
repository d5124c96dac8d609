from tortoise import migrations
from tortoise.migrations import operations as ops
from models.activity import ActivityKind, ActorKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0013_sharing')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Comment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.CASCADE)),
                ('document', fields.ForeignKeyField('models.SalesDocument', source_field='document_id', db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.CASCADE)),
                ('author_kind', fields.CharEnumField(description='STAFF: STAFF\nCONTACT: CONTACT\nPARTNER: PARTNER\nSYSTEM: SYSTEM', enum_type=ActorKind, max_length=16)),
                ('author_staff', fields.ForeignKeyField('models.StaffUser', source_field='author_staff_id', null=True, db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.SET_NULL)),
                ('author_contact', fields.ForeignKeyField('models.ContactPerson', source_field='author_contact_id', null=True, db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.SET_NULL)),
                ('author_name', fields.CharField(default='', max_length=200)),
                ('body', fields.TextField(unique=False)),
                ('internal', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'comment', 'app': 'models', 'indexes': [Index(fields=['document_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A message in the thread of a sales document. Internal comments are for staff only.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CustomFieldDefinition',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='custom_field_definitions', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('editable_in_portal', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'custom_field_definition', 'app': 'models', 'unique_together': (('organization', 'name'),), 'pk_attr': 'id', 'table_description': 'A customer custom field the organization uses, and whether contacts may edit it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EmailTemplate',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='email_templates', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=40)),
                ('subject', fields.CharField(max_length=300)),
                ('body', fields.TextField(unique=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'email_template', 'app': 'models', 'unique_together': (('organization', 'name'),), 'pk_attr': 'id', 'table_description': 'The wording an organization chose for one of the emails Portico sends.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReviewRequest',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='review_requests', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='review_requests', on_delete=OnDelete.CASCADE)),
                ('requested_by', fields.ForeignKeyField('models.StaffUser', source_field='requested_by_id', null=True, db_constraint=True, to_field='id', related_name='review_requests', on_delete=OnDelete.SET_NULL)),
                ('payment', fields.ForeignKeyField('models.Payment', source_field='payment_id', null=True, db_constraint=True, to_field='id', related_name='review_requests', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'review_request', 'app': 'models', 'indexes': [Index(fields=['customer_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'Staff ask a customer to rate the business. One review answers one request.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Review',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='reviews', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='reviews', on_delete=OnDelete.CASCADE)),
                ('request', fields.OneToOneField('models.ReviewRequest', source_field='request_id', db_constraint=True, to_field='id', related_name='review', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('models.ContactPerson', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='reviews', on_delete=OnDelete.SET_NULL)),
                ('contact_name', fields.CharField(default='', max_length=200)),
                ('rating', fields.SmallIntField()),
                ('comment', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'review', 'app': 'models', 'indexes': [Index(fields=['organization_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SharedFile',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='shared_files', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='shared_files', on_delete=OnDelete.CASCADE)),
                ('comment', fields.ForeignKeyField('models.Comment', source_field='comment_id', null=True, db_constraint=True, to_field='id', related_name='attachments', on_delete=OnDelete.CASCADE)),
                ('visible_to_customer', fields.BooleanField(default=True)),
                ('storage_key', fields.CharField(unique=True, max_length=200)),
                ('filename', fields.CharField(max_length=255)),
                ('content_type', fields.CharField(max_length=100)),
                ('size_bytes', fields.BigIntField()),
                ('sha256', fields.CharField(max_length=64)),
                ('description', fields.CharField(default='', max_length=500)),
                ('uploaded_by_kind', fields.CharEnumField(description='STAFF: STAFF\nCONTACT: CONTACT\nPARTNER: PARTNER\nSYSTEM: SYSTEM', enum_type=ActorKind, max_length=16)),
                ('uploaded_by_staff', fields.ForeignKeyField('models.StaffUser', source_field='uploaded_by_staff_id', null=True, db_constraint=True, to_field='id', related_name='uploaded_files', on_delete=OnDelete.SET_NULL)),
                ('uploaded_by_contact', fields.ForeignKeyField('models.ContactPerson', source_field='uploaded_by_contact_id', null=True, db_constraint=True, to_field='id', related_name='uploaded_files', on_delete=OnDelete.SET_NULL)),
                ('uploader_name', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'shared_file', 'app': 'models', 'indexes': [Index(fields=['customer_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A file in the shared documents area of a customer, or attached to a comment.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StoredObjectOrphan',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('storage_key', fields.CharField(unique=True, max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'stored_object_orphan', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Bytes written to storage whose row never committed, or whose row was deleted.'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Activity',
            name='kind',
            field=fields.CharEnumField(description='CONTACT_INVITED: CONTACT_INVITED\nINVITE_ACCEPTED: INVITE_ACCEPTED\nSIGNED_UP: SIGNED_UP\nFIRST_LOGIN: FIRST_LOGIN\nDOCUMENT_VIEWED: DOCUMENT_VIEWED\nDOCUMENT_SHARED: DOCUMENT_SHARED\nDOCUMENT_UPLOADED: DOCUMENT_UPLOADED\nDOCUMENT_FORWARDED: DOCUMENT_FORWARDED\nPAYMENT_MADE: PAYMENT_MADE\nPAYMENT_PENDING: PAYMENT_PENDING\nPAYMENT_SETTLED: PAYMENT_SETTLED\nPAYMENT_FAILED: PAYMENT_FAILED\nPAYMENT_REFUNDED: PAYMENT_REFUNDED\nDOCUMENT_REMOVED: DOCUMENT_REMOVED\nCOMMENT_ADDED: COMMENT_ADDED\nCOMMENT_DELETED: COMMENT_DELETED\nQUOTE_ACCEPTED: QUOTE_ACCEPTED\nQUOTE_DECLINED: QUOTE_DECLINED\nDETAILS_UPDATED: DETAILS_UPDATED\nCONTACT_ADDED: CONTACT_ADDED\nREVIEW_REQUESTED: REVIEW_REQUESTED\nREVIEW_SUBMITTED: REVIEW_SUBMITTED\nPREFERENCES_CHANGED: PREFERENCES_CHANGED', enum_type=ActivityKind, max_length=40),
        ),
    ]
