"""Input checks shared by every use case; they collect all problems before refusing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import get_global

from models.money import MoneyError, is_currency, to_minor
from resolvers.errors import ErrorCode, Rejected, UserError

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s\x00-\x1f]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")
_PORTAL_NAME = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")
_PHONE = re.compile(r"^[0-9+()./\- ]{0,40}$")
_COUNTRIES = frozenset(get_global("territory_currencies").keys())
MAX_CUSTOM_FIELDS = 50
SUPPORTED_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "ja", "ar", "zh")


class Checker:
    def __init__(self) -> None:
        self.errors: list[UserError] = []

    def add(self, code: ErrorCode, message: str, field: Sequence[str]) -> None:
        self.errors.append(UserError(code, message, tuple(field)))

    def raise_if_any(self) -> None:
        if self.errors:
            raise Rejected(self.errors)

    def text(
        self, value: str | None, field: Sequence[str], *, max_length: int, required: bool = False
    ) -> str:
        value = (value or "").strip()
        if required and not value:
            self.add(ErrorCode.REQUIRED, "This field is required.", field)
        elif len(value) > max_length:
            self.add(ErrorCode.TOO_LONG, f"Use at most {max_length} characters.", field)
        elif any(ord(char) < 32 and char not in "\n\t" for char in value):
            self.add(ErrorCode.INVALID, "Control characters are not allowed.", field)
        return value

    def email(self, value: str | None, field: Sequence[str], *, required: bool = False) -> str:
        value = (value or "").strip()
        if not value:
            if required:
                self.add(ErrorCode.REQUIRED, "An email address is required.", field)
            return ""
        if len(value) > 254 or not _EMAIL.match(value):
            self.add(ErrorCode.INVALID_EMAIL, "Enter a valid email address.", field)
        return normalize_email(value)

    def phone(self, value: str | None, field: Sequence[str]) -> str:
        value = (value or "").strip()
        if not _PHONE.match(value):
            self.add(ErrorCode.INVALID, "Use digits, spaces and + ( ) - . / only.", field)
        return value

    def currency(self, value: str | None, field: Sequence[str]) -> str:
        value = (value or "").strip().upper()
        if not is_currency(value):
            self.add(ErrorCode.UNKNOWN_CURRENCY, f"Unknown currency {value!r}.", field)
        return value

    def language(self, value: str | None, field: Sequence[str]) -> str:
        value = (value or "").strip()
        if value not in SUPPORTED_LANGUAGES:
            supported = ", ".join(SUPPORTED_LANGUAGES)
            self.add(ErrorCode.UNKNOWN_LANGUAGE, f"Choose one of {supported}.", field)
        return value

    def locale(self, value: str | None, field: Sequence[str]) -> str:
        """A locale of one of the languages Portico writes (staff email is in it), in any
        region: en_US, de_AT, pt_BR. Chinese is written in simplified characters only."""
        value = (value or "").strip()
        try:
            locale = Locale.parse(value.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            self.add(ErrorCode.UNKNOWN_LANGUAGE, f"Unknown locale {value!r}.", field)
            return value
        if locale.language not in SUPPORTED_LANGUAGES or locale.script == "Hant":
            supported = ", ".join(SUPPORTED_LANGUAGES)
            self.add(
                ErrorCode.UNKNOWN_LANGUAGE,
                f"Choose a locale of one of the languages {supported} (zh: simplified).",
                field,
            )
        return value

    def portal_name(self, value: str | None, field: Sequence[str]) -> str:
        value = (value or "").strip().lower()
        if not _PORTAL_NAME.match(value):
            self.add(
                ErrorCode.INVALID,
                "Use 3 to 63 lowercase letters, digits and hyphens, starting with a letter.",
                field,
            )
        return value

    def country(self, value: str | None, field: Sequence[str]) -> str:
        value = (value or "").strip().upper()
        if value and value not in _COUNTRIES:
            self.add(ErrorCode.UNKNOWN_COUNTRY, "Use a two-letter ISO 3166 country code.", field)
        return value

    def amount(
        self, value: Decimal, currency: str, field: Sequence[str], *, minimum: int = 0
    ) -> int:
        try:
            minor = to_minor(value, currency)
        except MoneyError as exc:
            self.add(ErrorCode.INVALID_AMOUNT, str(exc), field)
            return 0
        if minor < minimum:
            rule = "cannot be negative" if minimum == 0 else "must be more than zero"
            self.add(ErrorCode.INVALID_AMOUNT, f"The amount {rule}.", field)
        return minor

    def address(self, value: dict[str, Any], field: Sequence[str]) -> dict[str, str]:
        limits = ADDRESS_FIELDS
        cleaned = {
            name: self.text(str(value.get(name) or ""), [*field, name], max_length=limit)
            for name, limit in limits.items()
        }
        cleaned["country"] = self.country(cleaned["country"], [*field, "country"])
        cleaned["phone"] = self.phone(cleaned["phone"], [*field, "phone"])
        return cleaned

    def custom_fields(self, values: list[dict[str, str]], field: Sequence[str]) -> list[dict]:
        if len(values) > MAX_CUSTOM_FIELDS:
            self.add(ErrorCode.INVALID, f"At most {MAX_CUSTOM_FIELDS} custom fields.", field)
        seen: set[str] = set()
        cleaned = []
        for index, item in enumerate(values[:MAX_CUSTOM_FIELDS]):
            name = self.text(
                item["name"], [*field, str(index), "name"], max_length=100, required=True
            )
            value = self.text(item["value"], [*field, str(index), "value"], max_length=1000)
            if name.lower() in seen:
                self.add(ErrorCode.DUPLICATE, "Field names must be unique.", [*field, str(index)])
            seen.add(name.lower())
            cleaned.append({"name": name, "value": value})
        return cleaned


ADDRESS_FIELDS = {
    "attention": 100,
    "street1": 200,
    "street2": 200,
    "city": 100,
    "state": 100,
    "zip": 20,
    "country": 10,
    "phone": 40,
}


def camel_case(name: str) -> str:
    """An input field's name as the API spells it, for the `field` path of a UserError."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def normalize_email(value: str) -> str:
    # The domain is case-insensitive by standard and the local part is in practice.
    return value.strip().lower()
