"""Outbox delivery: claim due messages, send them, record the outcome, retry with backoff.

Any number of workers (tasks, processes, hosts) may deliver from one database. A worker claims a
batch with a lease in one atomic UPDATE, so a message is in one worker's hands at a time. If a
worker dies mid-send, its lease expires and the message is sent again with the same Message-ID,
so the receiving side can recognise the duplicate. Transient failures are retried forever:
while the mail server is down, email is delayed, never lost.

A row keeps its body sealed (`seal_body`): emails carry invitation, reset and sign-up links and
identity codes, and a copy of the database must not hand them out. Once a message is sent or
refused for good, its body is dropped, so not even the server key recovers those secrets from
the database afterwards; the recipient, subject, template, status and times stay for staff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from opentelemetry.trace import Span, SpanKind
from tortoise import connections
from tortoise.functions import Count, Min

from auth import sealing
from integrations import tracing
from integrations.mailer import DEFAULT_MAIL_FROM, Mailer, PermanentMailError, masked_address
from models.outbox import OutboxMessage, OutboxStatus

logger = logging.getLogger("portico.outbox")

BATCH_SIZE = 10
# Long enough for a whole batch even with slow SMTP timeouts; a crashed worker's messages wait
# this long before another worker picks them up.
LEASE = timedelta(minutes=10)
FIRST_RETRY_SECONDS = 5
MAX_RETRY_SECONDS = 3600
ERROR_LENGTH = 500
_BODY_PURPOSE = "portico outbox: email body sealing v1"
# What a failure reason must not keep, since staff read it: a server's reply may quote what it
# was given, and a link's token (after "token=", or a bare one by its prefix) opens an account.
_SECRET_IN_ERROR = re.compile(r"(?<=token=)[^\s&'\"]+|\b(?:inv|ver|rst|mfa)_[\w-]{16,}")

_CLAIM_SQL = {
    "postgres": """
        UPDATE outbox_message SET claimed_until = $1, claimed_by = $2
        WHERE id IN (
            SELECT id FROM outbox_message
            WHERE status = $3 AND next_attempt_at <= $4
              AND (claimed_until IS NULL OR claimed_until < $4)
            ORDER BY id LIMIT $5
            FOR UPDATE SKIP LOCKED
        )
        RETURNING id
    """,
    # SQLite runs one writer at a time, so the same statement is atomic without row locks.
    # It compares datetimes as ISO text, which works because Portico writes them all in UTC.
    "sqlite": """
        UPDATE outbox_message SET claimed_until = ?1, claimed_by = ?2
        WHERE id IN (
            SELECT id FROM outbox_message
            WHERE status = ?3 AND next_attempt_at <= ?4
              AND (claimed_until IS NULL OR claimed_until < ?4)
            ORDER BY id LIMIT ?5
        )
        RETURNING id
    """,
}

# The wake-up events of the delivery loops running in this process.
_listeners: set[asyncio.Event] = set()


def wake() -> None:
    """Tells this process's delivery loops that a message is waiting; a no-op without any."""
    for event in _listeners:
        event.set()


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


async def claim_batch(worker_id: str, limit: int, lease: timedelta) -> list[OutboxMessage]:
    """Leases up to `limit` due messages to `worker_id`, oldest first."""
    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    if dialect not in _CLAIM_SQL:
        raise NotImplementedError(f"Outbox delivery does not support {dialect!r} databases")
    now = datetime.now(UTC)
    rows = await connection.execute_query_dict(
        _CLAIM_SQL[dialect], [now + lease, worker_id, OutboxStatus.PENDING.value, now, limit]
    )
    ids = [row["id"] for row in rows]
    return await OutboxMessage.filter(id__in=ids).order_by("id") if ids else []


async def deliver_once(
    mailer: Mailer, worker_id: str, *, mail_from: str = DEFAULT_MAIL_FROM
) -> int:
    """Sends one batch of due messages; returns how many it attempted."""
    batch = await claim_batch(worker_id, BATCH_SIZE, LEASE)
    deadline = time.monotonic() + LEASE.total_seconds() / 2
    for index, row in enumerate(batch):
        if time.monotonic() > deadline:
            # Too close to the lease's end: another worker may claim these soon. Hand them back.
            await _record(batch[index:], worker_id, count_attempt=False)
            return index
        await _deliver(mailer, row, worker_id, mail_from)
    return len(batch)


async def run_delivery_loop(
    mailer: Mailer,
    *,
    worker_id: str,
    poll_seconds: float,
    stop: asyncio.Event,
    mail_from: str = DEFAULT_MAIL_FROM,
    is_outage: Callable[[BaseException], bool] = lambda error: False,
) -> None:
    """Delivers until `stop` is set, looking again after `poll_seconds` or a `wake()`. A round
    that fails because `is_outage` (the database out of reach) logs one line, as requests that
    meet an outage do; any other failure logs its traceback."""
    wakeup = asyncio.Event()
    _listeners.add(wakeup)
    logger.info("Outbox delivery started (worker %s, %r)", worker_id, mailer)
    try:
        while not stop.is_set():
            wakeup.clear()
            try:
                attempted = await deliver_once(mailer, worker_id, mail_from=mail_from)
            except Exception as error:  # the next round retries
                if is_outage(error):
                    logger.warning(
                        "Outbox delivery: database unreachable (%s); retrying in %s s",
                        type(error).__name__,
                        poll_seconds,
                    )
                else:
                    logger.exception("Outbox delivery failed; retrying in %s s", poll_seconds)
                attempted = 0
            if attempted < BATCH_SIZE:  # a full batch means more may be due right away
                await _first_of(poll_seconds, stop, wakeup)
    finally:
        _listeners.discard(wakeup)
        logger.info("Outbox delivery stopped (worker %s)", worker_id)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/pdf"


class AttachmentGone(Exception):
    """What a message was to carry no longer exists: it can never be sent as written."""


AttachmentLoader = Callable[[dict[str, Any]], Awaitable[Attachment]]
_attachment_loader: AttachmentLoader | None = None


def use_attachment_loader(loader: AttachmentLoader) -> None:
    """Set by the composition root: turns a row's attachment entries into files."""
    global _attachment_loader
    _attachment_loader = loader


async def _attach(message: EmailMessage, row: OutboxMessage) -> None:
    for spec in row.attachments or []:
        if _attachment_loader is None:
            raise RuntimeError("Outbox attachments need use_attachment_loader()")
        attachment = await _attachment_loader(spec)
        maintype, subtype = attachment.mime_type.split("/", 1)
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )


@dataclass(frozen=True)
class EmailBody:
    text: str
    html: str = ""


def seal_body(body: EmailBody, *, message_id: str, to_address: str) -> str:
    """The body as an outbox row keeps it until the message is sent. Bound to the message and
    its recipient: copied onto another row, or with the row's address changed, it does not
    open."""
    plain = json.dumps({"text": body.text, "html": body.html})
    return sealing.seal(plain, purpose=_BODY_PURPOSE, bound_to=_binding(message_id, to_address))


def open_body(sealed_body: str, *, message_id: str, to_address: str) -> EmailBody:
    """The body `seal_body` sealed; sealing.Unsealable if it was not sealed for this message
    under this server key."""
    plain = sealing.unseal(
        sealed_body, purpose=_BODY_PURPOSE, bound_to=_binding(message_id, to_address)
    )
    opened = json.loads(plain)
    return EmailBody(opened["text"], opened["html"])


def _binding(message_id: str, to_address: str) -> str:
    return f"{message_id}\n{to_address}"


def compose(row: OutboxMessage, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = row.to_address
    if row.reply_to:
        message["Reply-To"] = row.reply_to
    message["Subject"] = row.subject
    message["Message-ID"] = row.message_id
    # When the message was written, not when a retry finally got it through.
    message["Date"] = format_datetime(row.created_at)
    # RFC 3834: keeps vacation responders from answering a notification.
    message["Auto-Submitted"] = "auto-generated"
    body = open_body(row.sealed_body, message_id=row.message_id, to_address=row.to_address)
    message.set_content(body.text)
    if body.html:
        message.add_alternative(body.html, subtype="html")
    return message


def retry_delay(attempts: int) -> timedelta:
    """5 s after the first failure, doubling up to an hour; the random part spreads out
    messages that failed together, so they do not all come back in the same second."""
    ceiling = min(FIRST_RETRY_SECONDS * 2 ** min(attempts - 1, 20), MAX_RETRY_SECONDS)
    return timedelta(seconds=ceiling * random.uniform(0.75, 1.0))  # noqa: S311 (not a secret)


async def _deliver(mailer: Mailer, row: OutboxMessage, worker_id: str, mail_from: str) -> None:
    # A trace of its own per send, while tracing is on; the recipient and body stay out of it.
    attributes = {
        "portico.outbox.message": row.id,
        "portico.outbox.template": row.template,
        "portico.outbox.attempt": row.attempts + 1,
    }
    with tracing.span("outbox send", kind=SpanKind.PRODUCER, attributes=attributes) as span:
        try:
            message = compose(row, mail_from)
            await _attach(message, row)
            await mailer.send(message)
        except (PermanentMailError, AttachmentGone, sealing.Unsealable) as exc:
            # An unsealable body was sealed under another server key: no retry can send it.
            logger.warning(
                "Email %s to %s refused for good: %s", row.id, masked_address(row.to_address), exc
            )
            _failed(span, exc, OutboxStatus.FAILED)
            await _finish(row, worker_id, status=OutboxStatus.FAILED, last_error=_short(exc))
        except Exception as exc:  # everything else is transient: retried until it goes through
            retry_at = datetime.now(UTC) + retry_delay(row.attempts + 1)
            logger.warning("Email %s not sent, retrying at %s: %s", row.id, retry_at, _short(exc))
            _failed(span, exc, OutboxStatus.PENDING)
            await _record([row], worker_id, next_attempt_at=retry_at, last_error=_short(exc))
        else:
            if span is not None:
                span.set_attribute("portico.outbox.status", OutboxStatus.SENT.value)
            logger.info(
                "Email %s sent: template=%s to=%s message_id=%s subject=%r",
                row.id,
                row.template or "-",
                masked_address(row.to_address),
                row.message_id,
                row.subject,
            )
            await _finish(
                row, worker_id, status=OutboxStatus.SENT, sent_at=datetime.now(UTC), last_error=""
            )


def _failed(span: Span | None, exc: Exception, status: OutboxStatus) -> None:
    if span is not None:
        tracing.failed(span, type(exc).__name__)
        span.set_attribute("portico.outbox.status", status.value)


async def _finish(row: OutboxMessage, worker_id: str, **outcome: Any) -> None:
    """An outcome for good: the body goes, with whatever link or code it carried."""
    await _record([row], worker_id, sealed_body="", **outcome)


async def _record(
    rows: list[OutboxMessage], worker_id: str, *, count_attempt: bool = True, **changes: Any
) -> None:
    """Writes an outcome and ends the lease, but only while the lease is still this worker's."""
    for row in rows:
        if count_attempt:
            changes["attempts"] = row.attempts + 1
        updated = await OutboxMessage.filter(
            id=row.id, claimed_by=worker_id, status=OutboxStatus.PENDING
        ).update(claimed_until=None, **changes)
        if not updated:
            logger.warning("Lease on email %s was lost before its outcome was saved", row.id)


def _short(exc: BaseException) -> str:
    """The failure reason kept for staff: the error's type and text, secrets removed."""
    return _SECRET_IN_ERROR.sub("[removed]", f"{type(exc).__name__}: {exc}")[:ERROR_LENGTH]


async def _first_of(seconds: float, *events: asyncio.Event) -> None:
    """Waits until one of the events is set, or `seconds` have passed."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def pending_backlog() -> tuple[int, datetime | None]:
    """How many messages wait to be sent, and when the oldest of them was written."""
    [row] = (
        await OutboxMessage.filter(status=OutboxStatus.PENDING)
        .annotate(waiting=Count("id"), oldest=Min("created_at"))
        .values("waiting", "oldest")
    )
    oldest = row["oldest"]
    if isinstance(oldest, str):  # SQLite hands an aggregate back as text
        oldest = datetime.fromisoformat(oldest)
    return row["waiting"], oldest
