"""Properties of next_occurrence, occurrence_key and period_end over every IANA zone, 2025–2035."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.schedule import Cadence, EveryNDays, next_occurrence, occurrence_key, period_end
from outreach.schedule.localtime import exists, wall
from tests.unit.schedule import oracle
from tests.unit.schedule.strategies import cadences, instants, zones

RUN = 8  # successive occurrences checked per example
EARLIER = [timedelta(minutes=minutes) for minutes in (30, 60, 120)]  # every overlap size in use

anchors = st.one_of(st.none(), st.dates(min_value=date(2024, 1, 1), max_value=date(2035, 12, 31)))


def _series(cadence: Cadence, after: datetime, tz: ZoneInfo, anchor: date | None) -> list[datetime]:
    series = [next_occurrence(cadence, after, tz, anchor)]
    while len(series) < RUN:
        series.append(next_occurrence(cadence, series[-1], tz, anchor))
    return series


def _step(cadence: Cadence) -> int:
    return cadence.days if isinstance(cadence, EveryNDays) else 1


@settings(max_examples=300, deadline=None)
@given(cadence=cadences, after=instants, tz=zones, anchor=anchors)
def test_next_occurrence_matches_a_day_by_day_walk(
    cadence: Cadence, after: datetime, tz: ZoneInfo, anchor: date | None
) -> None:
    series = _series(cadence, after, tz, anchor)
    previous = after
    for occurrence in series:
        assert occurrence.tzinfo is UTC
        assert occurrence == oracle.expected_next(cadence, previous, tz, anchor)
        previous = occurrence


@settings(max_examples=300, deadline=None)
@given(cadence=cadences, after=instants, tz=zones, anchor=anchors)
def test_one_occurrence_per_period_and_no_period_skipped(
    cadence: Cadence, after: datetime, tz: ZoneInfo, anchor: date | None
) -> None:
    series = _series(cadence, after, tz, anchor)
    keys = [occurrence_key(cadence, occurrence, tz, anchor) for occurrence in series]
    assert all(earlier < later for earlier, later in itertools.pairwise(series))
    indexes = [oracle.period_index(key) for key in keys]
    assert [b - a for a, b in itertools.pairwise(indexes)] == [_step(cadence)] * (RUN - 1)
    before = oracle.period_index(occurrence_key(cadence, after, tz, anchor))
    assert indexes[0] - before == _step(cadence)


@settings(max_examples=200, deadline=None)
@given(cadence=cadences, after=instants, tz=zones, anchor=anchors)
def test_keys_and_period_ends_need_no_anchor_for_a_real_occurrence(
    cadence: Cadence, after: datetime, tz: ZoneInfo, anchor: date | None
) -> None:
    series = _series(cadence, after, tz, anchor)
    for occurrence, following in itertools.pairwise(series):
        key = occurrence_key(cadence, occurrence, tz, anchor)
        assert occurrence_key(cadence, occurrence, tz) == key
        assert period_end(cadence, occurrence, tz, anchor) == following
        assert period_end(cadence, occurrence, tz) == following
        # An instant that is not an occurrence needs the phase spelled out.
        inside, phase = occurrence + (following - occurrence) / 2, anchor or oracle.EPOCH
        assert occurrence_key(cadence, inside, tz, phase) == key
        assert period_end(cadence, inside, tz, phase) == following


@settings(max_examples=300, deadline=None)
@given(cadence=cadences, after=instants, tz=zones, anchor=anchors)
def test_local_time_is_the_cadence_time_unless_it_falls_in_a_gap(
    cadence: Cadence, after: datetime, tz: ZoneInfo, anchor: date | None
) -> None:
    for occurrence in _series(cadence, after, tz, anchor):
        reading = wall(occurrence, tz)
        if reading.time() == cadence.at:
            # A reading repeated by an overlap fires at its first instant only.
            assert all(wall(occurrence - back, tz) != reading for back in EARLIER)
            continue
        # Gap: the due reading never happens that day; the occurrence lands after the gap,
        # moved on by exactly the gap's length (RFC 5545 §3.3.5).
        due_day = next(
            day
            for day in (reading.date(), reading.date() - timedelta(days=1))
            if oracle.instant_of(day, cadence.at, tz) == occurrence
        )
        assert not exists(due_day, cadence.at, tz)
        due = datetime.combine(due_day, cadence.at)
        offsets = oracle.offsets_near(due, tz)
        assert reading - due == max(offsets) - min(offsets)
