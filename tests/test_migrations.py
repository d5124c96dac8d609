import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from server.database import tortoise_config


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
# the orders written at 0017, the preferences at 0021, then the rest. One process, because each
# partial migration re-renders Tortoise's model state for every operation (seconds of CPU).
UPGRADE_OLD_DATABASE = """
import asyncio, json, sys
from tortoise import connections
from tortoise.migrations.api.migrate import migrate
from server.database import tortoise_config

ORDERS = "SELECT id, status, invoicing_status, shipping_status FROM sales_document ORDER BY id"

async def main(url, data):
    config = tortoise_config(url)
    await migrate(config=config, target="models.0017_refund_status")
    connection = connections.get("default")
    await connection.execute_script(data["orders"])
    for id, kind, status, total, source in data["documents"]:
        await connection.execute_insert(
            "INSERT INTO sales_document (id, organization_id, customer_id, kind, number, status,"
            " currency, issue_date, reference, customer_notes, terms, internal_notes,"
            " subtotal_minor, discount_minor, tax_minor, total_minor, balance_minor,"
            " allow_partial_payments, payment_methods, source_id, version, created_at,"
            " updated_at) VALUES (?, 1, 1, ?, ?, ?, 'USD', '2026-11-01', '', '', '', '', ?, 0,"
            " 0, ?, ?, 0, '[]', ?, 1, '2026-11-01 00:00:00', '2026-11-01 00:00:00')",
            [id, kind, f"N-{id}", status, total, total, total, source],
        )
    for order, status in data["shipments"]:
        await connection.execute_insert(
            "INSERT INTO shipment (organization_id, customer_id, sales_order_id, carrier,"
            " tracking_number, status, shipped_on, created_at) VALUES (1, 1, ?, 'DHL', '', ?,"
            " '2026-11-02', '2026-11-02 00:00:00')",
            [order, status],
        )
    await connections.close_all()
    await migrate(config=config, target="models.0021_activity_subjects")
    connection = connections.get("default")
    _, orders_at_0021 = await connection.execute_query(ORDERS)
    await connection.execute_script(data["preferences"])
    await connections.close_all()
    await migrate(config=config)
    connection = connections.get("default")
    _, rows = await connection.execute_query(ORDERS)
    _, subjects = await connection.execute_query(
        "SELECT document_type FROM activity ORDER BY seq"
    )
    _, portals = await connection.execute_query("SELECT portal_enabled FROM portal_preferences")
    print(json.dumps({"orders_at_0021": [list(row) for row in orders_at_0021],
                      "orders": [list(row) for row in rows],
                      "subjects": [row[0] for row in subjects],
                      "portal_enabled": [bool(row[0]) for row in portals]}))
    await connections.close_all()

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
"""


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the old database holds after `UPGRADE_OLD_DATABASE`."""
    url = f"sqlite://{tmp_path_factory.mktemp('upgrade')}/old.sqlite3"
    data = {
        "orders": OLD_ORDERS,
        "documents": DOCUMENTS,
        "shipments": SHIPMENTS,
        "preferences": OLD_PREFERENCES,
    }
    done = subprocess.run(
        [sys.executable, "-c", UPGRADE_OLD_DATABASE, url, json.dumps(data)],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_sales_orders_get_their_progressions_from_what_happened_to_them(
    upgraded: dict[str, Any],
) -> None:
    """An order invoiced before it shipped becomes shippable again (CONFIRMED), a delivered
    one shows DELIVERED, and FULFILLED is kept for orders invoiced and delivered."""
    rows = {row[0]: tuple(row[1:]) for row in upgraded["orders"]}
    assert rows[1] == ("CONFIRMED", "INVOICED", "NOT_SHIPPED")
    assert rows[2] == ("DELIVERED", "NOT_INVOICED", "DELIVERED")
    assert rows[3] == ("FULFILLED", "INVOICED", "DELIVERED")
    assert rows[4] == ("SHIPPED", "NOT_INVOICED", "SHIPPED")
    assert rows[5] == ("DRAFT", "NOT_INVOICED", "NOT_SHIPPED")
    assert rows[6][0] == "INVOICED"  # a quote's status is its own
    # Activity about a shared file names its subject as every other activity does.
    assert upgraded["subjects"] == ["SHARED_FILE", "INVOICE", ""]
    # The later migrations (and the preferences written before them) leave the orders alone.
    assert upgraded["orders_at_0021"] == upgraded["orders"]


@pytest.mark.slow
def test_portals_that_existed_before_the_switch_stay_open(upgraded: dict[str, Any]) -> None:
    assert upgraded["portal_enabled"] == [True]
