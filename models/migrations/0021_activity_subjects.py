from tortoise import migrations
from tortoise.migrations import operations as ops


async def name_shared_files_as_subjects(apps, schema_editor) -> None:
    """Activity about a shared file named it "SharedFile"; every other subject is an upper-case
    name (ActivitySubject), which the API now answers as an enum."""
    Activity = apps.get_model("models", "Activity")
    await Activity.filter(document_type="SharedFile").update(document_type="SHARED_FILE")


class Migration(migrations.Migration):
    dependencies = [('models', '0020_order_progressions')]

    initial = False

    operations = [
        ops.RunPython(name_shared_files_as_subjects),
    ]
