"""Attempt counters in the database, so every worker enforces the same limits.

An attempt is counted before it is made: `reserve` takes one slot under each of its limits, or
none when any is used up, in a transaction that holds those limits' keys until it commits. So
twenty guesses sent at once get exactly as many tries as twenty sent in turn. An attempt that
turns out not to count (a right password, a card that was not declined) gives its slot back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

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

# The first key of pg_advisory_xact_lock(int, int), apart from Portico's other locks.
_LOCK_NAMESPACE = 7_284


@dataclass(frozen=True)
class Reservation:
    """The slots one attempt holds until it is known whether it counts."""

    attempt_ids: tuple[int, ...]

    async def release(self) -> None:
        """The attempt does not count after all."""
        await FailedAttempt.filter(id__in=self.attempt_ids).delete()


class _LimitReached(Exception):
    pass


async def reserve(*counted: tuple[Limit, str]) -> Reservation | None:
    """One slot under each (limit, subject), or None (and nothing counted) when any is full.

    Call it outside a transaction: the slot must be committed before the attempt is made.
    """
    keys = [limit.key(subject) for limit, subject in counted]
    try:
        async with in_transaction() as connection:
            await _hold(connection, keys)
            # Written before counting: on SQLite the first write takes the database's one write
            # lock, so no other process counts until this transaction ends.
            attempts = [await FailedAttempt.create(key=key) for key in keys]
            for (limit, _), key in zip(counted, keys, strict=True):
                since = datetime.now(UTC) - limit.window
                taken = await FailedAttempt.filter(key=key, created_at__gte=since).count()
                if taken > limit.max_failures:
                    raise _LimitReached  # rolls the slots taken above back
    except _LimitReached:
        return None
    return Reservation(tuple(attempt.id for attempt in attempts))


async def clear_failures(limit: Limit, subject: str) -> None:
    await FailedAttempt.filter(key=limit.key(subject)).delete()


async def prune(older_than: timedelta = timedelta(days=1)) -> int:
    return await FailedAttempt.filter(created_at__lt=datetime.now(UTC) - older_than).delete()


async def _hold(connection: BaseDBAsyncClient, keys: list[str]) -> None:
    """Serialize reservations per key until commit. PostgreSQL takes an advisory lock per key,
    in one order so that two reservations sharing keys cannot deadlock; SQLite needs nothing,
    since it runs one write transaction at a time."""
    if connection.capabilities.dialect != "postgres":
        return
    for lock in sorted({_lock_id(key) for key in keys}):
        await connection.execute_query(
            "SELECT pg_advisory_xact_lock($1, $2)", [_LOCK_NAMESPACE, lock]
        )


def _lock_id(key: str) -> int:
    digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)
