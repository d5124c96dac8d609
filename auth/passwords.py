"""argon2id password hashing with rehash-on-login and a timing-equal path for unknown accounts."""

from __future__ import annotations

import re
from itertools import pairwise

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256

_hasher = PasswordHasher(type=Type.ID)
_dummy_hash = ""

_COMMON = frozenset(
    {
        "password", "passw0rd", "password1", "qwerty", "qwertyuiop", "letmein", "welcome",
        "iloveyou", "admin", "administrator", "abc123", "monkey", "dragon", "football",
        "baseball", "sunshine", "princess", "trustno1", "changeme", "portal", "secret",
    }
)  # fmt: skip


def configure(time_cost: int, memory_kib: int) -> None:
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, type=Type.ID)
    _dummy_hash = ""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Compare in constant work; an empty stored hash (no password yet) costs the same."""
    global _dummy_hash
    if not stored_hash:
        if not _dummy_hash:
            _dummy_hash = _hasher.hash("portico-timing-equalizer")
        stored_hash, password = _dummy_hash, password + "\x00"
    try:
        return _hasher.verify(stored_hash, password[:MAX_LENGTH])
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


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
