"""The on-call rota: weekday and dated lines, shifts past midnight, parsing the CSV columns."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.schedule import RotaEntry, covers, on_duty, parse_days, parse_rota_entry
from tests.unit.schedule.strategies import instants, zones

NEW_YORK = ZoneInfo("America/New_York")


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def entry(email: str, days: str, start: str, end: str, rung: str = "oncall") -> RotaEntry:
    return parse_rota_entry(email, days, start, end, "America/New_York", rung)


# 2026-12-04 is a Friday, 12-05 Saturday, 12-07 Monday.
FRIDAY_NIGHT = entry("night@example.org", "fri", "22:00", "08:00")


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (local(2026, 12, 5, 3), True),  # Saturday 03:00 belongs to Friday's shift
        (local(2026, 12, 4, 22), True),
        (local(2026, 12, 4, 23, 59), True),
        (local(2026, 12, 5, 7, 59), True),
        (local(2026, 12, 5, 8), False),  # the end is exclusive
        (local(2026, 12, 4, 3), False),  # Friday 03:00 belongs to Thursday, not on the rota
        (local(2026, 12, 4, 21, 59), False),
        (local(2026, 12, 5, 22, 30), False),  # Saturday night is not a Friday shift
    ],
)
def test_an_overnight_shift_belongs_to_the_day_it_starts(when: datetime, expected: bool) -> None:
    assert covers(FRIDAY_NIGHT, when) is expected


def test_the_local_clock_of_the_entry_decides_not_utc() -> None:
    # Saturday 03:00 in New York is Saturday 08:00 UTC.
    assert covers(FRIDAY_NIGHT, datetime(2026, 12, 5, 8, 0, tzinfo=UTC))
    tokyo = parse_rota_entry("t@example.org", "sat", "09:00", "17:00", "Asia/Tokyo", "oncall")
    assert covers(tokyo, datetime(2026, 12, 5, 1, 0, tzinfo=UTC))  # Saturday 10:00 in Tokyo


def test_a_weekend_entry() -> None:
    weekend = entry("w@example.org", "sat;sun", "00:00", "00:00")  # a 24-hour shift
    assert covers(weekend, local(2026, 12, 5, 0, 0))
    assert covers(weekend, local(2026, 12, 6, 23, 59))
    assert not covers(weekend, local(2026, 12, 7, 0, 0))
    assert not covers(weekend, local(2026, 12, 4, 23, 59))


def test_a_dated_entry_covers_its_date_and_overrides_the_weekday_rota() -> None:
    weekdays = entry("usual@example.org", "mon-fri", "08:00", "20:00")
    christmas = entry("holiday@example.org", "2026-12-25", "09:00", "17:00")
    eve_night = entry("eve@example.org", "2026-12-24", "20:00", "08:00")
    rota = [weekdays, christmas, eve_night]
    assert christmas.date == date(2026, 12, 25) and christmas.days is None
    assert on_duty(rota, local(2026, 12, 25, 10), "oncall") == ["holiday@example.org"]
    assert on_duty(rota, local(2026, 12, 25, 18), "oncall") == ["usual@example.org"]
    assert on_duty(rota, local(2026, 12, 25, 3), "oncall") == ["eve@example.org"]
    assert on_duty(rota, local(2026, 12, 24, 10), "oncall") == ["usual@example.org"]
    assert on_duty(rota, local(2026, 12, 26, 10), "oncall") == []


def test_on_duty_filters_by_rung_and_keeps_rota_order_once() -> None:
    rota = [
        entry("b@example.org", "mon-fri", "08:00", "20:00"),
        entry("boss@example.org", "daily", "00:00", "00:00", "supervisor"),
        entry("a@example.org", "mon", "09:00", "17:00"),
        entry("b@example.org", "mon", "10:00", "12:00"),
    ]
    monday = local(2026, 12, 7, 11)
    assert on_duty(rota, monday, "oncall") == ["b@example.org", "a@example.org"]
    assert on_duty(rota, monday, "supervisor") == ["boss@example.org"]
    assert on_duty(rota, local(2026, 12, 5, 11), "oncall") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("sat;sun", {5, 6}),
        ("mon;wed;fri", {0, 2, 4}),
        ("Mon, Wed", {0, 2}),
        ("fri-mon", {4, 5, 6, 0}),
        ("thu", {3}),
        ("daily", set(range(7))),
        ("mon-fri;sat", set(range(6))),
    ],
)
def test_parse_weekdays(text: str, expected: set[int]) -> None:
    assert parse_days(text) == frozenset(expected)


def test_parse_a_date() -> None:
    assert parse_days("2026-12-25") == date(2026, 12, 25)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"days: empty"),
        ("mon-fry", r"days: 'mon-fry': unknown weekday 'fry'"),
        ("mon;;tue", r"days: 'mon;;tue' has an empty entry"),
        ("2026-02-30", r"days: '2026-02-30' is not a calendar date"),
        ("2026-12-25;2026-12-26", r"mixes dates and weekdays; give one date per line"),
        ("weekdays", r"unknown weekday 'weekdays'"),
        ("12/25/2026", r"unknown weekday"),
    ],
)
def test_bad_days_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_days(text)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("nobody", "mon", "09:00", "17:00", "UTC", "oncall"), r"^email: 'nobody'"),
        (("a@x.org", "mon", "9am", "17:00", "UTC", "oncall"), r"^start must be HH:MM"),
        (("a@x.org", "mon", "09:00", "24:00", "UTC", "oncall"), r"^end must be HH:MM"),
        (("a@x.org", "mon", "09:00", "17:00", "Mars/Base", "oncall"), r"^timezone: 'Mars/Base'"),
        (("a@x.org", "mon", "09:00", "17:00", "", "oncall"), r"^timezone: ''"),
        (
            ("a@x.org", "mon", "09:00", "17:00", "UTC", "boss"),
            r"^rung: must be oncall or supervisor",
        ),
        (("a@x.org", "moon", "09:00", "17:00", "UTC", "oncall"), r"^days: "),
    ],
)
def test_bad_rows_name_the_column(row: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rota_entry(*row)


def test_entries_need_weekdays_or_a_date() -> None:
    with pytest.raises(ValueError, match="either weekdays or one date"):
        RotaEntry("a@x.org", None, None, time(9), time(17), NEW_YORK, "oncall")
    with pytest.raises(ValueError, match="either weekdays or one date"):
        RotaEntry(
            "a@x.org", frozenset({1}), date(2026, 1, 1), time(9), time(17), NEW_YORK, "oncall"
        )
    with pytest.raises(ValueError, match="non-empty subset of 0–6"):
        RotaEntry("a@x.org", frozenset({7}), None, time(9), time(17), NEW_YORK, "oncall")


@given(
    when=instants,
    tz=zones,
    start=st.integers(0, 23),
    end=st.integers(0, 23),
)
def test_an_every_day_entry_covers_exactly_its_hours(
    when: datetime, tz: ZoneInfo, start: int, end: int
) -> None:
    every_day = RotaEntry(
        "a@x.org", frozenset(range(7)), None, time(start), time(end), tz, "oncall"
    )
    hour = when.astimezone(tz).hour
    inside = start <= hour < end if start < end else hour >= start or hour < end
    assert covers(every_day, when) is inside
