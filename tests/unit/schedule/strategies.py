"""Hypothesis strategies for scheduling: zones, instants 2025–2035, cadences, windows."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from outreach.schedule import Cadence, ContactWindow, EveryNDays, MonthlyDay, MonthlyWeekday, Weekly

ZONE_KEYS = sorted(zoneinfo.available_timezones())
# Zones with unusual transitions, drawn more often: half-hour DST, 23:00 and 22:00 transitions,
# midnight transitions, southern hemisphere.
TRICKY_ZONE_KEYS = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Nuuk",
    "Pacific/Easter",
    "America/Santiago",
    "America/Havana",
    "Asia/Gaza",
    "Pacific/Auckland",
    "Europe/Chisinau",
]

zones = st.one_of(st.sampled_from(ZONE_KEYS), st.sampled_from(TRICKY_ZONE_KEYS)).map(ZoneInfo)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
# Times around the usual transitions (00:00–03:00, 22:00–24:00) are drawn more often.
clock_times = st.one_of(
    st.builds(time, st.sampled_from([0, 1, 2, 3, 22, 23]), st.sampled_from([0, 15, 30, 45])),
    st.builds(time, st.integers(0, 23), st.integers(0, 59)),
)
cadences: st.SearchStrategy[Cadence] = st.one_of(
    st.builds(MonthlyDay, at=clock_times, day=st.integers(1, 31)),
    st.builds(
        MonthlyWeekday,
        at=clock_times,
        ordinal=st.sampled_from([1, 2, 3, 4, -1]),
        weekday=st.integers(0, 6),
    ),
    st.builds(Weekly, at=clock_times, weekday=st.integers(0, 6)),
    st.builds(EveryNDays, at=clock_times, days=st.integers(1, 60)),
)


@st.composite
def windows(draw: st.DrawFn) -> ContactWindow:
    """Contact windows inside 08:00–21:00, on the minute."""
    start = draw(st.integers(8 * 60, 21 * 60 - 1))
    end = draw(st.integers(start + 1, 21 * 60))
    return ContactWindow(time(*divmod(start, 60)), time(*divmod(end, 60)))
