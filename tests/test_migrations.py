from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from server.database import tortoise_config


async def test_committed_migrations_match_the_models(db) -> None:
    """A model change without `tortoise makemigrations` fails here instead of in production."""
    apps = tortoise_config(db.database_url)["apps"]
    autodetector = MigrationAutodetector(Tortoise.apps, apps)
    pending = await autodetector.changes()
    assert [writer.name for writer in pending] == []
