"""Occurrences: when a cadence next falls due in a patient's zone, and the period each one owns.

A cadence's *period* runs from one occurrence to the next. Each occurrence has a stable key
(``2026-12`` monthly, ``2026-W49`` weekly, ``d2026-12-05`` every N days) for the unique
(enrolment, occurrence) row, and a check-in not started before its period ends is missed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeAlias
from zoneinfo import ZoneInfo

from outreach.schedule.cadence import Cadence
from outreach.schedule.localtime import ONE_DAY, require_aware, to_utc

_MAX_STEPS = 12  # every search below settles within a few days; running past this is a bug

Anchor: TypeAlias = datetime | date | None


def next_occurrence(
    cadence: Cadence, after: datetime, tz: ZoneInfo, anchor: Anchor = None
) -> datetime:
    """The first occurrence strictly after ``after``, in UTC.

    Monthly days past the end of a month fall on its last day. A due time in a DST overlap
    fires once, at its first instant; one in a gap fires once, after the gap (see
    :func:`~outreach.schedule.localtime.to_utc`). ``anchor`` (the enrolment, as an aware
    datetime or a local date) sets the phase of every-N-days cadences; without it the phase
    counts from 1970-01-01.
    """
    after = require_aware(after, "after")
    return _next_after(cadence, after, tz, _anchor_day(anchor, tz))


def occurrence_key(
    cadence: Cadence, occurrence_utc: datetime, tz: ZoneInfo, anchor: Anchor = None
) -> str:
    """The stable key of the period ``occurrence_utc`` belongs to.

    For an occurrence this is its own period's key; for any other instant, the key of the
    latest occurrence at or before it. Without an ``anchor``, an every-N-days instant at the
    cadence's local time is taken to be an occurrence (so the instants
    :func:`next_occurrence` returns need no anchor here); pass the anchor to place other
    instants, which otherwise count in phase with 1970-01-01.
    """
    instant = require_aware(occurrence_utc, "occurrence_utc")
    return cadence.period_key(_nominal_day(cadence, instant, tz, _anchor_day(anchor, tz)))


def period_end(
    cadence: Cadence, occurrence_utc: datetime, tz: ZoneInfo, anchor: Anchor = None
) -> datetime:
    """When the period holding ``occurrence_utc`` ends: the next occurrence, in UTC.

    A check-in that has not started by then is missed, not sent late. ``anchor`` as for
    :func:`occurrence_key`.
    """
    instant = require_aware(occurrence_utc, "occurrence_utc")
    anchor_day = _anchor_day(anchor, tz) or _nominal_day(cadence, instant, tz, None)
    return _next_after(cadence, instant, tz, anchor_day)


def _anchor_day(anchor: Anchor, tz: ZoneInfo) -> date | None:
    if isinstance(anchor, datetime):
        return require_aware(anchor, "anchor").astimezone(tz).date()
    return anchor


def _next_after(cadence: Cadence, after: datetime, tz: ZoneInfo, anchor: date | None) -> datetime:
    # Two days back: a gap can carry an occurrence past local midnight (Nuuk springs
    # forward at 23:00), so yesterday's occurrence may still lie ahead.
    day = after.astimezone(tz).date() - 2 * ONE_DAY
    for _ in range(_MAX_STEPS):
        day = cadence.first_day_from(day, anchor)
        occurrence = to_utc(day, cadence.at, tz)
        if occurrence > after:
            return occurrence
        day += ONE_DAY
    raise RuntimeError(f"no occurrence of {cadence!r} found after {after.isoformat()}")


def _nominal_day(cadence: Cadence, instant: datetime, tz: ZoneInfo, anchor: date | None) -> date:
    """The local day of the occurrence whose period holds ``instant``."""
    local_day = instant.astimezone(tz).date()
    for day in (local_day, local_day - ONE_DAY):  # a gap may have pushed it past midnight
        if cadence.is_occurrence_day(day, anchor) and to_utc(day, cadence.at, tz) == instant:
            return day
    day = cadence.last_day_until(local_day, anchor)
    for _ in range(_MAX_STEPS):
        if to_utc(day, cadence.at, tz) <= instant:
            return day
        day = cadence.last_day_until(day - ONE_DAY, anchor)
    raise RuntimeError(f"no occurrence of {cadence!r} found before {instant.isoformat()}")
