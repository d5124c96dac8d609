"""Failure counters in the database, so every worker enforces the same limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from models.security import FailedAttempt


@dataclass(frozen=True)
class Limit:
    name: str
    max_failures: int
    window: timedelta

    def key(self, subject: str) -> str:
        return f"{self.name}:{subject.lower()}"[:300]


HOUR = timedelta(hours=1)

LOGIN_PER_ACCOUNT = Limit("login-account", max_failures=5, window=timedelta(minutes=15))
LOGIN_PER_ADDRESS = Limit("login-address", max_failures=30, window=timedelta(minutes=15))
# Wrong second-step codes (login, disabling MFA, new recovery codes), per account.
MFA_PER_ACCOUNT = Limit("mfa-account", max_failures=5, window=timedelta(minutes=15))


async def is_blocked(limit: Limit, subject: str) -> bool:
    since = datetime.now(UTC) - limit.window
    count = await FailedAttempt.filter(key=limit.key(subject), created_at__gte=since).count()
    return count >= limit.max_failures


async def record_failure(limit: Limit, subject: str) -> None:
    await FailedAttempt.create(key=limit.key(subject))


async def clear_failures(limit: Limit, subject: str) -> None:
    await FailedAttempt.filter(key=limit.key(subject)).delete()


async def prune(older_than: timedelta = timedelta(days=1)) -> int:
    return await FailedAttempt.filter(created_at__lt=datetime.now(UTC) - older_than).delete()
