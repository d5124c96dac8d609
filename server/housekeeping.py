"""Periodic clean-up inside `portico serve`: ended sessions and old failed-login counters."""

from __future__ import annotations

import asyncio
import logging

from auth.rate_limit import prune as prune_failed_attempts
from auth.sessions import prune_sessions

logger = logging.getLogger("portico.housekeeping")

INTERVAL_SECONDS = 3600


async def tidy_once() -> None:
    sessions = await prune_sessions()
    attempts = await prune_failed_attempts()
    if sessions or attempts:
        logger.info("Pruned %d ended sessions and %d failed attempts", sessions, attempts)


async def run_forever(interval: float = INTERVAL_SECONDS) -> None:
    while True:
        try:
            await tidy_once()
        except Exception:  # a failed round must not stop the next one
            logger.exception("Housekeeping failed; retrying in %s s", interval)
        await asyncio.sleep(interval)
