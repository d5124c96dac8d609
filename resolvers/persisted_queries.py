"""Persisted queries: GraphQL documents known by the SHA-256 of their text, so that a client may
send the hash instead of the text.

One table holds two kinds. Automatic persisted queries (Apollo's APQ) are a cache that
authenticated clients fill by sending a document with its hash: at most `MAX_KEPT` of them, the
oldest make room, and a client whose document was dropped simply sends its text again. The
trusted registry holds the documents the operator registered (`portico documents register`);
only they count as registered, and they are never dropped to make room.

Each worker keeps the registered hashes in memory (read on first use, then again every
`REFRESH_SECONDS`) and the texts it used last in a bounded LRU, so a request whose document is
known costs no statement.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections import OrderedDict
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from models.persisted_queries import PersistedQuery

logger = logging.getLogger("portico.persisted_queries")

# The key of Apollo's protocol in a request's `extensions`.
APQ_EXTENSION = "persistedQuery"
MAX_KEPT = 2_000
# Longer than any front end's document: a longer one runs, but its text has to be sent each time.
MAX_KEPT_LENGTH = 32_768
CACHED_TEXTS = 512
REFRESH_SECONDS = 30.0


def sha256_of(text: str) -> str:
    """The hex SHA-256 of the text's UTF-8 bytes, as clients compute it. A lone surrogate, which
    JSON can carry, is hashed as it comes instead of failing the request."""
    if len(text) <= MAX_KEPT_LENGTH:
        return _front_end_sha256(text)
    return _sha256(text)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# A front end's documents come again and again (hashed on every request that runs one), and
# comparing a text with one seen costs less than hashing it.
_front_end_sha256 = functools.lru_cache(maxsize=128)(_sha256)


class PersistedQueries:
    """The persisted queries as one worker sees them."""

    def __init__(self) -> None:
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._registered: frozenset[str] | None = None

    async def text(self, sha256: str) -> str | None:
        text = self._texts.get(sha256)
        if text is None:
            text = await PersistedQuery.filter(sha256=sha256).first().values_list("text", flat=True)
            if text is None:
                return None
        self._remember(sha256, text)
        return text

    async def is_registered(self, sha256: str, *, ask_database: bool = False) -> bool:
        """From memory, which may lag `REFRESH_SECONDS` behind the registry; `ask_database`
        confirms a hash memory does not know, for an answer that refuses a request."""
        if self._registered is None:
            await self.refresh()
        assert self._registered is not None
        if sha256 in self._registered:
            return True
        if not ask_database or not await _registered_in_database(sha256):
            return False
        self._registered = self._registered | {sha256}
        return True

    def knows(self, sha256: str) -> bool:
        """Whether the text is at hand, with no statement."""
        return sha256 in self._texts

    async def keep(self, sha256: str, text: str) -> None:
        """An automatic persisted query, `text` being the document whose hash is `sha256`."""
        if not _keepable(text):
            return
        try:
            await PersistedQuery.create(sha256=sha256, text=text)
        except IntegrityError:  # kept a moment ago, by this client or another worker
            pass
        else:
            await _make_room()
        self._remember(sha256, text)

    async def refresh(self) -> None:
        self._registered = frozenset(
            await PersistedQuery.filter(registered_at__isnull=False).values_list(
                "sha256", flat=True
            )
        )

    async def refresh_forever(self, interval: float = REFRESH_SECONDS) -> None:
        """So a document removed from the registry stops counting on every worker."""
        while True:
            try:
                await self.refresh()
            except Exception:  # a failed round must not stop the next one
                logger.exception("Reading the trusted registry failed; retrying in %s s", interval)
            await asyncio.sleep(interval)

    def _remember(self, sha256: str, text: str) -> None:
        self._texts[sha256] = text
        self._texts.move_to_end(sha256)
        while len(self._texts) > CACHED_TEXTS:
            self._texts.popitem(last=False)


def _keepable(text: str) -> bool:
    """Within the size bound, and storable in either database (UTF-8 without NUL)."""
    if len(text) > MAX_KEPT_LENGTH or "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def _make_room() -> None:
    dropped = await (
        PersistedQuery.filter(registered_at=None)
        .order_by("-created_at")
        .offset(MAX_KEPT)
        .values_list("sha256", flat=True)
    )
    if dropped:
        await PersistedQuery.filter(sha256__in=dropped, registered_at=None).delete()


async def _registered_in_database(sha256: str) -> bool:
    return await PersistedQuery.filter(sha256=sha256, registered_at__isnull=False).exists()


# -- the trusted registry, for `portico documents` -------------------------------------------


async def register(text: str) -> tuple[str, bool]:
    """The document's hash, and whether it was registered now (False: it already was)."""
    sha256 = sha256_of(text)
    now = datetime.now(UTC)
    try:
        await PersistedQuery.create(sha256=sha256, text=text, registered_at=now)
    except IntegrityError:  # kept by a client already, or registered before
        updated = await PersistedQuery.filter(sha256=sha256, registered_at=None).update(
            registered_at=now
        )
        return sha256, updated > 0
    return sha256, True


async def registered() -> list[PersistedQuery]:
    return await PersistedQuery.filter(registered_at__isnull=False).order_by(
        "registered_at", "sha256"
    )


async def remove(sha256: str) -> bool:
    """Takes the document out of the registry and forgets it; False if it was not registered."""
    return await PersistedQuery.filter(sha256=sha256, registered_at__isnull=False).delete() > 0
