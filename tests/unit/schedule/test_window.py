"""Contact windows: quiet-hours deferral, DST days, legal hours for manual starts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings

from outreach.schedule import (
    LEGAL_WINDOW,
    ContactWindow,
    clamp_for_manual,
    parse_window,
)
from outreach.schedule.localtime import first_instant_from, wall
from tests.unit.schedule.strategies import instants, windows, zones

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
DEFAULT = ContactWindow()


def local(tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


def test_due_in_the_evening_quiet_hours_waits_for_the_next_morning() -> None:
    opened = DEFAULT.next_open(local(NEW_YORK, 2026, 12, 1, 21, 30), NEW_YORK)
    assert opened == local(NEW_YORK, 2026, 12, 2, 9, 0)


def test_due_in_the_early_quiet_hours_waits_for_the_same_morning() -> None:
    opened = DEFAULT.next_open(local(NEW_YORK, 2026, 12, 1, 7, 0), NEW_YORK)
    assert opened == local(NEW_YORK, 2026, 12, 1, 9, 0)


@pytest.mark.parametrize(
    ("hour", "minute", "is_open"),
    [(8, 59, False), (9, 0, True), (12, 0, True), (19, 59, True), (20, 0, False), (23, 0, False)],
)
def test_the_window_includes_its_start_and_excludes_its_end(
    hour: int, minute: int, is_open: bool
) -> None:
    when = local(NEW_YORK, 2026, 12, 1, hour, minute)
    assert DEFAULT.is_open(when, NEW_YORK) is is_open
    assert (DEFAULT.next_open(when, NEW_YORK) == when) is is_open


def test_window_on_dst_days_follows_the_local_clock() -> None:
    # Spring forward: the night is an hour shorter, the window still opens at 09:00 EDT.
    assert DEFAULT.next_open(local(NEW_YORK, 2027, 3, 13, 22), NEW_YORK) == datetime(
        2027, 3, 14, 13, tzinfo=UTC
    )
    # London falls back: the night is an hour longer, the window opens at 09:00 GMT.
    assert DEFAULT.next_open(local(LONDON, 2026, 10, 24, 21), LONDON) == datetime(
        2026, 10, 25, 9, tzinfo=UTC
    )


def test_an_opening_inside_a_gap_moves_to_the_end_of_the_gap() -> None:
    # No zone opens a window inside a gap today; the rule is checked on the clock itself.
    day = datetime(2027, 3, 14).date()
    assert first_instant_from(day, time(2, 30), NEW_YORK) == datetime(2027, 3, 14, 7, tzinfo=UTC)
    assert first_instant_from(day, time(3, 0), NEW_YORK) == datetime(2027, 3, 14, 7, tzinfo=UTC)
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    moved = first_instant_from(datetime(2026, 10, 4).date(), time(2, 10), lord_howe)
    assert moved.astimezone(lord_howe).isoformat() == "2026-10-04T02:30:00+11:00"


def test_manual_starts_may_leave_the_contact_window_but_not_the_legal_hours() -> None:
    evening = local(NEW_YORK, 2026, 12, 1, 20, 30)
    assert not DEFAULT.is_open(evening, NEW_YORK)
    assert clamp_for_manual(evening, NEW_YORK) == evening
    early = local(NEW_YORK, 2026, 12, 1, 7, 30)
    assert clamp_for_manual(early, NEW_YORK) == local(NEW_YORK, 2026, 12, 1, 8, 0)
    assert clamp_for_manual(early, NEW_YORK, force=True) == early
    late = local(NEW_YORK, 2026, 12, 1, 21, 0)
    assert clamp_for_manual(late, NEW_YORK) == local(NEW_YORK, 2026, 12, 2, 8, 0)


def test_parse_window() -> None:
    assert parse_window("09:00-20:00") == DEFAULT
    assert parse_window(" 8:30 – 21:00 ") == ContactWindow(time(8, 30), time(21))
    assert str(ContactWindow(time(10), time(18))) == "10:00-18:00"
    assert parse_window(str(LEGAL_WINDOW)) == LEGAL_WINDOW


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("07:00-20:00", r"contact window 07:00-20:00 must lie inside the legal 08:00-21:00"),
        ("09:00-21:30", r"must lie inside the legal 08:00-21:00"),
        ("20:00-09:00", r"contact window 20:00-09:00 must start before it ends"),
        ("09:00-09:00", r"must start before it ends"),
        ("9-20", r"contact window start must be HH:MM"),
        ("09:00", r"contact window must be HH:MM-HH:MM \(e.g. 09:00-20:00\), got '09:00'"),
        ("09:00-25:00", r"contact window end must be HH:MM"),
    ],
)
def test_bad_windows_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_window(text)


@settings(max_examples=500, deadline=None)
@given(window=windows(), when=instants, tz=zones)
def test_next_open_is_the_first_open_instant_at_or_after(
    window: ContactWindow, when: datetime, tz: ZoneInfo
) -> None:
    opened = window.next_open(when, tz)
    assert opened >= when
    assert window.is_open(opened, tz)
    assert window.start <= wall(opened, tz).time() < window.end
    if window.is_open(when, tz):
        assert opened == when
        return
    assert opened - when < timedelta(days=1, hours=2)
    # Nothing in between is open: probe every quarter hour and the second before.
    probe = when
    while probe < opened:
        assert not window.is_open(probe, tz)
        probe += timedelta(minutes=15)
    assert not window.is_open(opened - timedelta(seconds=1), tz)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="when_utc must be a timezone-aware datetime"):
        DEFAULT.is_open(datetime(2026, 12, 1, 12), NEW_YORK)
