"""Secrets Portico must read again but a copy of its database must not: sealed with AES-GCM
under keys derived (HKDF-SHA256) from the server secret, one key per purpose.

A sealed value is `v1:` and the URL-safe base64 of a random 12-byte nonce followed by the
ciphertext and its tag. `bound_to` (e.g. the owner's id) is authenticated with it, so a value
copied onto another row does not open there.
"""

from __future__ import annotations

import base64
import binascii
import functools
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"
_NONCE_BYTES = 12

_server_secret = b""


class SealingNotConfigured(RuntimeError):
    pass


class Unsealable(ValueError):
    """Not a sealed value, or sealed under another key, purpose or binding."""


def configure(secret_key: str) -> None:
    """Keeps the server secret every purpose's key is derived from (once, at start-up)."""
    global _server_secret
    _server_secret = secret_key.encode()


def derived_key(purpose: str) -> bytes:
    """A 256-bit key for one purpose: one server secret, independent keys."""
    return _derive(_configured_secret(), purpose)


def seal(plaintext: str, *, purpose: str, bound_to: str) -> str:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = _aead(_configured_secret(), purpose).encrypt(
        nonce, plaintext.encode(), bound_to.encode()
    )
    return f"{_VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def unseal(sealed: str, *, purpose: str, bound_to: str) -> str:
    version, _, payload = sealed.partition(":")
    if version != _VERSION:
        raise Unsealable("Unknown sealed value format")
    try:
        raw = base64.urlsafe_b64decode(payload)
        opened = _aead(_configured_secret(), purpose).decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], bound_to.encode()
        )
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise Unsealable("The sealed value does not open with this server key") from exc
    return opened.decode()


def _configured_secret() -> bytes:
    if not _server_secret:
        raise SealingNotConfigured("sealing.configure(secret_key) was not called")
    return _server_secret


@functools.cache
def _aead(server_secret: bytes, purpose: str) -> AESGCM:
    return AESGCM(_derive(server_secret, purpose))


def _derive(server_secret: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        server_secret
    )
