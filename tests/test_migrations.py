import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from server.database import tortoise_config


@pytest.mark.slow
async def test_committed_migrations_match_the_models(db) -> None:
    """A model change without `tortoise makemigrations` fails here instead of in production."""
    apps = tortoise_config(db.database_url)["apps"]
    autodetector = MigrationAutodetector(Tortoise.apps, apps)
    pending = await autodetector.changes()
    assert [writer.name for writer in pending] == []


def test_no_model_description_breaks_sqlite_migrations() -> None:
    """Tortoise writes a model's docstring into the table comment, and SQLite migrations split
    statements at ";": a docstring with one fails `portico migrate` on SQLite."""
    from tortoise.models import Model

    import server.database

    offenders = []
    for module_name in server.database.MODEL_MODULES:
        module = __import__(module_name, fromlist=["*"])
        for value in vars(module).values():
            is_model = isinstance(value, type) and issubclass(value, Model)
            if is_model and ";" in (value.__doc__ or ""):
                offenders.append(value.__name__)
    assert offenders == []
