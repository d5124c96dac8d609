"""argon2id password hashing with rehash-on-login and a timing-equal path for unknown accounts.

A hash or a check costs a tenth of a second or more of CPU and 64 MiB by design, so it runs in a
small pool of threads of its own, never on the event loop: argon2 releases the GIL, so other
requests are answered meanwhile, and the pool's size bounds the CPU and memory logins can take.
On Linux the pool's threads also run at a lower CPU priority than the event loop, and so do the
threads argon2 starts for its lanes, which inherit it: a request that arrives while a password
is hashed is answered at once, and the hash goes on with the CPU time left over.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256
# Half the CPUs: the other half stays with the event loop and the database.
DEFAULT_WORKERS = max(1, (os.cpu_count() or 1) // 2)
# Far enough below the event loop's 0 that a waking request preempts a hash (at 5, logins still
# doubled a small query's p99 in bench/login_load.py on a busy machine); not so far (19) that
# logins stall whenever the machine is busy.
_NICENESS = 10

_hasher = PasswordHasher(type=Type.ID)
_dummy_hash = ""
_workers = DEFAULT_WORKERS
_pool: ThreadPoolExecutor | None = None
_T = TypeVar("_T")

_COMMON = frozenset(
    {
        "password", "passw0rd", "password1", "qwerty", "qwertyuiop", "letmein", "welcome",
        "iloveyou", "admin", "administrator", "abc123", "monkey", "dragon", "football",
        "baseball", "sunshine", "princess", "trustno1", "changeme", "portal", "secret",
    }
)  # fmt: skip


def configure(time_cost: int, memory_kib: int, workers: int = DEFAULT_WORKERS) -> None:
    global _hasher, _dummy_hash, _workers, _pool
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, type=Type.ID)
    _dummy_hash = ""
    if workers != _workers:
        _workers = max(1, workers)
        pool, _pool = _pool, None
        if pool is not None:
            pool.shutdown(wait=False)  # its work under way finishes; new work goes to a new pool


async def hash_password(password: str) -> str:
    return await _in_pool(_hasher.hash, password)


async def verify_password(stored_hash: str, password: str) -> bool:
    """Compare in constant work; an empty stored hash (no password yet) costs the same."""
    return await _in_pool(_verify, stored_hash, password)


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def _verify(stored_hash: str, password: str) -> bool:
    global _dummy_hash
    if not stored_hash:
        if not _dummy_hash:  # two threads may both make one; either will do
            _dummy_hash = _hasher.hash("portico-timing-equalizer")
        stored_hash, password = _dummy_hash, password + "\x00"
    try:
        return _hasher.verify(stored_hash, password[:MAX_LENGTH])
    except (VerificationError, InvalidHashError):
        return False


async def _in_pool(work: Callable[..., _T], *args: str) -> _T:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=_workers,
            thread_name_prefix="portico-passwords",
            initializer=_lower_priority,
        )
    return await asyncio.get_running_loop().run_in_executor(_pool, work, *args)


def _lower_priority() -> None:
    # Only Linux gives each thread its own priority; elsewhere this would set the process's.
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _NICENESS)


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why a new password is unacceptable, or None. Cheap checks against the usual guesses."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if len(set(lowered)) < 4:
        return "Use a less repetitive password."
    stripped = re.sub(r"[\d\W_]+$", "", lowered)
    if lowered in _COMMON or stripped in _COMMON:
        return "This password is too common."
    if _is_sequence(lowered):
        return "Avoid simple sequences like 1234567890 or abcdefghij."
    for personal in (email.lower().split("@")[0], name.lower().replace(" ", "")):
        if len(personal) >= 4 and personal in lowered.replace(" ", ""):
            return "Do not use your name or email address in your password."
    return None


def _is_sequence(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in pairwise(text)}
    return len(steps) == 1 and steps <= {-1, 0, 1}
