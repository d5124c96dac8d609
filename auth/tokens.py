"""Opaque random tokens: the caller gets the secret once, the database keeps only its hash."""

from __future__ import annotations

import hashlib
import secrets


def new_token(prefix: str, nbytes: int = 32) -> tuple[str, str]:
    """Return (secret shown once, hash to store). 32 bytes = 256 bits of entropy."""
    secret = f"{prefix}_{secrets.token_urlsafe(nbytes)}"
    return secret, hash_token(secret)


def hash_token(secret: str) -> str:
    # The secret is high-entropy, so a fast unsalted digest cannot be brute-forced.
    return hashlib.sha256(secret.encode()).hexdigest()
