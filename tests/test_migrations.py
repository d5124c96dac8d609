import asyncio
import json
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from server.database import tortoise_config
from tests.databases import Templates, worker_name
from tests.services import create_database

MIGRATIONS = Path(__file__).parent.parent / "models" / "migrations"


@pytest.mark.slow
@pytest.mark.any_backend
async def test_committed_migrations_match_the_models(db) -> None:
    """A model change without `tortoise makemigrations` fails here instead of in production.
    The autodetector compares the models (initialized by opening a database) with the migration
    files, touching no database, so one backend tells all."""
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


# Sales orders as they were before they had an invoicing and a shipping progression: id,
# status, total; then invoices (order, status, total) and shipments (order, status).
OLD_ORDERS = """
INSERT INTO organization (id, name, portal_name, email, phone, address, base_currency, locale,
  timezone, created_at, payment_gateway)
  VALUES (1, 'Org', 'org', '', '', '{}', 'USD', 'en', 'UTC', '2026-11-01 00:00:00', 'test');
INSERT INTO customer (id, organization_id, display_name, company_name, email, phone, currency,
  portal_language, billing_address, shipping_address, custom_fields, allow_ach,
  internal_notes, created_at, updated_at)
  VALUES (1, 1, 'Acorn', '', '', '', 'USD', 'en', '{}', '{}', '[]', false, '',
  '2026-11-01 00:00:00', '2026-11-01 00:00:00');
INSERT INTO activity (seq, kind, actor_kind, actor_name, document_type, document_id,
  document_number, data, visible_to_customer, created_at, customer_id, organization_id)
  VALUES (1, 'DOCUMENT_UPLOADED', 'CONTACT', 'Ann', 'SharedFile', 7, 'scan.pdf', '{}', true,
  '2026-11-01 00:00:00', 1, 1),
  (2, 'DOCUMENT_VIEWED', 'CONTACT', 'Ann', 'INVOICE', 11, 'N-11', '{}', false,
  '2026-11-01 00:00:00', 1, 1),
  (3, 'FIRST_LOGIN', 'CONTACT', 'Ann', '', NULL, '', '{}', false,
  '2026-11-01 00:00:00', 1, 1);
"""
DOCUMENTS = [  # id, kind, status, total, source
    (1, "SALES_ORDER", "FULFILLED", 1000, None),  # invoiced before it shipped: stuck
    (2, "SALES_ORDER", "SHIPPED", 1000, None),  # delivered, not invoiced
    (3, "SALES_ORDER", "FULFILLED", 1000, None),  # invoiced and delivered
    (4, "SALES_ORDER", "SHIPPED", 1000, None),  # one of two shipments delivered, invoice void
    (5, "SALES_ORDER", "DRAFT", 1000, None),
    (6, "QUOTE", "INVOICED", 1000, None),
    (11, "INVOICE", "SENT", 1000, 1),
    (13, "INVOICE", "PAID", 1000, 3),
    (14, "INVOICE", "VOID", 1000, 4),
]
SHIPMENTS = [(2, "DELIVERED"), (3, "DELIVERED"), (4, "DELIVERED"), (4, "SHIPPED")]

# Portal preferences saved before the portal could be turned off (of the organization above).
OLD_PREFERENCES = """
INSERT INTO portal_preferences (organization_id, activity_notifications, updated_at,
  allow_bulk_payments, allow_forwarding, allow_sign_up, allow_uploads_and_detail_edits,
  banner_message, customer_reviews, email_customers_on_staff_comments, mfa_required,
  prevent_duplicate_payments, show_credit_notes, show_projects_and_timesheets,
  show_sales_orders, show_subscriptions, verify_identity_for_public_links)
  VALUES (1, 'IN_APP', '2026-11-01 00:00:00', true, true, false, true, '', false, true, false,
  true, true, false, true, false, false);
"""

# One old database upgraded step by step as an installation that skipped releases would be:
# the orders and preferences written at 0017, then the rest by `portico migrate`'s own code;
# and a new database that `portico migrate` makes in one step. One process, because
# each partial migration re-renders Tortoise's model state for every operation (seconds of CPU).
UPGRADE_OLD_DATABASE = """
import asyncio, json, re, sys
from itertools import count
from tortoise import Tortoise, connections
from tortoise.migrations.api.migrate import migrate
from server.database import tortoise_config
from server.migrations import migrate as portico_migrate

ORDERS = "SELECT id, status, invoicing_status, shipping_status FROM sales_document ORDER BY id"

async def main(url, new_url, data):
    def sql(text):  # asyncpg numbers its parameters
        if url.startswith("sqlite"):
            return text
        numbers = count(1)
        return re.sub(r"\\?", lambda _: f"${next(numbers)}", text)
    config = tortoise_config(url)
    await migrate(config=config, target="models.0017_refund_status")
    connection = connections.get("default")
    await connection.execute_script(data["orders"])
    for id, kind, status, total, source in data["documents"]:
        await connection.execute_insert(sql(
            "INSERT INTO sales_document (id, organization_id, customer_id, kind, number, status,"
            " currency, issue_date, reference, customer_notes, terms, internal_notes,"
            " subtotal_minor, discount_minor, tax_minor, total_minor, balance_minor,"
            " allow_partial_payments, payment_methods, source_id, version, created_at,"
            " updated_at) VALUES (?, 1, 1, ?, ?, ?, 'USD', '2026-11-01', '', '', '', '', ?, 0,"
            " 0, ?, ?, false, '[]', ?, 1, '2026-11-01 00:00:00', '2026-11-01 00:00:00')"),
            [id, kind, f"N-{id}", status, total, total, total, source],
        )
    for order, status in data["shipments"]:
        await connection.execute_insert(sql(
            "INSERT INTO shipment (organization_id, customer_id, sales_order_id, carrier,"
            " tracking_number, status, shipped_on, created_at) VALUES (1, 1, ?, 'DHL', '', ?,"
            " '2026-11-02', '2026-11-02 00:00:00')"),
            [order, status],
        )
    await connection.execute_script(data["preferences"])
    await connections.close_all()
    upgrade = await portico_migrate(url)
    await Tortoise.init(config=config)
    connection = connections.get("default")
    _, rows = await connection.execute_query(ORDERS)
    _, subjects = await connection.execute_query(
        "SELECT document_type FROM activity ORDER BY seq"
    )
    _, portals = await connection.execute_query("SELECT portal_enabled FROM portal_preferences")
    await connections.close_all()
    new = await portico_migrate(new_url)
    print(json.dumps({"orders": [list(row) for row in rows],
                      "subjects": [row[0] for row in subjects],
                      "portal_enabled": [bool(row[0]) for row in portals],
                      "upgrade": [upgrade.created, upgrade.applied],
                      "new": [new.created, new.applied]}))

asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
"""


@dataclass(frozen=True)
class Upgraded:
    """An old database upgraded by `UPGRADE_OLD_DATABASE`, what it holds, and the new one."""

    url: str
    new_url: str
    found: dict[str, Any]


@pytest.fixture(scope="module")
def upgraded(
    backend: str, templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Upgraded:
    if backend == "postgres":
        server = templates.server_url()
        old, new = (
            asyncio.run(create_database(server, f"{name}_{worker_name()}"))
            for name in ("upgraded", "new")
        )
    else:
        directory = tmp_path_factory.mktemp("upgrade")
        old, new = f"sqlite://{directory}/old.sqlite3", f"sqlite://{directory}/new.sqlite3"
    data = {
        "orders": OLD_ORDERS,
        "documents": DOCUMENTS,
        "shipments": SHIPMENTS,
        "preferences": OLD_PREFERENCES,
    }
    done = subprocess.run(
        [sys.executable, "-c", UPGRADE_OLD_DATABASE, old, new, json.dumps(data)],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return Upgraded(old, new, json.loads(done.stdout.strip().splitlines()[-1]))


def migration_names() -> list[str]:
    return sorted(path.stem for path in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


@pytest.mark.slow
def test_a_new_database_gets_in_one_step_the_schema_the_migrations_build(
    upgraded: Upgraded,
) -> None:
    """`portico migrate` makes a database without tables from the models and records every
    migration; one upgraded migration by migration ends with the same tables, columns,
    foreign keys, constraints and indexes (on SQLite too, where Tortoise's table copies drop
    indexes that `migrate` then makes again)."""
    names = migration_names()
    assert upgraded.found["new"] == [True, names]
    assert upgraded.found["upgrade"] == [False, names[names.index("0017_refund_status") + 1 :]]
    assert schema_of(upgraded.url) == schema_of(upgraded.new_url)


@pytest.mark.slow
def test_sales_orders_get_their_progressions_from_what_happened_to_them(
    upgraded: Upgraded,
) -> None:
    """An order invoiced before it shipped becomes shippable again (CONFIRMED), a delivered
    one shows DELIVERED, and FULFILLED is kept for orders invoiced and delivered."""
    found = upgraded.found
    rows = {row[0]: tuple(row[1:]) for row in found["orders"]}
    assert rows[1] == ("CONFIRMED", "INVOICED", "NOT_SHIPPED")
    assert rows[2] == ("DELIVERED", "NOT_INVOICED", "DELIVERED")
    assert rows[3] == ("FULFILLED", "INVOICED", "DELIVERED")
    assert rows[4] == ("SHIPPED", "NOT_INVOICED", "SHIPPED")
    assert rows[5] == ("DRAFT", "NOT_INVOICED", "NOT_SHIPPED")
    assert rows[6][0] == "INVOICED"  # a quote's status is its own
    # Activity about a shared file names its subject as every other activity does.
    assert found["subjects"] == ["SHARED_FILE", "INVOICE", ""]


@pytest.mark.slow
def test_portals_that_existed_before_the_switch_stay_open(upgraded: Upgraded) -> None:
    assert upgraded.found["portal_enabled"] == [True]


def schema_of(url: str) -> dict[str, Any]:
    """What a database enforces and how it finds rows, table by table, as sets: not the order
    columns were added in, which differs (a column added later comes last)."""
    if url.startswith("sqlite://"):
        return _sqlite_schema(url.removeprefix("sqlite://").split("?")[0])
    return asyncio.run(_postgres_schema(url))


def _sqlite_schema(path: str) -> dict[str, Any]:
    database = sqlite3.connect(path)
    try:
        schema = {}
        tables = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        for (table,) in database.execute(tables):
            # name, type, not null, default, primary key
            columns = {row[1:] for row in database.execute(f'PRAGMA table_info("{table}")')}
            # referenced table, column, referenced column, on update, on delete
            keys = {row[2:7] for row in database.execute(f'PRAGMA foreign_key_list("{table}")')}
            indexes = set()
            for index in database.execute(f'PRAGMA index_list("{table}")').fetchall():
                info = database.execute(f'PRAGMA index_info("{index[1]}")')
                indexes.add((bool(index[2]), tuple(row[2] for row in info)))
            schema[table] = {"columns": columns, "foreign keys": keys, "indexes": indexes}
        return schema
    finally:
        database.close()


POSTGRES_SCHEMA = {
    "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default,"
    " character_maximum_length FROM information_schema.columns"
    " WHERE table_schema = current_schema()",
    "constraints": "SELECT conrelid::regclass::text, contype, pg_get_constraintdef(oid)"
    " FROM pg_constraint WHERE connamespace = current_schema()::regnamespace",
    "indexes": "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema()",
}


async def _postgres_schema(url: str) -> dict[str, Any]:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        schema: dict[str, Any] = {}
        for kind, query in POSTGRES_SCHEMA.items():
            for table, *rest in await connection.fetch(query):
                schema.setdefault(table, {}).setdefault(kind, set()).add(tuple(rest))
        return schema
    finally:
        await connection.close()
