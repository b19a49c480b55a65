"""Named cases for next_occurrence, occurrence_key and period_end: DST, month ends, weekdays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from outreach.schedule import (
    Cadence,
    next_occurrence,
    occurrence_key,
    parse_cadence,
    period_end,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
NUUK = ZoneInfo("America/Nuuk")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def series(
    cadence: Cadence, after: datetime, tz: ZoneInfo, count: int, anchor: date | None = None
) -> list[datetime]:
    found: list[datetime] = []
    while len(found) < count:
        found.append(next_occurrence(cadence, found[-1] if found else after, tz, anchor))
    return found


def test_new_york_gap_fires_once_after_the_gap() -> None:
    cadence = parse_cadence("second sun", "02:30")
    march = next_occurrence(cadence, utc(2027, 3, 1), NEW_YORK)
    assert march == utc(2027, 3, 14, 7, 30)
    assert march.astimezone(NEW_YORK).isoformat() == "2027-03-14T03:30:00-04:00"
    assert next_occurrence(cadence, march, NEW_YORK) == utc(2027, 4, 11, 6, 30)  # 02:30 EDT
    assert occurrence_key(cadence, march, NEW_YORK) == "2027-03"


def test_new_york_gap_with_a_daily_cadence_gives_one_per_day() -> None:
    cadence = parse_cadence("every day", "02:30")
    found = series(cadence, utc(2027, 3, 13), NEW_YORK, 3)
    assert found == [utc(2027, 3, 13, 7, 30), utc(2027, 3, 14, 7, 30), utc(2027, 3, 15, 6, 30)]
    keys = [occurrence_key(cadence, when, NEW_YORK) for when in found]
    assert keys == ["d2027-03-13", "d2027-03-14", "d2027-03-15"]


def test_london_overlap_fires_once_at_the_first_instant() -> None:
    cadence = parse_cadence("last sun", "01:30")
    october = next_occurrence(cadence, utc(2026, 10, 1), LONDON)
    assert october == utc(2026, 10, 25, 0, 30)  # 01:30 BST, not 01:30 GMT an hour later
    assert next_occurrence(cadence, october, LONDON) == utc(2026, 11, 29, 1, 30)
    # Between the two passes of 01:30 the next one is a month away, not the second pass.
    assert next_occurrence(cadence, utc(2026, 10, 25, 1, 0), LONDON) == utc(2026, 11, 29, 1, 30)


def test_london_overlap_with_a_daily_cadence_gives_one_per_day() -> None:
    found = series(parse_cadence("daily", "01:30"), utc(2026, 10, 24), LONDON, 3)
    assert found == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_lord_howe_half_hour_spring_forward() -> None:
    # 2026-10-04 02:00 +10:30 becomes 02:30 +11:00: 02:00 and 02:15 do not exist.
    cadence = parse_cadence("first sun", "02:15")
    october = next_occurrence(cadence, utc(2026, 9, 20), LORD_HOWE)
    assert october.astimezone(LORD_HOWE).isoformat() == "2026-10-04T02:45:00+11:00"
    at_two = next_occurrence(parse_cadence("first sun", "02:00"), utc(2026, 9, 20), LORD_HOWE)
    assert at_two.astimezone(LORD_HOWE).isoformat() == "2026-10-04T02:30:00+11:00"
    assert occurrence_key(cadence, october, LORD_HOWE) == "2026-10"


def test_lord_howe_half_hour_fall_back() -> None:
    # 2026-04-05 02:00 +11:00 becomes 01:30 +10:30: 01:45 happens twice; it fires once.
    cadence = parse_cadence("daily", "01:45")
    found = series(cadence, utc(2026, 4, 3, 14), LORD_HOWE, 3)
    assert found == [utc(2026, 4, 3, 14, 45), utc(2026, 4, 4, 14, 45), utc(2026, 4, 5, 15, 15)]
    assert found[1].astimezone(LORD_HOWE).isoformat() == "2026-04-05T01:45:00+11:00"


def test_gap_that_crosses_midnight_keeps_the_period_of_the_due_day() -> None:
    # Nuuk springs forward at 23:00 on Saturday 2026-03-28: 23:30 becomes Sunday 00:30.
    cadence = parse_cadence("weekly sat", "23:30")
    moved = next_occurrence(cadence, utc(2026, 3, 25), NUUK)
    assert moved.astimezone(NUUK).isoformat() == "2026-03-29T00:30:00-01:00"
    assert occurrence_key(cadence, moved, NUUK) == "2026-W13"
    assert period_end(cadence, moved, NUUK) == utc(2026, 4, 5, 0, 30)
    # Asked from just after local midnight, Saturday's occurrence is still ahead.
    assert next_occurrence(cadence, utc(2026, 3, 29, 1, 0), NUUK) == moved


@pytest.mark.parametrize(
    ("day", "after", "expected"),
    [
        ("31", datetime(2026, 4, 1), date(2026, 4, 30)),
        ("31", datetime(2027, 2, 1), date(2027, 2, 28)),
        ("31", datetime(2028, 2, 1), date(2028, 2, 29)),  # leap year
        ("30", datetime(2028, 2, 1), date(2028, 2, 29)),
        ("29", datetime(2027, 2, 1), date(2027, 2, 28)),
        ("31", datetime(2026, 5, 1), date(2026, 5, 31)),
        ("5", datetime(2026, 12, 5, 11), date(2027, 1, 5)),  # after today's 10:00
        ("5", datetime(2026, 12, 5, 9), date(2026, 12, 5)),
        ("last fri", datetime(2026, 12, 1), date(2026, 12, 25)),
        ("last fri", datetime(2027, 1, 1), date(2027, 1, 29)),
        ("last Friday", datetime(2026, 2, 1), date(2026, 2, 27)),
        ("first tue", datetime(2026, 11, 5), date(2026, 12, 1)),
        ("first Tuesday", datetime(2027, 1, 1), date(2027, 1, 5)),
        ("fourth thu", datetime(2026, 11, 1), date(2026, 11, 26)),
    ],
)
def test_monthly_days(day: str, after: datetime, expected: date) -> None:
    cadence = parse_cadence(day, "10:00")
    found = next_occurrence(cadence, after.replace(tzinfo=NEW_YORK), NEW_YORK)
    assert found.astimezone(NEW_YORK).date() == expected
    assert found.astimezone(NEW_YORK).time() == time(10)


def test_day_31_fires_every_month_of_a_leap_year_once() -> None:
    cadence = parse_cadence("31", "09:30")
    found = series(cadence, utc(2027, 12, 31, 23), NEW_YORK, 12)
    assert [occurrence_key(cadence, when, NEW_YORK) for when in found] == [
        f"2028-{month:02d}" for month in range(1, 13)
    ]
    assert [when.astimezone(NEW_YORK).day for when in found] == [
        31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    ]  # fmt: skip


def test_every_14_days_keeps_local_time_and_phase_across_dst() -> None:
    cadence = parse_cadence("every 14 days", "10:00")
    enrolled = datetime(2026, 3, 1, 8, tzinfo=NEW_YORK)
    found = series(cadence, enrolled, NEW_YORK, 3, anchor=enrolled.date())
    assert found == [utc(2026, 3, 1, 15), utc(2026, 3, 15, 14), utc(2026, 3, 29, 14)]
    assert found[1] - found[0] == timedelta(days=14, hours=-1)
    assert next_occurrence(cadence, enrolled, NEW_YORK, enrolled) == found[0]  # datetime anchor
    assert [occurrence_key(cadence, when, NEW_YORK) for when in found] == [
        "d2026-03-01",
        "d2026-03-15",
        "d2026-03-29",
    ]
    assert period_end(cadence, found[0], NEW_YORK) == found[1]


def test_every_n_days_anchor_sets_the_phase() -> None:
    cadence = parse_cadence("every 3 days", "10:00")
    after = utc(2026, 6, 1)
    days = {
        next_occurrence(cadence, after, NEW_YORK, date(2026, 6, offset)).date()
        for offset in (1, 2, 3)
    }
    assert days == {date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 3)}


def test_weekly_across_the_year_end_uses_iso_weeks() -> None:
    cadence = parse_cadence("weekly thu", "10:00")
    found = series(cadence, utc(2026, 12, 22), NEW_YORK, 3)
    assert [when.astimezone(NEW_YORK).date() for when in found] == [
        date(2026, 12, 24),
        date(2026, 12, 31),
        date(2027, 1, 7),
    ]
    keys = [occurrence_key(cadence, when, NEW_YORK) for when in found]
    assert keys == ["2026-W52", "2026-W53", "2027-W01"]
    assert parse_cadence("every thursday", "10:00") == cadence


def test_next_occurrence_is_strictly_after() -> None:
    cadence = parse_cadence("5", "10:00")
    due = utc(2026, 12, 5, 15)
    assert next_occurrence(cadence, due - timedelta(microseconds=1), NEW_YORK) == due
    assert next_occurrence(cadence, due, NEW_YORK) == utc(2027, 1, 5, 15)


def test_period_of_an_instant_between_occurrences() -> None:
    cadence = parse_cadence("5", "10:00")
    assert occurrence_key(cadence, utc(2026, 12, 2), NEW_YORK) == "2026-11"
    assert period_end(cadence, utc(2026, 12, 2), NEW_YORK) == utc(2026, 12, 5, 15)


def test_naive_datetimes_are_refused() -> None:
    cadence = parse_cadence("5", "10:00")
    with pytest.raises(ValueError, match="after must be a timezone-aware"):
        next_occurrence(cadence, datetime(2026, 12, 1), NEW_YORK)
    with pytest.raises(ValueError, match="occurrence_utc must be a timezone-aware"):
        occurrence_key(cadence, datetime(2026, 12, 1), NEW_YORK)
    with pytest.raises(ValueError, match="anchor must be a timezone-aware"):
        next_occurrence(parse_cadence("every 2 days", "10:00"), utc(2026, 1, 1), NEW_YORK,
                        datetime(2026, 1, 1))  # fmt: skip


SWEEP_ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Nuuk",
               "Pacific/Easter", "America/Havana", "Pacific/Auckland", "Asia/Gaza"]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("zone", SWEEP_ZONES)
def test_a_daily_cadence_fires_once_a_day_for_six_years(zone: str) -> None:
    tz = ZoneInfo(zone)
    for at in ("00:30", "01:45", "02:15", "23:30"):  # the gaps and overlaps of these zones
        cadence = parse_cadence("daily", at)
        start = datetime(2024, 12, 31, tzinfo=tz)
        occurrence, day = next_occurrence(cadence, start, tz), start.date()
        while day.year < 2031:
            assert occurrence_key(cadence, occurrence, tz) == f"d{day.isoformat()}"
            reading = occurrence.astimezone(tz).replace(tzinfo=None)
            due = datetime.combine(day, cadence.at)
            assert due <= reading < due + timedelta(hours=2)  # later only when due in a gap
            following = next_occurrence(cadence, occurrence, tz)
            assert period_end(cadence, occurrence, tz) == following
            occurrence, day = following, day + timedelta(days=1)
