"""Business days for acknowledgement deadlines: weekends, holidays, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.schedule import add_business_days, is_business_day
from tests.unit.schedule.strategies import instants, zones

NEW_YORK = ZoneInfo("America/New_York")


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (local(2026, 12, 7, 10), 2, local(2026, 12, 9, 10)),  # Monday → Wednesday
        (local(2026, 12, 4, 15), 2, local(2026, 12, 8, 15)),  # Friday → Tuesday, over a weekend
        (local(2026, 12, 3, 15), 2, local(2026, 12, 7, 15)),  # Thursday → Monday
        (local(2026, 12, 5, 10), 2, local(2026, 12, 9, 0)),  # Saturday: Monday and Tuesday
        (local(2026, 12, 6, 23), 1, local(2026, 12, 8, 0)),  # Sunday night: all of Monday
        (local(2026, 12, 7, 10), 0, local(2026, 12, 7, 10)),
        (local(2026, 12, 5, 10), 0, local(2026, 12, 7, 0)),
        (local(2027, 3, 12, 15), 2, datetime(2027, 3, 16, 19, tzinfo=UTC)),  # over DST: 15:00 EDT
    ],
)
def test_add_business_days(start: datetime, days: int, expected: datetime) -> None:
    assert add_business_days(start, days, NEW_YORK) == expected


def test_holidays_are_skipped() -> None:
    christmas = {date(2026, 12, 25)}
    assert add_business_days(local(2026, 12, 24, 9), 2, NEW_YORK, christmas) == local(
        2026, 12, 29, 9
    )
    assert add_business_days(local(2026, 12, 25, 9), 1, NEW_YORK, christmas) == local(
        2026, 12, 29, 0
    )


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="business days must be zero or more"):
        add_business_days(local(2026, 12, 7, 10), -1, NEW_YORK)


@given(start=instants, days=st.integers(0, 15), tz=zones)
def test_the_deadline_lands_on_a_business_day_after_exactly_that_many(
    start: datetime, days: int, tz: ZoneInfo
) -> None:
    deadline = add_business_days(start, days, tz)
    assert deadline >= start
    first, last = start.astimezone(tz).date(), deadline.astimezone(tz).date()
    assert is_business_day(last)
    counted = sum(
        is_business_day(first + timedelta(days=step)) for step in range(1, (last - first).days + 1)
    )
    # A weekend start first rolls to the start of the next business day, which then counts.
    assert counted == (days if is_business_day(first) else days + 1)
