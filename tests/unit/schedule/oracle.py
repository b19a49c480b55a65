"""Brute-force reference answers for the property tests, written independently of the code."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from outreach.schedule import Cadence, EveryNDays, MonthlyDay, MonthlyWeekday, Weekly

EPOCH = date(1970, 1, 1)


def offsets_near(naive: datetime, tz: ZoneInfo) -> set[timedelta]:
    """Every UTC offset ``tz`` uses within about a day of the wall reading ``naive``.

    Probes run ±30 h around ``naive`` read as UTC, which covers every offset up to ±14 h.
    """
    found: set[timedelta] = set()
    for hours in range(-30, 31):
        probe = (naive + timedelta(hours=hours)).replace(tzinfo=UTC)
        offset = probe.astimezone(tz).utcoffset()
        assert offset is not None
        found.add(offset)
    return found


def instant_of(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The earliest instant reading ``at`` on ``day``; in a gap, the reading taken with the
    offset before the gap (the smaller one, as clocks jump forward)."""
    naive = datetime.combine(day, at)
    offsets = offsets_near(naive, tz)
    valid = [
        (naive - offset).replace(tzinfo=UTC)
        for offset in offsets
        if ((naive - offset).replace(tzinfo=UTC)).astimezone(tz).utcoffset() == offset
    ]
    if valid:
        return min(valid)
    return (naive - min(offsets)).replace(tzinfo=UTC)


def is_due_on(cadence: Cadence, day: date, anchor: date | None) -> bool:
    """Whether ``cadence`` has an occurrence on ``day`` (an independent reading of the rule)."""
    if isinstance(cadence, MonthlyDay):
        return day.day == min(cadence.day, calendar.monthrange(day.year, day.month)[1])
    if isinstance(cadence, MonthlyWeekday):
        if day.weekday() != cadence.weekday:
            return False
        if cadence.ordinal == -1:
            return (day + timedelta(days=7)).month != day.month
        return (day.day - 1) // 7 + 1 == cadence.ordinal
    if isinstance(cadence, Weekly):
        return day.weekday() == cadence.weekday
    assert isinstance(cadence, EveryNDays)
    return (day - (anchor or EPOCH)).days % cadence.days == 0


def expected_next(cadence: Cadence, after: datetime, tz: ZoneInfo, anchor: date | None) -> datetime:
    """The first occurrence after ``after``, found by walking the calendar day by day."""
    day = after.astimezone(tz).date() - timedelta(days=3)
    while True:
        if is_due_on(cadence, day, anchor):
            instant = instant_of(day, cadence.at, tz)
            if instant > after:
                return instant
        day += timedelta(days=1)


def period_index(key: str) -> int:
    """A number that grows by one from a period key to the next (days for ``d`` keys)."""
    if key.startswith("d"):
        return date.fromisoformat(key[1:]).toordinal()
    if "-W" in key:
        year, week = key.split("-W")
        return date.fromisocalendar(int(year), int(week), 1).toordinal() // 7
    year, month = key.split("-")
    return int(year) * 12 + int(month)
