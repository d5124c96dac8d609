"""Business-rule failures, returned in mutation payloads as `errors: [UserError!]!`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    INVALID_EMAIL = "INVALID_EMAIL"
    UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY"
    UNKNOWN_LANGUAGE = "UNKNOWN_LANGUAGE"
    UNKNOWN_COUNTRY = "UNKNOWN_COUNTRY"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    DUPLICATE = "DUPLICATE"
    NOT_FOUND = "NOT_FOUND"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    RATE_LIMITED = "RATE_LIMITED"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    LAST_ADMIN = "LAST_ADMIN"
    NO_EMAIL = "NO_EMAIL"
    NO_PRIMARY_CONTACT = "NO_PRIMARY_CONTACT"
    ALREADY_ACTIVE = "ALREADY_ACTIVE"
    NOT_INVITED = "NOT_INVITED"
    TOKEN_INVALID = "TOKEN_INVALID"
    TOKEN_USED = "TOKEN_USED"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    SIGN_UP_DISABLED = "SIGN_UP_DISABLED"
    PORTAL_NAME_TAKEN = "PORTAL_NAME_TAKEN"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    BELOW_AMOUNT_PAID = "BELOW_AMOUNT_PAID"
    ALREADY_ANSWERED = "ALREADY_ANSWERED"
    EXCEEDS_BALANCE = "EXCEEDS_BALANCE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    INVALID_CODE = "INVALID_CODE"
    MFA_CHALLENGE_EXPIRED = "MFA_CHALLENGE_EXPIRED"
    MFA_NOT_STARTED = "MFA_NOT_STARTED"
    MFA_ALREADY_ENABLED = "MFA_ALREADY_ENABLED"
    MFA_NOT_ENABLED = "MFA_NOT_ENABLED"
    MFA_REQUIRED = "MFA_REQUIRED"
    OWN_ACCOUNT = "OWN_ACCOUNT"
    METHOD_NOT_ACCEPTED = "METHOD_NOT_ACCEPTED"
    BULK_PAYMENTS_OFF = "BULK_PAYMENTS_OFF"
    PARTIAL_PAYMENT_NOT_ALLOWED = "PARTIAL_PAYMENT_NOT_ALLOWED"
    PAYMENT_IN_PROGRESS = "PAYMENT_IN_PROGRESS"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    INVALID_TOKEN = "INVALID_TOKEN"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    PAYMENT_NOT_COMPLETED = "PAYMENT_NOT_COMPLETED"
    GATEWAY_ERROR = "GATEWAY_ERROR"
    FORWARDING_OFF = "FORWARDING_OFF"
    UPLOADS_OFF = "UPLOADS_OFF"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    FILE_TYPE_NOT_ALLOWED = "FILE_TYPE_NOT_ALLOWED"
    NOT_YOUR_UPLOAD = "NOT_YOUR_UPLOAD"


@dataclass(frozen=True)
class UserError:
    code: ErrorCode
    message: str
    field: tuple[str, ...] | None = None


class Rejected(Exception):
    """Raised by a use case to refuse a request; nothing it started is kept."""

    def __init__(self, errors: Sequence[UserError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = list(errors)


def reject(code: ErrorCode, message: str, field: Sequence[str] | None = None) -> Rejected:
    return Rejected([UserError(code, message, tuple(field) if field else None)])
