"""What day it is for each organization.

Dates in Portico are the organization's. An invoice created in the evening in Los Angeles is
dated that evening's day and turns overdue at midnight there, whatever the server's zone or
UTC say. Every date default, every comparison with today and every report period asks here.

Each process keeps the organizations' zones by id. Authentication reads the organization row
anyway and hands it to `remember`, so read paths can ask synchronously (`today_known`), and a
zone changed on another worker is seen by the organization's next request. `today` rereads a
zone it has not seen for a minute, for work that no request authenticated (reconciling).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from time import monotonic
from zoneinfo import ZoneInfo

from models.organizations import Organization, zone_named

FRESH_FOR_SECONDS = 60.0

# organization id -> (zone, when it was read, on the monotonic clock)
_zones: dict[int, tuple[ZoneInfo, float]] = {}


def remember(organization: Organization) -> None:
    _zones[organization.id] = (organization.zone, monotonic())


def forget_all() -> None:
    """For a database emptied under a running process (tests): ids may be used again."""
    _zones.clear()


async def zone(organization_id: int) -> ZoneInfo:
    known = _zones.get(organization_id)
    if known is None or monotonic() - known[1] > FRESH_FOR_SECONDS:
        name = (
            await Organization.filter(id=organization_id).first().values_list("timezone", flat=True)
        )
        _zones[organization_id] = (zone_named(name or "UTC"), monotonic())
    return _zones[organization_id][0]


async def today(organization_id: int) -> date:
    return datetime.now(await zone(organization_id)).date()


def today_known(organization_id: int) -> date:
    """Today for an organization this request already authenticated with or loaded."""
    known = _zones.get(organization_id)
    if known is None:
        raise LookupError(f"The time zone of organization {organization_id} was not loaded.")
    return datetime.now(known[0]).date()


def day_starts(day: date, in_zone: ZoneInfo) -> datetime:
    """The instant, in UTC, at which `day` begins in the zone."""
    return datetime.combine(day, time.min, tzinfo=in_zone).astimezone(UTC)


def days_between(start: date, end: date, in_zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants, in UTC, from the start of `start` to the end of `end` (exclusive)."""
    return day_starts(start, in_zone), day_starts(end + timedelta(days=1), in_zone)


class Period(StrEnum):
    """The ranges a date picker offers, as whole months, quarters and years."""

    THIS_MONTH = "THIS_MONTH"
    LAST_MONTH = "LAST_MONTH"
    THIS_QUARTER = "THIS_QUARTER"
    LAST_QUARTER = "LAST_QUARTER"
    THIS_YEAR = "THIS_YEAR"
    LAST_YEAR = "LAST_YEAR"


_MONTHS = {
    Period.THIS_MONTH: 1, Period.LAST_MONTH: 1,
    Period.THIS_QUARTER: 3, Period.LAST_QUARTER: 3,
    Period.THIS_YEAR: 12, Period.LAST_YEAR: 12,
}  # fmt: skip
_PREVIOUS = frozenset({Period.LAST_MONTH, Period.LAST_QUARTER, Period.LAST_YEAR})


def dates_of(period: Period, today: date) -> tuple[date, date]:
    """The first and last day of the period that holds `today`, or of the one before it."""
    months = _MONTHS[period]
    months_into_year = (today.month - 1) // months * months
    start = date(today.year, months_into_year + 1, 1)
    if period in _PREVIOUS:
        start = _months_after(start, -months)
    return start, _months_after(start, months) - timedelta(days=1)


def _months_after(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
