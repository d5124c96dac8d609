from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

async def link_invitations_to_contacts(apps, schema_editor) -> None:
    """Invitations queued before messages named their contact: the contact of the organization
    with the address it went to, so `lastInvitationEmail` shows them too."""
    OutboxMessage = apps.get_model("models", "OutboxMessage")
    ContactPerson = apps.get_model("models", "ContactPerson")
    invitations = await OutboxMessage.filter(
        template="portal_invitation", contact_id=None, organization_id__not_isnull=True
    ).values("id", "organization_id", "to_address")
    for row in invitations:
        contact = await ContactPerson.filter(
            organization_id=row["organization_id"], email=row["to_address"]
        ).first().values("id")
        if contact:
            await OutboxMessage.filter(id=row["id"]).update(contact_id=contact["id"])


class Migration(migrations.Migration):
    dependencies = [('models', '0018_customer_api_keys')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OneTimeToken',
            name='replaced_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='contact',
            field=fields.ForeignKeyField('models.ContactPerson', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='outbox_messages', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddIndex(
            model_name='OutboxMessage',
            index=Index(fields=['contact_id', 'template']),
        ),
        ops.AddIndex(
            model_name='OutboxMessage',
            index=Index(fields=['organization_id', 'created_at']),
        ),
        ops.RunPython(link_invitations_to_contacts),
    ]
