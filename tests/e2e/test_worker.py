"""Start `portico worker` as a real process: it delivers queued email over SMTP, then stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests import launcher
from tests.databases import Templates
from tests.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[2]

# Runs in its own process, as any Portico code would that queues email.
ENQUEUE = """
import asyncio
from datetime import UTC, datetime

from auth import sealing
from resolvers.email import enqueue_email
from server.database import close_database, open_database
from server.settings import Settings


async def main():
    settings = Settings.from_env()
    sealing.configure(settings.secret_key)
    await open_database(settings)
    try:
        row = await enqueue_email(
            to="ops@acme.example",
            template="activity_notification",
            language="es",
            context={
                "organization_name": "Acme Supplies", "actor_name": "Maria Lopez",
                "customer_name": "Northwind Traders", "kind": "FIRST_LOGIN",
                "document_number": "", "occurred_at": datetime.now(UTC), "timezone": "UTC",
                "amount_minor": None, "currency": "", "link": "http://127.0.0.1:8000/",
            },
        )
    finally:
        await close_database()
    print(row.message_id)


asyncio.run(main())
"""


def test_worker_delivers_queued_email_and_exits_on_sigterm(
    tmp_path: Path, smtp: SmtpServer, templates: Templates
) -> None:
    # A copy of the run's migrated database, which `portico migrate` finds up to date.
    templates.sqlite_copy(tmp_path / "worker.sqlite3")
    env = {
        **os.environ,
        "PORTICO_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite://{tmp_path}/worker.sqlite3",
        "PORTICO_MAIL_URL": smtp.url,
        "PORTICO_MAIL_FROM": "Acme Supplies <portal@acme.example>",
        "PORTICO_OUTBOX_POLL_SECONDS": "1",
    }
    python = [sys.executable]
    run = {"env": env, "cwd": ROOT, "check": True, "capture_output": True, "timeout": 60}
    launcher.run(["migrate"], **run)
    worker = launcher.popen(
        ["worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        queued = subprocess.run([*python, "-c", ENQUEUE], **run, text=True)
        received = smtp.wait_for(1)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, log = worker.communicate(timeout=20)

    assert worker.returncode == 0, log
    assert [str(message["Message-ID"]) for message in received] == [queued.stdout.strip()]
    assert received[0]["From"] == "Acme Supplies <portal@acme.example>"
    assert "Maria Lopez inició sesión en el portal por primera vez" in received[0]["Subject"]
    assert "Outbox delivery stopped" in log
