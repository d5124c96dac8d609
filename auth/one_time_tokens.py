"""Single-use, expiring tokens for emailed links and the MFA login step; stored hashed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from auth.tokens import hash_token, new_token
from models.tokens import OneTimeToken, TokenPurpose

LIFETIME = {
    TokenPurpose.INVITATION: timedelta(days=7),
    TokenPurpose.EMAIL_VERIFICATION: timedelta(days=2),
    TokenPurpose.PASSWORD_RESET: timedelta(hours=1),
    TokenPurpose.MFA_CHALLENGE: timedelta(minutes=5),
}
_PREFIX = {
    TokenPurpose.INVITATION: "inv",
    TokenPurpose.EMAIL_VERIFICATION: "ver",
    TokenPurpose.PASSWORD_RESET: "rst",
    TokenPurpose.MFA_CHALLENGE: "mfa",
}


class TokenProblem(StrEnum):
    INVALID = "INVALID"
    USED = "USED"
    EXPIRED = "EXPIRED"
    # A newer token of the same purpose and owner took its place (e.g. a re-sent invitation).
    REPLACED = "REPLACED"


class TokenRefused(Exception):
    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


async def issue(
    purpose: TokenPurpose,
    *,
    organization_id: int,
    contact_id: int | None = None,
    staff_user_id: int | None = None,
    data: dict | None = None,
) -> str:
    """A fresh token; any earlier unused one of the same purpose and owner stops working and
    is marked as replaced."""
    now = datetime.now(UTC)
    if contact_id is not None or staff_user_id is not None:
        await OneTimeToken.filter(
            purpose=purpose, contact_id=contact_id, staff_user_id=staff_user_id, used_at=None
        ).update(used_at=now, replaced_at=now)
    secret, token_hash = new_token(_PREFIX[purpose])
    await OneTimeToken.create(
        token_hash=token_hash,
        purpose=purpose,
        organization_id=organization_id,
        contact_id=contact_id,
        staff_user_id=staff_user_id,
        data=data or {},
        expires_at=now + LIFETIME[purpose],
    )
    return secret


async def check(purpose: TokenPurpose, secret: str) -> OneTimeToken:
    """The token if it can still be used, without using it; else TokenRefused saying why."""
    row = await OneTimeToken.get_or_none(token_hash=hash_token(secret), purpose=purpose)
    if row is None:
        raise TokenRefused(TokenProblem.INVALID)
    # Before USED: a replaced token is also marked used, so that consume() refuses it.
    if row.replaced_at is not None:
        raise TokenRefused(TokenProblem.REPLACED)
    if row.used_at is not None:
        raise TokenRefused(TokenProblem.USED)
    if row.expires_at <= datetime.now(UTC):
        raise TokenRefused(TokenProblem.EXPIRED)
    return row


async def consume(purpose: TokenPurpose, secret: str) -> OneTimeToken:
    """Uses the token up. Of two concurrent attempts exactly one succeeds."""
    row = await check(purpose, secret)
    used = await OneTimeToken.filter(id=row.id, used_at=None).update(used_at=datetime.now(UTC))
    if used != 1:
        raise TokenRefused(TokenProblem.USED)
    return row


async def revoke_all(
    purpose: TokenPurpose, *, contact_id: int | None = None, staff_user_id: int | None = None
) -> None:
    await OneTimeToken.filter(
        purpose=purpose, contact_id=contact_id, staff_user_id=staff_user_id, used_at=None
    ).update(used_at=datetime.now(UTC))
