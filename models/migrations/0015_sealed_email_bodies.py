from tortoise import fields, migrations
from tortoise.migrations import operations as ops


async def seal_queued_bodies(apps, schema_editor) -> None:
    """Email queued before bodies were sealed still goes out, sealed now, under the server key
    of this deployment's environment (the one `portico serve` uses). Email already sent or
    refused keeps no body: the plain text columns are dropped below."""
    OutboxMessage = apps.get_model("models", "OutboxMessage")
    queued = await OutboxMessage.filter(status="PENDING").values(
        "id", "message_id", "to_address", "text_body", "html_body"
    )
    if not queued:
        return
    from auth import sealing
    from integrations.outbox import EmailBody, seal_body
    from server.settings import Settings

    sealing.configure(Settings.from_env().secret_key)
    for row in queued:
        body = EmailBody(row["text_body"], row["html_body"])
        sealed = seal_body(body, message_id=row["message_id"], to_address=row["to_address"])
        await OutboxMessage.filter(id=row["id"]).update(sealed_body=sealed)


class Migration(migrations.Migration):
    dependencies = [('models', '0014_conversation')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboxMessage',
            name='sealed_body',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.RunPython(seal_queued_bodies),
        ops.RemoveField(model_name='OutboxMessage', name='text_body'),
        ops.RemoveField(model_name='OutboxMessage', name='html_body'),
    ]
