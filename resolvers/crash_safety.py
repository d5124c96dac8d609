"""What payments and refunds share as external calls that move money: commit the attempt,
call the gateway with the attempt's own key, commit the outcome. An attempt left in between
is ended by reconciling it with the gateway once it is stale; the crash-safety tests kill the
process at named points between the steps."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

# An attempt this old cannot still be waiting for its gateway call, which times out sooner.
STALE_AFTER = timedelta(seconds=60)


def crash_point(name: str) -> None:
    """Lets the crash-safety tests kill the process at a named point of a payment or refund
    (PORTICO_CRASH_AT); honoured only outside production."""
    wanted = os.environ.get("PORTICO_CRASH_AT", "").strip()
    production = os.environ.get("PORTICO_ENV", "").strip().lower() == "production"
    if wanted == name and not production:
        os.kill(os.getpid(), signal.SIGKILL)
