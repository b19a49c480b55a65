"""Business days: deadlines counted in whole local working days (Monday to Friday)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from outreach.schedule.localtime import ONE_DAY, require_aware, to_utc, wall

_SATURDAY = 5


def is_business_day(day: date, holidays: Collection[date] = frozenset()) -> bool:
    """Whether ``day`` is Monday to Friday and not one of ``holidays``."""
    return day.weekday() < _SATURDAY and day not in holidays


def add_business_days(
    start_utc: datetime,
    days: int,
    tz: ZoneInfo,
    holidays: Collection[date] = frozenset(),
) -> datetime:
    """``days`` business days after ``start_utc`` in ``tz``'s calendar, in UTC.

    The local clock reading is kept (Friday 15:00 + 2 → Tuesday 15:00, across DST too). A start
    on a weekend or holiday counts from the start of the next business day, so the whole of
    ``days`` working days is given (Saturday 10:00 + 2 → Wednesday 00:00). ``holidays`` are
    local dates.
    """
    if days < 0:
        raise ValueError(f"business days must be zero or more, got {days}")
    start = require_aware(start_utc, "start_utc")
    local = wall(start, tz)
    day, at = local.date(), local.time()
    if days == 0 and is_business_day(day, holidays):
        return start  # also keeps the second pass of a repeated hour exact
    if not is_business_day(day, holidays):
        day, at = _next_business_day(day, holidays), time(0)
    for _ in range(days):
        day = _next_business_day(day, holidays)
    return to_utc(day, at, tz)


def _next_business_day(day: date, holidays: Collection[date]) -> date:
    day += ONE_DAY
    while not is_business_day(day, holidays):
        day += ONE_DAY
    return day
