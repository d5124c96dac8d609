from __future__ import annotations

from contextvars import ContextVar
from decimal import Decimal

import strawberry

from models.money import format_money, from_minor
from schema.context import Context

# The viewer's locale for Money.formatted. A context variable rather than an argument of the
# resolver: the resolver keeps taking only the amount, so both execution paths (graphql-core's
# and schema.planned's) call it alike, and a page of amounts needs no lookup per amount.
_viewer_locale: ContextVar[str] = ContextVar("portico_viewer_locale", default="en")


def viewer_locale() -> str:
    return _viewer_locale.get()


def use_viewer_locale(context: object) -> None:
    """Amounts of the operation being built are formatted in its viewer's locale
    (`Context.locale`). Set in the operation's own task and left there: a subscription's events
    are formatted after the operation's start returned, and each HTTP request and websocket
    operation has its task."""
    if isinstance(context, Context):
        _viewer_locale.set(context.locale)


@strawberry.type(description="An exact amount in one currency.")
class Money:
    amount: Decimal = strawberry.field(description="In major units, e.g. 12.50.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    _minor: strawberry.Private[int]

    @strawberry.field(
        description=(
            "For display in the viewer's language: a portal contact's customer's portal "
            "language, the organization's locale for staff and partners; e.g. $1,234.50 in "
            "English, 1.234,50 € in German."
        )
    )
    def formatted(self) -> str:
        # Formatting costs far more than the amount itself: only when asked for.
        return format_money(self._minor, self.currency, _viewer_locale.get())

    @classmethod
    def of(cls, minor: int, currency: str) -> Money:
        # The type implements no interface, so graphql-core completes any object that has its
        # attributes: a page's hundreds of amounts skip building a dataclass each.
        return MoneyOfMinor(minor, currency)  # type: ignore[return-value]


class MoneyOfMinor:
    """A Money read from minor units: the Decimal amount is worked out when asked for."""

    __slots__ = ("_minor", "currency")

    def __init__(self, minor: int, currency: str) -> None:
        self._minor = minor
        self.currency = currency

    @property
    def amount(self) -> Decimal:
        return from_minor(self._minor, self.currency)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MoneyOfMinor):
            return NotImplemented
        return (self._minor, self.currency) == (other._minor, other.currency)

    def __hash__(self) -> int:
        return hash((self._minor, self.currency))

    def __repr__(self) -> str:
        return f"Money(amount={self.amount!r}, currency={self.currency!r})"
