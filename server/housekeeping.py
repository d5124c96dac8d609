"""Periodic work inside `portico serve`: ended sessions, old failed-login counters and
idempotency keys are pruned, stored files no row claims are deleted, and payments and refunds
left in flight are reconciled with their gateway."""

from __future__ import annotations

import asyncio
import logging

from auth.rate_limit import prune as prune_failed_attempts
from auth.sessions import prune_sessions
from resolvers import files, online_payments, public_links, refunds

logger = logging.getLogger("portico.housekeeping")

INTERVAL_SECONDS = 3600
RECONCILE_SECONDS = 30


async def tidy_once() -> None:
    sessions = await prune_sessions()
    attempts = await prune_failed_attempts()
    keys = await online_payments.prune_idempotency_keys()
    codes = await public_links.prune()
    orphans = await files.prune_orphans()
    if sessions or attempts or keys or codes or orphans:
        logger.info(
            "Pruned %d ended sessions, %d failed attempts, %d idempotency keys, %d "
            "verification codes and visits and %d orphaned stored files",
            sessions, attempts, keys, codes, orphans,
        )  # fmt: skip


async def reconcile_payments_forever(interval: float = RECONCILE_SECONDS) -> None:
    """Starts at once, so payments and refunds a crash left behind are ended soon after a
    restart."""
    while True:
        for what, reconcile in (("payments", online_payments.reconcile),
                                ("refunds", refunds.reconcile)):  # fmt: skip
            try:
                changed = await reconcile()
                if changed:
                    logger.info("Reconciled %d %s with their gateway", changed, what)
            except Exception:  # one failed round must not stop the other or the next
                logger.exception("Reconciling %s failed; retrying in %s s", what, interval)
        await asyncio.sleep(interval)


async def run_forever(interval: float = INTERVAL_SECONDS) -> None:
    while True:
        try:
            await tidy_once()
        except Exception:  # a failed round must not stop the next one
            logger.exception("Housekeeping failed; retrying in %s s", interval)
        await asyncio.sleep(interval)
