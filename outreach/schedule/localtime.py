"""Wall-clock time in one IANA zone mapped to UTC instants, DST gaps and overlaps resolved."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ONE_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)


def require_aware(when: datetime, name: str) -> datetime:
    """``when`` in UTC; a naive datetime is a bug in the caller, so it is refused loudly."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {when.isoformat()}")
    return when.astimezone(UTC)


def wall(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive local wall-clock reading of ``instant`` in ``tz``."""
    return instant.astimezone(tz).replace(tzinfo=None, fold=0)


def to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant at which the clocks in ``tz`` read ``at`` on ``day``.

    An ambiguous reading (an overlap) is its first instant (fold=0). A reading that does not
    exist (a gap) is taken with the offset in force before the gap, as RFC 5545 §3.3.5 does:
    02:30 on New York's spring-forward day is 03:30 EDT. Either way the result is one instant,
    so a schedule fires exactly once; the gap case lands after the gap by the gap's length.
    """
    return datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=tz).astimezone(UTC)


def exists(day: date, at: time, tz: ZoneInfo) -> bool:
    """Whether the clocks in ``tz`` ever read ``at`` on ``day`` (false inside a DST gap)."""
    return wall(to_utc(day, at, tz), tz) == datetime.combine(day, at.replace(tzinfo=None))


def first_instant_from(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The first instant whose wall-clock reading on ``day`` is ``at`` or later.

    Equals :func:`to_utc` unless ``at`` is in a gap; then it is the end of the gap (the
    transition itself), found by bisecting between the two readings of ``at``.
    """
    target = datetime.combine(day, at.replace(tzinfo=None))
    late = to_utc(day, at, tz)
    if wall(late, tz) == target:
        return late
    # fold=1 reads the gap with the offset after it: an instant before the transition.
    early = target.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = 0, int((late - early) / _SECOND)
    while high - low > 1:
        middle = (low + high) // 2
        if wall(early + middle * _SECOND, tz) >= target:
            high = middle
        else:
            low = middle
    return early + high * _SECOND


_HHMM = re.compile(r"(\d{1,2}):(\d{2})")


def parse_hhmm(text: str, field: str) -> time:
    """A 24-hour ``HH:MM`` reading; the error names ``field`` so an importer can show it as is."""
    match = _HHMM.fullmatch(text.strip())
    hour, minute = (int(match[1]), int(match[2])) if match else (99, 99)
    if hour > 23 or minute > 59:
        raise ValueError(f"{field} must be HH:MM on the 24-hour clock (e.g. 10:00), got {text!r}")
    return time(hour, minute)


def parse_zone(text: str, field: str = "timezone") -> ZoneInfo:
    """The IANA zone named ``text`` (``America/New_York``); the error names ``field``."""
    try:
        return ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"{field}: {text!r} is not an IANA time zone (e.g. America/New_York)"
        ) from None
