"""TOTP multi-factor authentication: sealed secrets, codes with replay protection, recovery codes.

A factor's TOTP secret is sealed with AES-GCM under a key derived from the server secret, so a
copy of the database alone cannot produce codes. Recovery codes are stored as keyed SHA-256
digests (HMAC) for the same reason: their hashes cannot be tried offline without the server key.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import time
from datetime import UTC, datetime

import pyotp
import segno

from auth import sealing
from models.mfa import MfaFactor, RecoveryCode

STEP_SECONDS = 30
DIGITS = 6
# Steps either side of now that still count: clocks on phones drift, people type slowly.
TOLERANCE_STEPS = 1
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: recovery codes are read off paper. 31 symbols, 12 of them: about 59 bits.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_GROUPS, _RECOVERY_GROUP_LENGTH = 3, 4
# The labels keys are derived under; changing one voids what was stored under it.
_SEALING_PURPOSE = "portico mfa: totp secret sealing v1"
_RECOVERY_PURPOSE = "portico mfa: recovery code digests v1"

# Seconds since the epoch; tests replace it to choose the moment a code is checked at.
clock = time.time


# --- TOTP secrets ---------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits), as authenticator apps expect it."""
    return pyotp.random_base32()


def seal(secret: str, owner: str) -> str:
    """The secret encrypted for storage. `owner` is bound in, so a sealed secret copied onto
    another account's row does not open there."""
    return sealing.seal(secret, purpose=_SEALING_PURPOSE, bound_to=owner)


def unseal(sealed: str, owner: str) -> str:
    return sealing.unseal(sealed, purpose=_SEALING_PURPOSE, bound_to=owner)


def owner_of(factor: MfaFactor) -> str:
    if factor.staff_user_id is not None:
        return f"staff:{factor.staff_user_id}"
    return f"contact:{factor.contact_id}"


# --- Enrollment -----------------------------------------------------------------------------


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account_name, issuer_name=issuer
    )


def qr_code_svg(uri: str) -> str:
    """The URI as a standalone SVG document (with its namespace, so it works in <img> too)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=4, xmldecl=False, nl=False)
    return buffer.getvalue().decode()


# --- Codes ----------------------------------------------------------------------------------


def current_step(at: float | None = None) -> int:
    return int((clock() if at is None else at) // STEP_SECONDS)


def looks_like_totp(code: str) -> bool:
    code = _compact(code)
    return len(code) == DIGITS and code.isdigit()


def matching_step(
    secret: str, code: str, *, after_step: int, at: float | None = None
) -> int | None:
    """The time step `code` belongs to, within the tolerance and newer than `after_step`."""
    code = _compact(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now = current_step(at)
    found = None
    for step in range(now - TOLERANCE_STEPS, now + TOLERANCE_STEPS + 1):
        # Every candidate is compared, in constant time, so timing tells nothing.
        if hmac.compare_digest(totp.generate_otp(step), code) and step > after_step:
            found = step
    return found


async def use_totp(factor: MfaFactor, code: str) -> bool:
    """Accept a code once: its step must be newer than the last accepted one.

    The conditional UPDATE is the arbiter: of two concurrent uses of one code (or of two codes
    of the same step), exactly one moves `last_used_step` and passes.
    """
    secret = unseal(factor.sealed_secret, owner_of(factor))
    step = matching_step(secret, code, after_step=factor.last_used_step)
    if step is None:
        return False
    moved = await MfaFactor.filter(id=factor.id, last_used_step__lt=step).update(
        last_used_step=step
    )
    if moved != 1:
        return False
    factor.last_used_step = step
    return True


# --- Recovery codes -------------------------------------------------------------------------


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    return ["-".join(_random_group() for _ in range(_RECOVERY_GROUPS)) for _ in range(count)]


def _random_group() -> str:
    return "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUP_LENGTH))


def recovery_code_digest(code: str) -> str:
    normalized = _compact(code).replace("-", "").lower()
    key = sealing.derived_key(_RECOVERY_PURPOSE)
    return hmac.new(key, normalized.encode(), hashlib.sha256).hexdigest()


async def replace_recovery_codes(factor: MfaFactor) -> list[str]:
    """New codes for the factor; the old ones stop working. The plain codes are shown once."""
    codes = new_recovery_codes()
    await RecoveryCode.filter(factor_id=factor.id).delete()
    await RecoveryCode.bulk_create(
        [RecoveryCode(factor_id=factor.id, code_hash=recovery_code_digest(c)) for c in codes]
    )
    return codes


async def use_recovery_code(factor: MfaFactor, code: str) -> bool:
    """Mark the code used; only one of two concurrent uses of it succeeds."""
    if not _compact(code):
        return False
    used = await RecoveryCode.filter(
        factor_id=factor.id, code_hash=recovery_code_digest(code), used_at=None
    ).update(used_at=datetime.now(UTC))
    return used == 1


async def use_code(factor: MfaFactor, code: str) -> bool:
    """A six-digit code from the authenticator app, or else one of the recovery codes."""
    if looks_like_totp(code):
        return await use_totp(factor, code)
    return await use_recovery_code(factor, code)


def _compact(code: str) -> str:
    return "".join((code or "").split())
