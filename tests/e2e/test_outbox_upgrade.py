"""Upgrading a database whose outbox kept email bodies in plain text: `portico migrate` seals
what is still queued, which `portico worker` then delivers as written, and keeps no body of
email sent before."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests import launcher
from tests.e2e.processes import ROOT, portico, portico_env
from tests.smtp import SmtpServer

RESET_LINK = "http://127.0.0.1:8000/portal/acme/reset-password#token=rst_queuedBeforeTheUpgrade"
SENT_LINK = "http://127.0.0.1:8000/portal/acme/invitation#token=inv_sentBeforeTheUpgrade"

# The database as the version before sealed bodies left it, with one email queued, one sent;
# the two links come as arguments.
BEFORE_THE_UPGRADE = """
import asyncio
import sys

from tortoise import Tortoise, connections
from tortoise.migrations.api.migrate import migrate

from server.database import tortoise_config
from server.settings import Settings

ROW = '''INSERT INTO outbox_message (message_id, to_address, reply_to, subject, text_body,
  html_body, template, attachments, status, attempts, last_error, next_attempt_at, claimed_by,
  created_at) VALUES (?, ?, '', ?, ?, ?, ?, '[]', ?, 0, '', '2026-01-01T00:00:00+00:00', '',
  '2026-01-01T00:00:00+00:00')'''


async def main(reset_link, sent_link):
    config = tortoise_config(Settings.database_url_from_env())
    await migrate(config=config, target="models.0014_conversation")
    await Tortoise.init(config=config)
    db = connections.get("default")
    await db.execute_query(ROW, ["<queued@portico>", "maria@northwind.example", "Reset",
                                 f"Reset it here: {reset_link}", f"<a href='{reset_link}'>x</a>",
                                 "password_reset", "PENDING"])
    await db.execute_query(ROW, ["<sent@portico>", "priya@contoso.example", "Welcome",
                                 f"Join here: {sent_link}", "", "portal_invitation", "SENT"])
    await Tortoise.close_connections()


asyncio.run(main(*sys.argv[1:]))
"""


def test_queued_email_is_sealed_by_the_upgrade_and_still_delivered(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    database = tmp_path / "upgrade.sqlite3"
    env = portico_env(
        tmp_path,
        DATABASE_URL=f"sqlite://{database}",
        PORTICO_MAIL_URL=smtp.url,
        PORTICO_OUTBOX_POLL_SECONDS="1",
    )
    run = {"env": env, "cwd": ROOT, "check": True, "capture_output": True, "timeout": 60}
    subprocess.run([sys.executable, "-c", BEFORE_THE_UPGRADE, RESET_LINK, SENT_LINK], **run)

    portico("migrate", env=env)

    columns = {row[1] for row in _query(database, "PRAGMA table_info(outbox_message)")}
    assert "text_body" not in columns and "html_body" not in columns
    stored = "\n".join(str(row) for row in _query(database, "SELECT * FROM outbox_message"))
    assert "rst_queuedBeforeTheUpgrade" not in stored and "inv_sentBefore" not in stored
    assert _query(database, "SELECT sealed_body FROM outbox_message WHERE status = 'SENT'") == [
        ("",)
    ]

    worker = launcher.popen(
        ["worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        [received] = smtp.wait_for(1)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, log = worker.communicate(timeout=20)
    assert worker.returncode == 0, log
    assert received["Message-ID"] == "<queued@portico>"
    assert RESET_LINK in received.get_body(("plain",)).get_content()
    assert RESET_LINK in received.get_body(("html",)).get_content()
    assert _query(database, "SELECT status, sealed_body FROM outbox_message") == [
        ("SENT", ""),
        ("SENT", ""),
    ]


def _query(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql).fetchall()
