"""Outbox delivery inside Portico's processes: beside `portico serve`, or as `portico worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from auth import sealing
from integrations.mailer import mailer_from_url
from integrations.outbox import new_worker_id, run_delivery_loop, use_attachment_loader
from pdf import cache as pdf_cache
from pdf import renderer as pdf_renderer
from resolvers.database_outage import is_database_unreachable
from server import tracing
from server.attachments import load_attachment
from server.database import close_database, open_database
from server.settings import Settings

logger = logging.getLogger("portico.outbox")

SHUTDOWN_GRACE_SECONDS = 10


def delivery_loop(settings: Settings, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
    use_attachment_loader(load_attachment)
    return run_delivery_loop(
        mailer_from_url(settings.mail_url),
        worker_id=new_worker_id(),
        poll_seconds=settings.outbox_poll_seconds,
        stop=stop,
        mail_from=settings.mail_from,
        is_outage=is_database_unreachable,
    )


@contextlib.asynccontextmanager
async def outbox_delivery(settings: Settings) -> AsyncIterator[None]:
    """Delivers in the background while the block runs; then lets a send in flight finish."""
    stop = asyncio.Event()
    task = asyncio.create_task(delivery_loop(settings, stop))
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, SHUTDOWN_GRACE_SECONDS)
        except TimeoutError:
            # Cancelled mid-send: the lease runs out and another round sends the message.
            logger.warning("Outbox delivery did not stop within %s s", SHUTDOWN_GRACE_SECONDS)


async def run_worker(settings: Settings) -> None:
    """`portico worker`: only the delivery loop, until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sealing.configure(settings.secret_key)  # bodies are sealed in the outbox
    tracing.configure(settings)  # each send is a trace of its own
    await open_database(settings)
    configure_pdfs(settings)  # forwarded documents are rendered here
    try:
        await delivery_loop(settings, stop)
    finally:
        await asyncio.to_thread(pdf_renderer.shutdown)
        await close_database()
        await asyncio.to_thread(tracing.shutdown)


def configure_pdfs(settings: Settings) -> None:
    pdf_renderer.configure(workers=settings.pdf_workers, cpu_seconds=settings.pdf_cpu_seconds)
    pdf_cache.configure(settings.var_dir / "pdf-cache")
