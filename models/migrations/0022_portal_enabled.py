from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0021_activity_subjects')]

    initial = False

    operations = [
        # Every existing portal stays open.
        ops.AddField(
            model_name='PortalPreferences',
            name='portal_enabled',
            field=fields.BooleanField(default=True, db_default=True),
        ),
    ]
